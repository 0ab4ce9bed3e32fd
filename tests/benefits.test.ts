// Benefits as a marketing team runs them, against the real Postgres and Redis and the fake WeChat:
// each policy and refusal reason, one claim per phone under races, WeChat's risk control and its
// outages, idempotent retries, the benefits list, the fulfilment feed read by a consumer that
// restarts, and limited stock under a crowd, a rollback, a merge, a midnight and an operator.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { shanghaiDay } from '../lib/benefits/claims.js';
import { query, withConnection } from '../lib/platform/postgres.js';
import { APP_A, APP_B, APP_C, defaultApps, startStack, type CallResult, type Stack } from './support/stack.js';

/** Unbound at first; each merge story binds one of its own. */
const APP_D = 'wxd0000000000000d4';
const APP_E = 'wxe0000000000000e5';
const APP_F = 'wxf0000000000000f6';

const ADMIN_KEY = randomBytes(32).toString('base64url');
const SERVICE_KEY = randomBytes(32).toString('base64url');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [...defaultApps(), ...[APP_D, APP_E, APP_F].map((appid) => ({ appid, secret: `secret-${appid}`, openPlatform: false }))],
    env: {
      ADMIN_KEYS: `marketing:${ADMIN_KEY}`,
      SERVICE_KEYS: `coupons:${SERVICE_KEY}`,
      BENEFITS: 'welcome-gift,boot-coupon',
      TRUST_PROXY_HEADERS: '1',
      RATE_LIMIT_PER_SESSION: 'off',
    },
  });
});
afterAll(() => stack.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const benefitKey = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

async function offer(key: string, body: Record<string, unknown> = {}) {
  const result = await stack.call(`admin/benefits/${key}`, 'PUT', { headers: bearer(ADMIN_KEY), json: { title: { zh: '新人礼', en: 'Welcome gift' }, ...body } });
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body.benefit;
}

async function loggedIn(person = stack.person(), appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { person, token: login.body.token as string, id: login.body.user.id as string };
}

const claim = (token: string, benefit: string, headers: Record<string, string> = {}) =>
  stack.call('claims', 'POST', { token, json: { benefit }, headers: { 'x-forwarded-for': '203.0.113.9', ...headers } });

async function bindPhone(token: string, number: string, appid = APP_A) {
  const bound = await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(appid, { purePhoneNumber: number }) } });
  expect(bound.status).toBe(200);
}

const newNumber = () => `137${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`;

function expectRefused(result: CallResult, reason: string) {
  expect([result.status, result.body.code, result.body.reason]).toEqual([403, 'claim_refused', reason]);
}

describe('benefits are data', () => {
  it('operators create, change and list them; BENEFITS only adds missing keys', async () => {
    const key = benefitKey('spring');
    const created = await offer(key, { startsAt: '2026-01-01T00:00:00+08:00', policy: { newWithinDays: 7, onePerPhone: true, maxRiskRank: 2 } });
    expect(created).toEqual({
      key,
      title: { zh: '新人礼', en: 'Welcome gift' },
      active: true,
      startsAt: '2025-12-31T16:00:00.000Z',
      endsAt: null,
      policy: { newWithinDays: 7, phoneRequired: false, onePerPhone: true, maxRiskRank: 2, riskFailure: 'refuse', stock: null, dailyStock: null },
      stock: { remaining: null, remainingToday: null },
    });
    expect((await offer(key, { active: false })).active).toBe(false);
    const { benefits } = (await stack.call('admin/benefits', 'GET', { headers: bearer(ADMIN_KEY) })).body;
    expect(benefits.map((benefit: { key: string }) => benefit.key)).toEqual(expect.arrayContaining(['welcome-gift', 'boot-coupon', key]));

    // Operators' changes to a bootstrapped benefit stand.
    await offer('boot-coupon', { title: { zh: '优惠券', en: 'Coupon' } });
    const again = (await stack.call('admin/benefits', 'GET', { headers: bearer(ADMIN_KEY) })).body.benefits;
    expect(again.find((benefit: { key: string }) => benefit.key === 'boot-coupon').title.zh).toBe('优惠券');
  });

  it.each([
    [{}, 'no title'],
    [{ title: { zh: 'x' } }, 'no English title'],
    [{ title: { zh: 'x', en: 'x' }, policy: { maxRiskRank: 5 } }, 'a risk rank past 4'],
    [{ title: { zh: 'x', en: 'x' }, policy: { riskFailure: 'maybe' } }, 'an unknown risk policy'],
    [{ title: { zh: 'x', en: 'x' }, startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }, 'an end before the start'],
    [{ title: { zh: 'x', en: 'x' }, startsAt: 'tomorrow' }, 'a time without a format'],
    [{ title: { zh: 'x', en: 'x' }, policy: { free: true } }, 'an unknown policy'],
  ] as [Record<string, unknown>, string][])('refuses %j (%s) with 400', async (body) => {
    const result = await stack.call(`admin/benefits/${benefitKey('bad')}`, 'PUT', { headers: bearer(ADMIN_KEY), json: body });
    expect([result.status, result.body.code]).toEqual([400, 'invalid_request']);
  });

  it('takes an admin key only', async () => {
    expect((await stack.call('admin/benefits', 'GET', { headers: bearer(SERVICE_KEY) })).status).toBe(401);
    expect((await stack.call('admin/benefits/x', 'PUT', { headers: bearer(SERVICE_KEY), json: { title: { zh: 'x', en: 'x' } } })).status).toBe(401);
  });
});

