// Benefits as a marketing team runs them, against the real Postgres and Redis and the fake WeChat:
// each policy and refusal reason, one claim per phone under races, WeChat's risk control and its
// outages, idempotent retries, the benefits list, and the fulfilment feed read by a consumer that
// restarts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query, withConnection } from '../lib/platform/postgres.js';
import type { Fault } from '../scripts/local/fake-wechat.js';
import { APP_A, APP_B, APP_C, defaultApps, startStack, type CallResult, type Stack } from './support/stack.js';

/** Unbound at first; each merge story binds one of its own. */
const APP_D = 'wxd0000000000000d4';
const APP_E = 'wxe0000000000000e5';

const ADMIN_KEY = randomBytes(32).toString('base64url');
const SERVICE_KEY = randomBytes(32).toString('base64url');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [...defaultApps(), ...[APP_D, APP_E].map((appid) => ({ appid, secret: `secret-${appid}`, openPlatform: false }))],
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
      policy: { newWithinDays: 7, phoneRequired: false, onePerPhone: true, maxRiskRank: 2, riskFailure: 'refuse' },
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

  it.each<[string, Fault[]]>([
    ['busy (-1) through every retry', Array(8).fill('busy')],
    ['the daily quota (45009)', [{ errcode: 45009 }]],
    ['the per-minute quota (45011)', ['rate_limited']],
    ['HTTP 502 through every retry', Array(8).fill('http_502')],
    ['no answer in time', [{ delayMs: 2500 }, { delayMs: 2500 }, { delayMs: 2500 }, { delayMs: 2500 }]],
  ])('when WeChat cannot rate (%s): refuse with 503 and Retry-After by default, or allow if the benefit says so', async (_, faults) => {
    const strict = benefitKey('strict');
    const lenient = benefitKey('lenient');
    await offer(strict, { policy: { maxRiskRank: 1 } });
    await offer(lenient, { policy: { maxRiskRank: 1, riskFailure: 'allow' } });
    const { token, person } = await loggedIn();
    stack.wechat.setRiskRank(stack.wechat.identityOf(APP_A, person).openid, 0);
    await claim(token, 'welcome-gift'); // the access_token is fetched and cached: the faults meet getuserriskrank
    stack.wechat.injectFaults(...faults);
    const refused = await claim(token, strict);
    expect([refused.status, refused.body.code]).toEqual([503, 'wechat_unavailable']);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    stack.wechat.resetCounts();
    stack.wechat.injectFaults(...faults);
    expect((await claim(token, lenient)).status).toBe(201);
    stack.wechat.resetCounts();
  }, 30_000);

  it('61010 (no visit to the mini program in two hours) is a rank past every limit: refused as risk, allow or not', async () => {
    const strict = benefitKey('strict');
    const lenient = benefitKey('lenient');
    await offer(strict, { policy: { maxRiskRank: 4 } });
    await offer(lenient, { policy: { maxRiskRank: 4, riskFailure: 'allow' } });
    // The fake answers 61010 for an openid it has no rank for, as WeChat does for one it saw no visit of.
    const { token } = await loggedIn();
    expectRefused(await claim(token, strict), 'risk');
    expectRefused(await claim(token, lenient), 'risk');
  });

  it('a risk-limited claim: 2 Postgres round trips (the bound number travels in the first), 2 Redis requests asking WeChat, 1 from memory', async () => {
    const gift = benefitKey('counted');
    await offer(gift, { policy: { maxRiskRank: 2 } });
    const { token, person } = await loggedIn();
    await bindPhone(token, newNumber());
    stack.wechat.setRiskRank(stack.wechat.identityOf(APP_A, person).openid, 3);
    await claim(token, 'welcome-gift'); // a warm pool and a cached access_token
    const counted = async () => {
      stack.wechat.resetCounts();
      stack.bridge.resetCounts();
      stack.gateway.resetCounts();
      expectRefused(await claim(token, gift), 'risk');
      // The session check is one Redis request of its own.
      return { wechat: stack.wechat.requestCount(), postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests - 1 };
    };
    expect(await counted()).toEqual({ wechat: 1, postgres: 2, redis: 2 });
    expect(await counted()).toEqual({ wechat: 0, postgres: 2, redis: 1 });
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
