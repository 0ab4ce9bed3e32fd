// POST /api/phone end to end: WeChat's verified number stored on the person, shown masked by /me,
// WeChat's errcodes as problem+json, and never two lookups for one code.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import type { FakeApp } from '../scripts/local/fake-wechat.js';
import { accessLog, startStack, type CallResult, type Stack } from './support/stack.js';

// The access_token cache lives in the shared Redis, keyed by appid: apps of this file only.
const newApp = (openPlatform: boolean): FakeApp => {
  const id = randomBytes(7).toString('hex');
  return { appid: `wxp${id}`, secret: `secret-${id}`, openPlatform };
};
const [APP, SIBLING, LATE] = [newApp(true), newApp(true), newApp(false)];
/** Apps whose access_token is still cold, one per test that needs stable_token to be called. */
const coldApps = Array.from({ length: 16 }, () => newApp(false));
const takeColdApp = () => coldApps.pop()!;
const PHONE = '/wxa/business/getuserphonenumber';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ apps: [APP, SIBLING, LATE, ...coldApps] });
});
afterAll(() => stack.close());
beforeEach(() => stack.wechat.resetCounts());

/** A fresh mainland number nobody else in this run uses. */
const newNumber = () => `139${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;

async function loggedIn(person = stack.person(), appid = APP.appid) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { person, token: login.body.token as string, userId: login.body.user.id as string };
}

const bind = (token: string, code: string) => stack.call('phone', 'POST', { token, json: { code } });
const me = async (token: string) => (await stack.call('me', 'GET', { token })).body.user;
/** The access-log line of a response. */
const logLineOf = (response: CallResult) =>
  accessLog.map((line) => JSON.parse(line)).find((line) => line.requestId === response.headers.get('x-request-id'));

describe('binding a phone number', () => {
  it('returns the number, stores it on the person and shows it masked on /me', async () => {
    const { person, token, userId } = await loggedIn();
    expect(stack.wechat.callsTo('/cgi-bin/stable_token')).toBe(0); // login never needs an access_token
    const number = newNumber();
    const response = await bind(token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number }));
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ phoneNumber: number, purePhoneNumber: number, countryCode: '86' });
    expect(stack.wechat.billedPhoneNumbers()).toBe(1);
    // WeChat got the session's openid along with the code.
    expect(stack.wechat.phoneRequests()).toEqual([
      { appid: APP.appid, code: expect.any(String), openid: stack.wechat.identityOf(APP.appid, person).openid },
    ]);
    const [row] = await query('select phone_number, phone_pure_number, phone_country_code from people where id = $1', [userId]);
    expect(row).toEqual({ phone_number: number, phone_pure_number: number, phone_country_code: '86' });
    expect((await me(token)).phone).toBe(`${number.slice(0, 3)}****${number.slice(7)}`);
  });

  it('keeps /me at one Redis round trip and no Postgres with a phone bound', async () => {
    const { token } = await loggedIn();
    expect((await bind(token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() }))).status).toBe(200);
    stack.gateway.resetCounts();
    stack.bridge.resetCounts();
    expect((await me(token)).phone).toMatch(/^139\*{4}\d{4}$/);
    expect(stack.gateway.counts().requests).toBe(1);
    expect(stack.bridge.roundTrips()).toBe(0);
  });

  it('costs 1 WeChat call, 2 Postgres round trips (the person must exist before the billed lookup) and 2 Redis requests with the access_token warm', async () => {
    const { token } = await loggedIn();
    await bind(token, 'warm-the-access-token');
    const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() });
    stack.wechat.resetCounts();
    stack.gateway.resetCounts();
    stack.bridge.resetCounts();
    expect((await bind(token, code)).status).toBe(200);
    expect({ wechat: stack.wechat.requestCount(), postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests }).toEqual({
      wechat: 1,
      postgres: 2,
      redis: 2,
    });
  });

  it('shows the phone on every session of the person: other devices, other apps, later logins', async () => {
    const { person, token } = await loggedIn();
    const otherDevice = await loggedIn(person);
    expect((await bind(token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: '13812345678' }))).status).toBe(200);
    const later = await loggedIn(person);
    const inSibling = await loggedIn(person, SIBLING.appid);
    for (const session of [otherDevice, later, inSibling]) expect((await me(session.token)).phone).toBe('138****5678');
  });

  it('accepts countryCode as a string or a number and always returns a string', async () => {
    const { token } = await loggedIn();
    const asString = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber(), countryCodeAsNumber: false });
    expect((await bind(token, asString)).body.countryCode).toBe('86');
    const abroad = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: '2025550123', countryCode: '1' });
    const response = await bind(token, abroad);
    expect(response.body).toEqual({ phoneNumber: '+12025550123', purePhoneNumber: '2025550123', countryCode: '1' });
    expect((await me(token)).phone).toBe('+1 202***0123');
  });

  it('gives a number to the latest person who verifies it; the previous holder loses it', async () => {
    const number = newNumber();
    const first = await loggedIn();
    const second = await loggedIn();
    expect((await bind(first.token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number }))).status).toBe(200);
    expect((await bind(second.token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number }))).status).toBe(200);
    const holders = await query<{ id: string }>('select id from people where phone_pure_number = $1', [number]);
    expect(holders).toEqual([{ id: second.userId }]);
    expect((await me(first.token)).phone).toBeNull();
    expect((await me(second.token)).phone).toMatch(/^139\*{4}/);
  });

  it('goes with a person folded by a late-UnionID merge to the survivor', async () => {
    const person = stack.person();
    const older = await loggedIn(person, LATE.appid); // no unionid yet: a person of its own
    const newer = await loggedIn(person, APP.appid);
    const number = newNumber();
    expect((await bind(newer.token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number }))).status).toBe(200);
    stack.wechat.bindOpenPlatform(LATE.appid);
    const merged = await loggedIn(person, LATE.appid);
    expect(merged.userId).toBe(older.userId);
    const holders = await query<{ id: string }>('select id from people where phone_pure_number = $1', [number]);
    expect(holders).toEqual([{ id: older.userId }]);
    for (const session of [older, newer, merged]) expect((await me(session.token)).phone).toMatch(/^139\*{4}/);
  });

  it('replaces a person\'s earlier number', async () => {
    const { token, userId } = await loggedIn();
    await bind(token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() }));
    const number = newNumber();
    expect((await bind(token, stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number }))).status).toBe(200);
    const [row] = await query<{ phone_pure_number: string }>('select phone_pure_number from people where id = $1', [userId]);
    expect(row!.phone_pure_number).toBe(number);
  });
});

describe('what WeChat refuses', () => {
  it('a used code: 400 invalid_phone_code, worded for phone codes, billed once', async () => {
    const { token } = await loggedIn();
    const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() });
    expect((await bind(token, code)).status).toBe(200);
    const again = await bind(token, code);
    expect(again.status).toBe(400);
    expect(again.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(again.body).toMatchObject({
      code: 'invalid_phone_code',
      title: 'The phone number code is invalid, expired or already used',
    });
    expect(stack.wechat.billedPhoneNumbers()).toBe(1);
  });

  it('a code that was never issued: 400 invalid_phone_code', async () => {
    const { token } = await loggedIn();
    expect((await bind(token, 'f'.repeat(64))).body.code).toBe('invalid_phone_code');
  });

  it('a code issued to another mini program (WeChat 40013): 400 phone_app_mismatch, the client\'s mistake', async () => {
    const { token, userId } = await loggedIn();
    const response = await bind(token, stack.wechat.issuePhoneCode(SIBLING.appid));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('phone_app_mismatch');
    expect(logLineOf(response)).toMatchObject({ level: 'info', status: 400, code: 'phone_app_mismatch', wechatErrcode: 40013 });
    const [row] = await query<{ phone_pure_number: string | null }>('select phone_pure_number from people where id = $1', [userId]);
    expect(row!.phone_pure_number).toBeNull();
  });

  it('a watermark naming another mini program: 400 phone_app_mismatch, nothing stored', async () => {
    const { token, userId } = await loggedIn();
    const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber(), watermarkAppid: SIBLING.appid });
    const response = await bind(token, code);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('phone_app_mismatch');
    const [row] = await query<{ phone_pure_number: string | null }>('select phone_pure_number from people where id = $1', [userId]);
    expect(row!.phone_pure_number).toBeNull();
    expect((await me(token)).phone).toBeNull();
  });

  it('WeChat busy (-1): 503 wechat_unavailable, and the code is not tried again', async () => {
    const { token } = await loggedIn();
    await bind(token, 'warm-the-access-token');
    stack.wechat.resetCounts();
    stack.wechat.injectFaults('busy');
    const response = await bind(token, stack.wechat.issuePhoneCode(APP.appid));
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('wechat_unavailable');
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(stack.wechat.callsTo(PHONE)).toBe(1);
  });

  it('rate limited (45011): 429 wechat_rate_limited with Retry-After', async () => {
    const { token } = await loggedIn();
    await bind(token, 'warm-the-access-token');
    stack.wechat.injectFaults('rate_limited');
    const response = await bind(token, stack.wechat.issuePhoneCode(APP.appid));
    expect(response.status).toBe(429);
    expect(response.body.code).toBe('wechat_rate_limited');
    expect(response.headers.get('retry-after')).toBe('60');
  });

  it('a reply lost after WeChat billed the lookup: 503, and never a second lookup with that code', async () => {
    const { token } = await loggedIn();
    await bind(token, 'warm-the-access-token');
    stack.wechat.resetCounts();
    stack.wechat.injectFaults('lost_reply');
    const response = await bind(token, stack.wechat.issuePhoneCode(APP.appid));
    expect(response.status).toBe(503);
    expect(stack.wechat.callsTo(PHONE)).toBe(1);
    expect(stack.wechat.billedPhoneNumbers()).toBe(1);
  });
});

describe('stable_token refusing this mini program', () => {
  it.each([
    [40002, 'a grant_type it does not know'],
    [43002, 'a method other than POST'],
    [47001, 'a body it cannot parse'],
    [40164, 'a server IP outside the whitelist'],
    [40243, 'a frozen AppSecret'],
  ])('%i (%s): 500 server_misconfigured, the errcode in the log, no lookup', async (errcode) => {
    const app = takeColdApp();
    const { token } = await loggedIn(stack.person(), app.appid);
    stack.wechat.resetCounts();
    stack.wechat.injectFaults({ errcode });
    const response = await bind(token, stack.wechat.issuePhoneCode(app.appid));
    expect(response.status).toBe(500);
    expect(response.body.code).toBe('server_misconfigured');
    expect(logLineOf(response)).toMatchObject({ level: 'error', code: 'server_misconfigured', wechatErrcode: errcode });
    expect(stack.wechat.callsTo('/cgi-bin/stable_token')).toBe(1);
    expect(stack.wechat.callsTo(PHONE)).toBe(0);
  });
});

describe('a stable_token refusal, remembered', () => {
  it.each([
    [45009, 'the daily quota', 503, 'wechat_unavailable', 60],
    [45011, 'the minute quota', 503, 'wechat_unavailable', 60],
    [40125, 'a wrong AppSecret', 500, 'server_misconfigured', 30],
    [40164, 'a server IP outside the whitelist', 500, 'server_misconfigured', 30],
    [40243, 'a frozen AppSecret', 500, 'server_misconfigured', 30],
  ])('%i (%s): the next requests get the same answer with Retry-After, and stable_token is not asked again', async (errcode, _, status, code, seconds) => {
    const app = takeColdApp();
    const { token } = await loggedIn(stack.person(), app.appid);
    stack.wechat.resetCounts();
    stack.wechat.injectFaults({ errcode });
    const first = await bind(token, stack.wechat.issuePhoneCode(app.appid));
    expect(first.status).toBe(status);
    expect(first.headers.get('retry-after')).toBe(String(seconds));
    for (let i = 0; i < 3; i++) {
      const later = await bind(token, stack.wechat.issuePhoneCode(app.appid));
      expect(later.status).toBe(status);
      expect(later.body.code).toBe(code);
      expect(Number(later.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(later.headers.get('retry-after'))).toBeLessThanOrEqual(seconds);
      expect(logLineOf(later)).toMatchObject({ code, wechatErrcode: errcode });
    }
    expect(stack.wechat.callsTo('/cgi-bin/stable_token')).toBe(1);
    expect(stack.wechat.callsTo(PHONE)).toBe(0);
    // Shared with every instance through Redis, for a bounded time.
    const ttl = await stack.gateway.redis.pttl(`${stack.keyPrefix}access-token-refused:${app.appid}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(seconds * 1000);
  });

  it('is forgotten when its time is up: stable_token is asked again', async () => {
    const app = takeColdApp();
    const { token } = await loggedIn(stack.person(), app.appid);
    stack.wechat.injectFaults({ errcode: 45009 });
    expect((await bind(token, stack.wechat.issuePhoneCode(app.appid))).status).toBe(503);
    await stack.gateway.redis.pexpire(`${stack.keyPrefix}access-token-refused:${app.appid}`, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await bind(token, stack.wechat.issuePhoneCode(app.appid, { purePhoneNumber: newNumber() }))).status).toBe(200);
  });
});

describe('what never reaches WeChat', () => {
  it('no token: 401; no code or unknown fields: 400, without a single round trip', async () => {
    expect((await stack.call('phone', 'POST', { json: { code: 'abc' } })).status).toBe(401);
    const { token } = await loggedIn();
    stack.gateway.resetCounts();
    stack.wechat.resetCounts();
    for (const json of [{}, { code: '' }, { code: 42 }, { code: 'abc', extra: true }]) {
      const response = await stack.call('phone', 'POST', { token, json });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('invalid_request');
    }
    expect(stack.gateway.counts().requests).toBe(0);
    expect(stack.wechat.requestCount()).toBe(0);
  });

  it('an unknown session: 401', async () => {
    const response = await bind(`wxl_${randomBytes(32).toString('base64url')}`, 'abc');
    expect(response.status).toBe(401);
    expect(stack.wechat.requestCount()).toBe(0);
  });

  it('GET: 405', async () => {
    expect((await stack.call('phone', 'GET')).status).toBe(405);
  });
});