describe('eligibility', () => {
  it('inactive, not started and ended benefits are refused with their reason; unknown keys are 400', async () => {
    const { token } = await loggedIn();
    const inactive = benefitKey('off');
    await offer(inactive, { active: false });
    expectRefused(await claim(token, inactive), 'inactive');
    const later = benefitKey('later');
    await offer(later, { startsAt: new Date(Date.now() + 3600_000).toISOString() });
    expectRefused(await claim(token, later), 'not_started');
    const over = benefitKey('over');
    await offer(over, { endsAt: new Date(Date.now() - 1000).toISOString() });
    expectRefused(await claim(token, over), 'ended');
    const unknown = await claim(token, 'no-such-benefit');
    expect([unknown.status, unknown.body.code]).toEqual([400, 'unknown_benefit']);
  });

  it('newWithinDays: only people whose first login anywhere was recent; a merge keeps the older first login', async () => {
    const gift = benefitKey('new-user');
    await offer(gift, { policy: { newWithinDays: 7 } });
    const fresh = await loggedIn();
    expect((await claim(fresh.token, gift)).status).toBe(201);

    const old = await loggedIn();
    await query(`update people set created_at = now() - interval '30 days' where id = $1`, [old.id]);
    expectRefused(await claim(old.token, gift), 'not_new');

    // The same human: first seen 30 days ago in D (no unionid yet), new in A today. D's binding merges them.
    const person = stack.person();
    const inD = await loggedIn(person, APP_D);
    await query(`update people set created_at = now() - interval '30 days' where id = $1`, [inD.id]);
    const inA = await loggedIn(person, APP_A);
    stack.wechat.bindOpenPlatform(APP_D);
    const merged = await loggedIn(person, APP_D);
    expect(merged.id).toBe(inD.id);
    expectRefused(await claim(inA.token, gift), 'not_new');
  });

  it('phoneRequired: only with a verified phone', async () => {
    const gift = benefitKey('phone');
    await offer(gift, { policy: { phoneRequired: true } });
    const { token } = await loggedIn();
    expectRefused(await claim(token, gift), 'phone_required');
    await bindPhone(token, newNumber());
    expect((await claim(token, gift)).status).toBe(201);
  });

  it('onePerPhone: a number claims once across people, even after its holder deleted their account', async () => {
    const gift = benefitKey('per-phone');
    await offer(gift, { policy: { onePerPhone: true } });
    const number = newNumber();
    const first = await loggedIn(stack.person(), APP_C);
    await bindPhone(first.token, number, APP_C);
    expect((await claim(first.token, gift)).status).toBe(201);

    // Another person (an app without a shared unionid) verifies the same number: the latest verification holds it now.
    const second = await loggedIn(stack.person(), APP_A);
    await bindPhone(second.token, number);
    expectRefused(await claim(second.token, gift), 'phone_already_claimed');

    expect((await stack.call('me', 'DELETE', { token: first.token, json: { confirm: 'delete' } })).status).toBe(204);
    const third = await loggedIn(stack.person(), APP_B);
    await bindPhone(third.token, number, APP_B);
    expectRefused(await claim(third.token, gift), 'phone_already_claimed');
  });

  it('50 parallel claims by two people who verify one number meanwhile: exactly one 201', async () => {
    const gift = benefitKey('race');
    await offer(gift, { policy: { onePerPhone: true } });
    const number = newNumber();
    const holder = await loggedIn(stack.person(), APP_C);
    await bindPhone(holder.token, number, APP_C);
    const other = await loggedIn(stack.person(), APP_A);
    const results = await Promise.all([
      ...Array.from({ length: 25 }, () => claim(holder.token, gift)),
      (async () => {
        await bindPhone(other.token, number);
        return Promise.all(Array.from({ length: 25 }, () => claim(other.token, gift)));
      })(),
    ]);
    const flat = results.flat();
    expect(flat.filter((result) => result.status === 201)).toHaveLength(1);
    for (const result of flat.filter((r) => r.status !== 201)) {
      expect([409, 403]).toContain(result.status);
      if (result.status === 403) expect(['phone_already_claimed', 'phone_required']).toContain(result.body.reason);
    }
    expect(await query('select 1 from claims where benefit = $1', [gift])).toHaveLength(1);
  });
});

