// One person across mini programs: UnionID unification, late binding (merges), once-per-person claims.
// APP_A and APP_B are bound to one Open Platform account; the others start unbound, and the
// late-binding cases bind one each (bindOpenPlatform) so they never disturb each other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { APP_A, APP_B, APP_C, defaultApps, startStack, type CallResult, type Stack } from './support/stack.js';

const APP_D = 'wxd0000000000000d4';
const APP_E = 'wxe0000000000000e5';
/** Stays unbound for the whole file. */
const APP_F = 'wxf0000000000000f6';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [
      ...defaultApps(),
      ...[APP_D, APP_E, APP_F].map((appid) => ({ appid, secret: `secret-${appid}`, openPlatform: false })),
    ],
    // Racing logins of one person exceed the per-account login limit and the per-app session cap
    // (so the oldest session would end), neither of which is under test here.
    env: { BENEFITS: 'welcome-gift,first-order-coupon', RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off', SESSION_MAX_PER_APP: '50' },
  });
});
afterAll(() => stack.close());

const claim = (token: string, benefit = 'welcome-gift') => stack.call('claims', 'POST', { token, json: { benefit } });
const claims = async (token: string) => (await stack.call('claims', 'GET', { token })).body.claims;
const me = async (token: string) => (await stack.call('me', 'GET', { token })).body.user;
const appids = (accounts: { appid: string }[]) => accounts.map((account) => account.appid);
const statuses = (results: CallResult[]) => results.map((result) => result.status);
const count = (results: CallResult[], status: number) => results.filter((result) => result.status === status).length;

async function loggedIn(person: string, appid: string): Promise<{ token: string; id: string; isNew: boolean }> {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { token: login.body.token, ...login.body.user };
}

async function userRows(...ids: string[]) {
  return query<{ id: string; unionid: string | null; merged_into: string | null }>(
    'select id, unionid, merged_into from people where id = any($1)',
    [ids],
  );
}

describe('one person across apps bound to one Open Platform account', () => {
  it('is one user from the first login on: isNew true in A, false in B; /me lists both accounts', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    expect(inA.isNew).toBe(true);
    expect(inB).toMatchObject({ id: inA.id, isNew: false });

    // The session from A sees the account linked later in B too.
    const user = await me(inA.token);
    expect(user.accounts).toEqual([
      { appid: APP_A, openid: stack.wechat.identityOf(APP_A, person).openid, kind: 'miniprogram', linkedAt: expect.any(String) },
      { appid: APP_B, openid: stack.wechat.identityOf(APP_B, person).openid, kind: 'miniprogram', linkedAt: expect.any(String) },
    ]);
    expect(Date.parse(user.accounts[1].linkedAt)).toBeGreaterThanOrEqual(Date.parse(user.accounts[0].linkedAt));
  });

  it('gives the welcome gift once: 201 in A, then 409 in B naming where and when it was claimed', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);

    const first = await claim(inA.token);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ benefit: 'welcome-gift', appid: APP_A, claimedAt: expect.any(String) });
    expect(Math.abs(Date.parse(first.body.claimedAt) - Date.now())).toBeLessThan(60_000);

    const again = await claim(inB.token);
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({
      code: 'already_claimed',
      status: 409,
      benefit: 'welcome-gift',
      appid: APP_A,
      claimedAt: first.body.claimedAt,
    });
    expect((await claim(inA.token)).status).toBe(409);

    // Another benefit is its own once.
    expect((await claim(inB.token, 'first-order-coupon')).body).toMatchObject({ appid: APP_B });
    expect(await claims(inB.token)).toEqual([first.body, expect.objectContaining({ benefit: 'first-order-coupon', appid: APP_B })]);
  });

  it('50 parallel claims by one person across two apps: exactly one 201, 49 × 409, one row', async () => {
    const person = stack.person();
    const tokens = [(await loggedIn(person, APP_A)).token, (await loggedIn(person, APP_B)).token];
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(tokens[i % 2]!)));

    expect(count(results, 201)).toBe(1);
    expect(count(results, 409)).toBe(49);
    const winner = results.find((result) => result.status === 201)!.body;
    for (const refused of results.filter((result) => result.status === 409)) {
      expect(refused.body).toMatchObject({ code: 'already_claimed', appid: winner.appid, claimedAt: winner.claimedAt });
    }
    const { id } = await me(tokens[0]!);
    const rows = await query('select 1 from claims where person_id = $1', [id]);
    expect(rows).toHaveLength(1);
  });

  it('refuses unknown benefits, malformed bodies and missing tokens', async () => {
    const { token } = await loggedIn(stack.person(), APP_A);
    const unknown = await claim(token, 'free-car');
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('unknown_benefit');
    expect((await stack.call('claims', 'POST', { token, json: { benefit: 7 } })).body.code).toBe('invalid_request');
    expect((await stack.call('claims', 'POST', { token, json: { benefit: 'welcome-gift', extra: 1 } })).status).toBe(400);
    expect((await stack.call('claims', 'POST', { json: { benefit: 'welcome-gift' } })).status).toBe(401);
    expect((await stack.call('claims', 'GET', {})).status).toBe(401);
    expect((await stack.call('claims', 'DELETE', { token })).status).toBe(405);
    expect(await claims(token)).toEqual([]);
  });

  it('a claim (granted or refused) or the list costs one Postgres and one Redis round trip; /me no Postgres', async () => {
    const { token } = await loggedIn(stack.person(), APP_A);
    const counted = async (work: () => Promise<unknown>) => {
      stack.bridge.resetCounts();
      stack.gateway.resetCounts();
      await work();
      return { postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests };
    };
    expect(await counted(() => claim(token))).toEqual({ postgres: 1, redis: 1 });
    expect(await counted(() => claim(token))).toEqual({ postgres: 1, redis: 1 });
    expect(await counted(() => claims(token))).toEqual({ postgres: 1, redis: 1 });
    expect(await counted(() => me(token))).toEqual({ postgres: 0, redis: 1 });
    // Benefits are data now: the claim's one round trip is what finds out the key is unknown.
    expect(await counted(() => claim(token, 'free-car'))).toEqual({ postgres: 1, redis: 1 });
  });
});