describe('WeChat risk control', () => {
  it('asks getuserriskrank with the caller\'s address and the bound number, refuses above the limit, remembers the rank', async () => {
    const gift = benefitKey('risky');
    await offer(gift, { policy: { maxRiskRank: 2 } });
    const risky = await loggedIn();
    const number = newNumber();
    await bindPhone(risky.token, number);
    const { openid } = stack.wechat.identityOf(APP_A, risky.person);
    stack.wechat.setRiskRank(openid, 3);
    stack.wechat.resetCounts();
    expectRefused(await claim(risky.token, gift), 'risk');
    expect(stack.wechat.riskRequests()).toEqual([{ appid: APP_A, openid, scene: 1, client_ip: '203.0.113.9', mobile_no: number }]);
    // Remembered: a second try asks WeChat nothing.
    expectRefused(await claim(risky.token, gift), 'risk');
    expect(stack.wechat.callsTo('/wxa/getuserriskrank')).toBe(1);

    const fine = await loggedIn();
    stack.wechat.setRiskRank(stack.wechat.identityOf(APP_A, fine.person).openid, 2);
    expect((await claim(fine.token, gift)).status).toBe(201);
  });

  it('when WeChat cannot say: refuse with 503 and Retry-After by default, or allow if the benefit says so', async () => {
    const strict = benefitKey('strict');
    const lenient = benefitKey('lenient');
    await offer(strict, { policy: { maxRiskRank: 1 } });
    await offer(lenient, { policy: { maxRiskRank: 1, riskFailure: 'allow' } });
    const { token } = await loggedIn();
    // No record of this user at WeChat (61010), and then WeChat busy through every retry.
    const refused = await claim(token, strict);
    expect([refused.status, refused.body.code]).toEqual([503, 'wechat_unavailable']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    stack.wechat.injectFaults(...Array(8).fill('busy'));
    expect((await claim(token, lenient)).status).toBe(201);
    stack.wechat.resetCounts();
  });
});

describe('safe retries', () => {
  it('the same Idempotency-Key answers the original 201; another key is 409', async () => {
    const { token } = await loggedIn();
    const key = `claim-${randomBytes(8).toString('hex')}`;
    const first = await claim(token, 'welcome-gift', { 'idempotency-key': key });
    expect(first.status).toBe(201);
    const retry = await claim(token, 'welcome-gift', { 'idempotency-key': key });
    expect([retry.status, retry.body]).toEqual([201, first.body]);
    expect((await claim(token, 'welcome-gift', { 'idempotency-key': 'another' })).status).toBe(409);
    expect((await claim(token, 'welcome-gift')).status).toBe(409);
    expect((await claim(token, 'welcome-gift', { 'idempotency-key': 'x'.repeat(300) })).status).toBe(400);
  });

  it('20 parallel requests with one key: all the same 201, one claim', async () => {
    const { token, id } = await loggedIn();
    const results = await Promise.all(Array.from({ length: 20 }, () => claim(token, 'welcome-gift', { 'idempotency-key': 'tap-once' })));
    expect(new Set(results.map((result) => result.status))).toEqual(new Set([201]));
    expect(new Set(results.map((result) => JSON.stringify(result.body))).size).toBe(1);
    expect(await query('select 1 from claims where person_id = $1', [id])).toHaveLength(1);
  });
});

describe('GET /api/benefits', () => {
  it('lists every active benefit with its status for the person, in one Postgres round trip', async () => {
    const forNew = benefitKey('list-new');
    const needsPhone = benefitKey('list-phone');
    const hidden = benefitKey('list-hidden');
    await offer(forNew, { policy: { newWithinDays: 3 } });
    await offer(needsPhone, { policy: { phoneRequired: true } });
    await offer(hidden, { active: false });
    const newcomer = await loggedIn();
    const veteran = await loggedIn();
    await query(`update people set created_at = now() - interval '10 days' where id = $1`, [veteran.id]);
    expect((await claim(veteran.token, 'welcome-gift')).status).toBe(201);

    stack.bridge.resetCounts();
    const listed = await stack.call('benefits', 'GET', { token: newcomer.token });
    expect(stack.bridge.roundTrips()).toBe(1);
    const byKey = (result: CallResult) => Object.fromEntries(result.body.benefits.map((benefit: { key: string }) => [benefit.key, benefit]));
    const mine = byKey(listed);
    expect(mine[forNew]).toEqual({ key: forNew, title: { zh: '新人礼', en: 'Welcome gift' }, status: 'available' });
    expect(mine[needsPhone]).toMatchObject({ status: 'ineligible', reason: 'phone_required' });
    expect(mine['welcome-gift']).toMatchObject({ status: 'available' });
    expect(mine[hidden]).toBeUndefined();

    const theirs = byKey(await stack.call('benefits', 'GET', { token: veteran.token }));
    expect(theirs[forNew]).toMatchObject({ status: 'ineligible', reason: 'not_new' });
    expect(theirs['welcome-gift']).toEqual({ key: 'welcome-gift', title: expect.any(Object), status: 'claimed', claim: { appid: APP_A, claimedAt: expect.any(String) } });
  });
});

describe('the fulfilment feed', () => {
  const read = (after?: string, limit = 2) =>
    stack.call(`service/claims?limit=${limit}${after ? `&after=${after}` : ''}`, 'GET', { headers: bearer(SERVICE_KEY) });

  /** The cursor after everything the feed holds now (other tests' claims included). */
  async function endOfFeed(): Promise<string> {
    for (let page = await read(undefined, 500); ; page = await read(page.body.next, 500)) {
      if (!page.body.more) return page.body.next;
    }
  }

  it('a consumer that restarts from its saved cursor sees each claim exactly once, reversals included', async () => {
    // Start after everything already in the feed.
    const cursor = await endOfFeed();
    const gift = benefitKey('feed');
    await offer(gift);
    const claimed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { token } = await loggedIn();
      const result = await claim(token, gift);
      claimed.push(`${result.body.benefit}@${result.body.claimedAt}`);
    }
    // Two people who turn out to be one (a late unionid): both claimed, the merge reverses one.
    const person = stack.person();
    const inE = await loggedIn(person, APP_E);
    const inB = await loggedIn(person, APP_B);
    expect((await claim(inB.token, gift)).status).toBe(201);
    expect((await claim(inE.token, gift)).status).toBe(201);
    stack.wechat.bindOpenPlatform(APP_E);
    await loggedIn(person, APP_E);

    // The consumer reads two at a time and "crashes" after the first page, having saved its cursor.
    // Other test files claim in the same database at the same time: count this benefit's entries.
    const seen: { kind: string; claimId: string; benefit: string }[] = [];
    const firstPage = await read(cursor);
    seen.push(...firstPage.body.claims);
    let saved = firstPage.body.next;
    for (;;) {
      const page = await read(saved);
      expect(page.status).toBe(200);
      seen.push(...page.body.claims);
      saved = page.body.next;
      if (!page.body.more) break;
    }
    const claims = seen.filter((entry) => entry.benefit === gift && entry.kind === 'claim');
    const reversals = seen.filter((entry) => entry.benefit === gift && entry.kind === 'reversal');
    expect(claims).toHaveLength(7);
    expect(new Set(claims.map((entry) => entry.claimId)).size).toBe(7);
    expect(reversals).toHaveLength(1);
    expect(claims.map((entry) => entry.claimId)).toContain(reversals[0]!.claimId);
    // Nothing new: the same cursor comes back, and nothing is read twice.
    const idle = await read(saved);
    expect(idle.body.claims.filter((entry: { benefit: string }) => entry.benefit === gift)).toEqual([]);
  });

  it('holds back entries behind a transaction still running, so none lands before a cursor already read', async () => {
    const cursor = await endOfFeed();
    const gift = benefitKey('slow');
    await offer(gift);
    const slowPerson = await loggedIn();
    await withConnection(async (run) => {
      // A claim whose transaction started first and commits last.
      await run('begin');
      await run(`insert into claim_feed (kind, claim_id, person_id, benefit, appid, claimed_at) values ('claim', 0, $1, $2, $3, now())`, [slowPerson.id, gift, APP_A]);
      const { token } = await loggedIn();
      expect((await claim(token, gift)).status).toBe(201);
      const ours = (entries: { benefit: string }[]) => entries.filter((entry) => entry.benefit === gift);
      expect(ours((await read(cursor)).body.claims)).toEqual([]);
      await run('commit');
    });
    const page = await read(cursor, 500);
    const ours = page.body.claims.filter((entry: { benefit: string }) => entry.benefit === gift);
    expect(ours.map((entry: { claimId: string }) => entry.claimId)[0]).toBe('0');
    expect(ours).toHaveLength(2);
  });

  it('takes a service key only, and a well-formed cursor', async () => {
    expect((await stack.call('service/claims', 'GET', { headers: bearer(ADMIN_KEY) })).status).toBe(401);
    expect((await stack.call('service/claims?after=abc', 'GET', { headers: bearer(SERVICE_KEY) })).status).toBe(400);
  });
});

describe('limited stock (限量)', () => {
  const adminView = async (key: string) =>
    (await stack.call('admin/benefits', 'GET', { headers: bearer(ADMIN_KEY) })).body.benefits.find((benefit: { key: string }) => benefit.key === key);
  const people = (count: number) => Promise.all(Array.from({ length: count }, () => loggedIn()));
  const granted = (results: CallResult[]) => results.filter((result) => result.status === 201).length;

  /** Everyone claims at once; everyone not granted is told sold_out. */
  async function rush(key: string, count: number): Promise<CallResult[]> {
    const results = await Promise.all((await people(count)).map(({ token }) => claim(token, key)));
    for (const result of results.filter((r) => r.status !== 201)) expectRefused(result, 'sold_out');
    return results;
  }

  /**
   * The property: a unit is never granted twice or lost. Whenever no claim is in flight, the stock
   * row counts exactly the benefit's standing claims (today's count exactly those counted on its
   * day). Returns the standing claims.
   */
  async function balancedLedger(key: string): Promise<number> {
    const [row] = await query<{ granted: number; granted_today: number; standing: number; standing_today: number }>(
      `select s.granted, s.granted_today,
              (select count(*)::int from claims c where c.benefit = s.benefit) as standing,
              (select count(*)::int from claims c where c.benefit = s.benefit and c.claimed_on = s.day) as standing_today
         from benefit_stock s where s.benefit = $1`,
      [key],
    );
    expect(row).toBeDefined();
    expect([row!.granted, row!.granted_today]).toEqual([row!.standing, row!.standing_today]);
    return row!.standing;
  }

  it('60 people at once on a stock of 20: exactly 20 claims and 40 sold_out, each claim once in the feed, in one round trip each', async () => {
    const gift = benefitKey('stock');
    await offer(gift, { policy: { stock: 20 } });
    expect((await adminView(gift)).stock).toEqual({ remaining: 20, remainingToday: null });
    const crowd = await people(60);
    stack.bridge.resetCounts();
    const results = await Promise.all(crowd.map(({ token }) => claim(token, gift)));
    expect(stack.bridge.roundTrips()).toBe(60);
    expect(results.map((result) => result.status).sort()).toEqual([...Array(20).fill(201), ...Array(40).fill(403)]);
    for (const result of results.filter((r) => r.status === 403)) expectRefused(result, 'sold_out');
    expect(await balancedLedger(gift)).toBe(20);
    expect((await adminView(gift)).stock).toEqual({ remaining: 0, remainingToday: null });

    const fed = await query<{ claim_id: string }>(`select claim_id::text from claim_feed where benefit = $1 and kind = 'claim'`, [gift]);
    const standing = await query<{ id: string }>('select id::text from claims where benefit = $1', [gift]);
    expect(fed.map((entry) => entry.claim_id).sort()).toEqual(standing.map((row) => row.id).sort());

    const refusedToken = crowd[results.findIndex((result) => result.status === 403)]!.token;
    const listed = (await stack.call('benefits', 'GET', { token: refusedToken })).body.benefits;
    expect(listed.find((benefit: { key: string }) => benefit.key === gift)).toMatchObject({ status: 'ineligible', reason: 'sold_out' });
  });

  it('dailyStock counts per calendar day in Asia/Shanghai: sold out today, open again after midnight', async () => {
    const gift = benefitKey('daily');
    await offer(gift, { policy: { stock: 3, dailyStock: 2 } });
    const midnight = Date.parse(`${shanghaiDay()}T24:00:00+08:00`);
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(midnight - 2000);
      const [first, second, third, fourth] = await people(4);
      expect((await claim(first!.token, gift)).status).toBe(201);
      expect((await claim(second!.token, gift)).status).toBe(201);
      expectRefused(await claim(third!.token, gift), 'sold_out_today');
      const listed = (await stack.call('benefits', 'GET', { token: third!.token })).body.benefits;
      expect(listed.find((benefit: { key: string }) => benefit.key === gift)).toMatchObject({ status: 'ineligible', reason: 'sold_out_today' });
      expect((await adminView(gift)).stock).toEqual({ remaining: 1, remainingToday: 0 });

      vi.setSystemTime(midnight + 2000);
      expect((await adminView(gift)).stock).toEqual({ remaining: 1, remainingToday: 2 });
      expect((await claim(third!.token, gift)).status).toBe(201);
      // The stock in all runs out before the day's does.
      expectRefused(await claim(fourth!.token, gift), 'sold_out');
      expect((await adminView(gift)).stock).toEqual({ remaining: 0, remainingToday: 1 });
    } finally {
      vi.useRealTimers();
    }
    expect(await balancedLedger(gift)).toBe(3);
  });

  it('a claim whose clock is still before midnight, after another instance counted past it, counts on the later day', async () => {
    const gift = benefitKey('daily-straggler');
    await offer(gift, { policy: { dailyStock: 1 } });
    const [early, late] = await people(2);
    expect((await claim(early!.token, gift)).status).toBe(201);
    // Another instance's clock has passed midnight already and counted there: the row is on tomorrow.
    await query(`update benefit_stock set day = day + 1, granted_today = 0 where benefit = $1`, [gift]);
    expect((await claim(late!.token, gift)).status).toBe(201);
    const [row] = await query<{ claimed_on: string; day: string }>(
      `select c.claimed_on::text, s.day::text from claims c join benefit_stock s on s.benefit = c.benefit where c.person_id = $1 and c.benefit = $2`,
      [late!.id, gift],
    );
    expect(row!.claimed_on).toBe(row!.day);
    expect(await balancedLedger(gift)).toBe(2);
  });

  it('a claim refused by the risk check takes no unit', async () => {
    const gift = benefitKey('stock-risk');
    await offer(gift, { policy: { stock: 1, maxRiskRank: 2 } });
    const [risky, fine] = await people(2);
    stack.wechat.setRiskRank(stack.wechat.identityOf(APP_A, risky!.person).openid, 4);
    stack.wechat.setRiskRank(stack.wechat.identityOf(APP_A, fine!.person).openid, 1);
    expectRefused(await claim(risky!.token, gift), 'risk');
    expect((await adminView(gift)).stock.remaining).toBe(1);
    expect((await claim(fine!.token, gift)).status).toBe(201);
    expect(await balancedLedger(gift)).toBe(1);
  });

  it('a claim rolled back after taking the last unit gives it back to the claim waiting for it', async () => {
    const gift = benefitKey('stock-rollback');
    await offer(gift, { policy: { stock: 1 } });
    const [first, second] = await people(2);
    await withConnection(async (run) => {
      await run('begin');
      const [taken] = await run<{ outcome: string }>(
        `select outcome from claim_benefit($1, $2, $3, '{}', null, null, false, '00', $4)`,
        [first!.id, gift, APP_A, shanghaiDay()],
      );
      expect(taken!.outcome).toBe('created');
      // The unit is held, not gone: the other claim waits for it rather than hearing sold_out.
      let answered = false;
      const waiting = claim(second!.token, gift).finally(() => (answered = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answered).toBe(false);
      await run('rollback');
      expect((await waiting).status).toBe(201);
    });
    expect(await query('select person_id from claims where benefit = $1', [gift])).toEqual([{ person_id: second!.id }]);
    expect(await balancedLedger(gift)).toBe(1);
  });

  it('a merge\'s reversal returns its unit (to the day\'s stock too); a deletion does not', async () => {
    const gift = benefitKey('stock-merge');
    await offer(gift, { policy: { stock: 2, dailyStock: 10 } });
    // One human as two people (F has no unionid yet), each claiming: the stock is gone.
    const human = stack.person();
    const inF = await loggedIn(human, APP_F);
    const inB = await loggedIn(human, APP_B);
    expect((await claim(inF.token, gift)).status).toBe(201);
    expect((await claim(inB.token, gift)).status).toBe(201);
    const [other, last] = await people(2);
    expectRefused(await claim(other!.token, gift), 'sold_out');

    stack.wechat.bindOpenPlatform(APP_F);
    expect((await loggedIn(human, APP_F)).id).toBe(inF.id);
    expect(await query(`select 1 from claim_feed where benefit = $1 and kind = 'reversal'`, [gift])).toHaveLength(1);
    expect((await adminView(gift)).stock).toEqual({ remaining: 1, remainingToday: 9 });
    expect((await claim(other!.token, gift)).status).toBe(201);

    // A deleted person's claim stands (it is in the feed), so its unit stays taken.
    expect((await stack.call('me', 'DELETE', { token: other!.token, json: { confirm: 'delete' } })).status).toBe(204);
    expectRefused(await claim(last!.token, gift), 'sold_out');
    expect(await balancedLedger(gift)).toBe(2);
  });

  it('operators raise and lower the stock while people claim: raising opens more, lowering below what is granted closes it; both audited', async () => {
    const gift = benefitKey('stock-change');
    const setStock = (stock: number) => offer(gift, { policy: { stock } });
    await setStock(5);
    expect(granted(await rush(gift, 10))).toBe(5);

    // Raised to 12 while ten claim: those after the raise get the seven new units, and no more.
    const during = await people(10);
    const [raised] = await Promise.all([Promise.all(during.map(({ token }) => claim(token, gift))), setStock(12)]);
    for (const result of raised.filter((r) => r.status !== 201)) expectRefused(result, 'sold_out');
    expect(granted(raised) + granted(await rush(gift, 10))).toBe(7);
    expect(await balancedLedger(gift)).toBe(12);

    // Raised to 30, then lowered to 10 (below the 12 granted) while ten claim: closed from then on.
    await setStock(30);
    const [lowered] = await Promise.all([rush(gift, 10), setStock(10)]);
    const standing = await balancedLedger(gift);
    expect(standing).toBe(12 + granted(lowered));
    expect((await adminView(gift)).stock.remaining).toBe(0);
    expect(granted(await rush(gift, 5))).toBe(0);

    // Two over what stands: exactly two more.
    await setStock(standing + 2);
    expect(granted(await rush(gift, 5))).toBe(2);

    const trail = await stack.call(`admin/events?kind=benefit_stock_changed&limit=500`, 'GET', { headers: bearer(ADMIN_KEY) });
    const changes = trail.body.events.filter((event: { details: { benefit: string } }) => event.details.benefit === gift);
    expect(changes.map((event: { actor: string; personId: null; details: { stock: unknown } }) => [event.actor, event.personId, event.details.stock])).toEqual(
      [[null, 5], [5, 12], [12, 30], [30, 10], [10, standing + 2]].map(([from, to]) => ['admin:marketing', null, { from, to }]),
    );
  });

  it('property: whatever happens, each unit is granted at most once and none is lost', async () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant('rush' as const), count: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ op: fc.constant('stock' as const), stock: fc.integer({ min: 0, max: 12 }) }),
      fc.constant({ op: 'rollback' as const }),
      fc.constant({ op: 'delete' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.array(step, { minLength: 1, maxLength: 5 }), async (initial, steps) => {
        const gift = benefitKey('stock-prop');
        let stock = initial;
        await offer(gift, { policy: { stock } });
        let standing = 0;
        const holders: string[] = [];
        for (const next of steps) {
          if (next.op === 'rush') {
            const crowd = await people(next.count);
            const results = await Promise.all(crowd.map(({ token }) => claim(token, gift)));
            // Never oversold, never undersold: exactly what was left, or everyone.
            expect(granted(results)).toBe(Math.min(next.count, Math.max(0, stock - standing)));
            standing += granted(results);
            results.forEach((result, i) => (result.status === 201 ? holders.push(crowd[i]!.token) : expectRefused(result, 'sold_out')));
          } else if (next.op === 'stock') {
            await offer(gift, { policy: { stock: (stock = next.stock) } });
          } else if (next.op === 'rollback') {
            const { id } = await loggedIn();
            await withConnection(async (run) => {
              await run('begin');
              await run(`select claim_benefit($1, $2, $3, '{}', null, null, false, '00', $4)`, [id, gift, APP_A, shanghaiDay()]);
              await run('rollback');
            });
          } else if (holders.length > 0) {
            expect((await stack.call('me', 'DELETE', { token: holders.pop()!, json: { confirm: 'delete' } })).status).toBe(204);
          }
          expect(await balancedLedger(gift)).toBe(standing);
          expect((await adminView(gift)).stock.remaining).toBe(Math.max(0, stock - standing));
        }
      }),
      { numRuns: 8 },
    );
  });

  it('takes a whole stock from 0 up, or null for none', async () => {
    for (const stock of [-1, 1.5, '10', 100_000_001]) {
      const result = await stack.call(`admin/benefits/${benefitKey('bad')}`, 'PUT', { headers: bearer(ADMIN_KEY), json: { title: { zh: 'x', en: 'x' }, policy: { stock } } });
      expect([result.status, result.body.code]).toEqual([400, 'invalid_request']);
    }
    const gift = benefitKey('unlimited-again');
    await offer(gift, { policy: { stock: 0 } });
    const { token } = await loggedIn();
    expectRefused(await claim(token, gift), 'sold_out');
    expect((await offer(gift, { policy: { stock: null } })).stock).toEqual({ remaining: null, remainingToday: null });
    expect((await claim(token, gift)).status).toBe(201);
    // A limit set again counts the claims made while there was none.
    expect((await offer(gift, { policy: { stock: 1 } })).stock).toEqual({ remaining: 0, remainingToday: null });
    expect(await balancedLedger(gift)).toBe(1);
  });
});