describe('apps without UnionID', () => {
  it('keep working: each account is its own person, and the claim rule applies to that person', async () => {
    const person = stack.person();
    const inF = await loggedIn(person, APP_F);
    const inA = await loggedIn(person, APP_A);
    expect(inF.id).not.toBe(inA.id);
    expect((await me(inF.token)).accounts).toHaveLength(1);
    expect((await claim(inF.token)).status).toBe(201);
    expect((await claim(inF.token)).status).toBe(409);
    // WeChat gives no way to know these are one human: A's person is someone else to us.
    expect((await claim(inA.token)).status).toBe(201);
    expect((await loggedIn(person, APP_F)).id).toBe(inF.id);
  });
});

describe('late UnionID: an app bound to the Open Platform account after people signed up', () => {
  it.each([
    ['the unbound app first (its user survives)', APP_C, true],
    ['the bound app first (its user survives)', APP_D, false],
  ])('merges two people into the older one; %s', async (_, lateApp, lateFirst) => {
    const person = stack.person();
    // Two people to us, each with their own welcome gift and, on the younger one, a coupon.
    const [older, younger] = lateFirst
      ? [await loggedIn(person, lateApp), await loggedIn(person, APP_A)]
      : [await loggedIn(person, APP_A), await loggedIn(person, lateApp)];
    expect(older.id).not.toBe(younger.id);
    expect(younger.isNew).toBe(true);
    const olderGift = await claim(older.token);
    const youngerGift = await claim(younger.token);
    expect(statuses([olderGift, youngerGift])).toEqual([201, 201]);
    const coupon = await claim(younger.token, 'first-order-coupon');
    expect(coupon.status).toBe(201);

    stack.wechat.bindOpenPlatform(lateApp);
    const merging = await loggedIn(person, lateApp);
    expect(merging).toMatchObject({ id: older.id, isNew: false });

    // The older row survives with the unionid; the younger points at it.
    const { unionid } = stack.wechat.identityOf(APP_A, person);
    expect(await userRows(older.id, younger.id)).toEqual(
      expect.arrayContaining([
        { id: older.id, unionid, merged_into: null },
        { id: younger.id, unionid: null, merged_into: older.id },
      ]),
    );
    // Accounts moved; the earliest gift survived, the coupon came along.
    const expectedApps = lateFirst ? [lateApp, APP_A] : [APP_A, lateApp];
    expect(await claims(merging.token)).toEqual([olderGift.body, coupon.body]);
    expect(await query('select 1 from claims where person_id = $1', [younger.id])).toEqual([]);

    // Recorded for support: who, into whom, when, what moved and what was dropped.
    const [merge] = await query<Record<string, any>>('select * from merges where folded_person_id = $1', [younger.id]);
    expect(merge).toMatchObject({
      survivor_person_id: older.id,
      unionid,
      appid: lateApp,
      openid: stack.wechat.identityOf(lateApp, person).openid,
      moved_accounts: [expect.objectContaining({ appid: lateFirst ? APP_A : lateApp })],
      dropped_claims: [expect.objectContaining({ benefit: 'welcome-gift', appid: youngerGift.body.appid, person_id: younger.id })],
    });
    expect(Math.abs(merge!.merged_at.getTime() - Date.now())).toBeLessThan(60_000);

    // Sessions of the folded user keep working and are now the survivor's.
    for (const token of [older.token, younger.token, merging.token]) {
      const user = await me(token);
      expect(user).toMatchObject({ id: older.id, unionid });
      expect(appids(user.accounts)).toEqual(expectedApps);
    }
    expect((await claim(younger.token)).body).toMatchObject({ code: 'already_claimed', appid: olderGift.body.appid });
    // Later logins anywhere land on the survivor; logout-all from a folded session ends all of them.
    expect((await loggedIn(person, APP_B)).id).toBe(older.id);
    expect((await stack.call('logout', 'POST', { token: younger.token, json: { all: true } })).status).toBe(204);
    for (const token of [older.token, merging.token]) {
      expect((await stack.call('me', 'GET', { token })).status).toBe(401);
    }
  });

  it('concurrent logins and claims racing a merge end with one person, one gift, one merge record', async () => {
    const person = stack.person();
    const late = await loggedIn(person, APP_E);
    const bound = await loggedIn(person, APP_A);
    stack.wechat.bindOpenPlatform(APP_E);

    // 10 logins in the newly bound app (any may merge), 10 in A and B, 20 claims from the old
    // sessions of both people, interleaved and all at once.
    const logins: Promise<CallResult>[] = [];
    const gifts: Promise<CallResult>[] = [];
    for (let i = 0; i < 20; i++) {
      gifts.push(claim(i % 2 ? late.token : bound.token));
      logins.push(stack.login(person, i % 2 ? APP_E : i % 4 ? APP_A : APP_B));
    }
    const [loginResults, claimResults] = await Promise.all([Promise.all(logins), Promise.all(gifts)]);

    expect(statuses(loginResults)).toEqual(Array(20).fill(200));
    // A login that committed before the merge answers with who the person was then.
    for (const result of loginResults) expect([late.id, bound.id]).toContain(result.body.user.id);
    const beforeMerge = loginResults.filter((result) => result.body.user.id === bound.id).length;
    expect(loginResults.filter((result) => result.body.user.isNew)).toHaveLength(0);

    const merges = await query<{ dropped_claims: unknown[] }>(
      'select dropped_claims from merges where survivor_person_id = $1',
      [late.id],
    );
    expect(merges).toHaveLength(1);
    // Before the merge they were two people, so at most two gifts; the merge kept one.
    const granted = count(claimResults, 201);
    expect(granted).toBeGreaterThanOrEqual(1);
    expect(granted).toBe(1 + merges[0]!.dropped_claims.length);
    expect(granted + count(claimResults, 409)).toBe(20);
    const rows = await query('select 1 from claims where person_id = any($1)', [[late.id, bound.id]]);
    expect(rows).toHaveLength(1);
    console.info(
      `race: 20 logins (${beforeMerge} answered before the merge) → 1 person, 1 merge; ` +
        `20 claims → ${granted} × 201 (${granted - 1} dropped by the merge), ${20 - granted} × 409, 1 row`,
    );

    // Every session, old or new, is the survivor's and sees all three accounts.
    for (const token of [late.token, bound.token, ...loginResults.map((result) => result.body.token)]) {
      const user = await me(token);
      expect(user.id).toBe(late.id);
      expect(appids(user.accounts).sort()).toEqual([APP_A, APP_B, APP_E].sort());
    }
  });
});
