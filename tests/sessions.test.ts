// lib/sessions/tokens.ts over the real Redis and Postgres: what is stored, who can make a session
// valid, how many a person holds, what refusing costs, and expiry with a moved clock.
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newRequestContext } from '../lib/platform/request-context.js';
import { createSession, openSessionKey, requireSession, sessionClock, type NewSession } from '../lib/sessions/tokens.js';
import { APP_A, startStack, type Stack } from './support/stack.js';
import { apiErrorOf } from './support/api-error.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    isolated: true,
    env: {
      SESSION_IDLE_TTL: String(7 * 24 * 3600),
      SESSION_MAX_AGE: String(30 * 24 * 3600),
      TRUST_PROXY_HEADERS: '1',
      RATE_LIMIT_AUTH_FAILURES_PER_IP: '50/1h',
      // Eleven logins of one person within a minute (the account's own limit is tested elsewhere).
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '100/1m',
    },
  });
});
afterAll(() => stack.close());
afterEach(() => {
  sessionClock.now = () => Date.now();
});

const HOUR = 3600_000;
const context = () => newRequestContext('test', Date.now() + 9000);
const newSession = (overrides: Partial<NewSession> = {}): NewSession => ({
  person: {
    personId: randomUUID(),
    revision: 1,
    card: { unionid: null, createdAt: '2026-01-02T03:04:05.000Z', phone: null, accounts: [] },
    foldedPersonId: null,
  },
  appid: APP_A,
  openid: `openid-${randomBytes(6).toString('hex')}`,
  channel: 'miniprogram',
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  ...overrides,
});

async function unauthorized(token: string) {
  expect((await apiErrorOf(requireSession(token, context()))).code).toBe('unauthorized');
}

function moveClock(byMs: number) {
  const at = Date.now() + byMs;
  sessionClock.now = () => at;
}

const me = (token: string, headers: Record<string, string> = {}) => stack.call('me', 'GET', { token, headers });
const from = (address: string) => ({ 'x-forwarded-for': address });

describe('what is stored', () => {
  it('keeps neither the token nor its plain hash nor the session_key: Redis holds nothing usable', async () => {
    const input = newSession();
    const { token } = await createSession(input, context());
    const keys = await stack.gateway.redis.keys(`${stack.keyPrefix}s:*`);
    const values = await Promise.all(keys.map((key) => stack.gateway.redis.hgetall(key)));
    const everything = keys.join('\n') + JSON.stringify(values);
    for (const secret of [token, token.slice(4), createHash('sha256').update(token).digest('hex'), input.sessionKey]) {
      expect(everything).not.toContain(secret);
    }
  });

  it('opens the sealed session_key of a live session, and no other envelope', async () => {
    const input = newSession();
    const { session } = await requireSession((await createSession(input, context())).token, context());
    expect(openSessionKey(session)).toBe(input.sessionKey);
    const other = (await requireSession((await createSession(newSession(), context())).token, context())).session;
    expect(() => openSessionKey({ ...other, sealedSessionKey: session.sealedSessionKey })).toThrow();
    const [version, keyId, iv, sealed] = session.sealedSessionKey.split('.');
    const flipped = Buffer.from(sealed!, 'base64url');
    flipped[0]! ^= 1;
    expect(() => openSessionKey({ ...session, sealedSessionKey: [version, keyId, iv, flipped.toString('base64url')].join('.') })).toThrow();
  });
});

describe('a token is valid only where it was issued', () => {
  // A forger who can write Redis but holds no SESSION_ENCRYPTION_KEY: the record is well formed,
  // owned by a real person with a cached card, and keyed every way the forger can compute.
  it('refuses a hand-written record under any key the forger can compute', async () => {
    const victim = (await stack.login(stack.person())).body;
    const { session, person } = await requireSession(victim.token, context());
    const token = `wxl_${randomBytes(32).toString('base64url')}`;
    const forged = { person: person.id, app: APP_A, oid: session.openid, iat: Date.now(), exp: Date.now() + HOUR, seen: Date.now(), sk: session.sealedSessionKey };
    const guesses = [
      createHash('sha256').update(token).digest('hex'),
      createHash('sha256').update(token).digest('base64url'),
      createHmac('sha256', randomBytes(32)).update(token).digest('base64url'),
    ];
    for (const guess of guesses) {
      await stack.gateway.redis.hset(`${stack.keyPrefix}s:${guess}`, forged);
      await stack.gateway.redis.expire(`${stack.keyPrefix}s:${guess}`, 60);
      await stack.gateway.redis.set(`wxlogin:session:${guess}`, JSON.stringify({ v: 2, uid: person.id, app: APP_A, oid: 'x', iat: 0, exp: Date.now() + HOUR, rnw: 0, sk: '' }), 'EX', 60);
    }
    expect((await me(token)).status).toBe(401);
    expect((await stack.call('claims', 'GET', { token })).status).toBe(401);
    expect((await me(victim.token)).status).toBe(200);
  });

  it('a session whose person is gone gets 401 on claims and phone, before any WeChat call or write', async () => {
    const { token } = await createSession(newSession(), context());
    const before = stack.wechat.requestCount();
    const claim = await stack.call('claims', 'POST', { token, json: { benefit: 'welcome-gift' } });
    const phone = await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(APP_A) } });
    expect([claim.status, claim.body.code]).toEqual([401, 'unauthorized']);
    expect([phone.status, phone.body.code]).toEqual([401, 'unauthorized']);
    expect(stack.wechat.requestCount()).toBe(before);
  });
});

describe('bounded sessions', () => {
  it('the 11th login of a person in one app ends the oldest; other apps keep theirs', async () => {
    const person = stack.person();
    const tokens: string[] = [];
    for (let i = 0; i < 11; i++) tokens.push((await stack.login(person, APP_A)).body.token);
    expect((await me(tokens[0]!)).status).toBe(401);
    for (const token of tokens.slice(1)) expect((await me(token)).status).toBe(200);
    const { person: owner } = await requireSession(tokens[1]!, context());
    expect(await stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${owner.id}`)).toBe(10);
  });
});

describe('refusing is free', () => {
  it('1,000 random tokens write nothing to Redis, cost one request each at most, and end in 429 from one address', async () => {
    const client = '198.51.100.7';
    const keysBefore = await stack.redisKeys();
    stack.gateway.resetCounts();
    const statuses: number[] = [];
    for (let i = 0; i < 1000; i++) statuses.push((await me(`wxl_${randomBytes(32).toString('base64url')}`, from(client))).status);
    // 50 an hour: the first 50 are 401, then 429 (a window boundary crossed mid-run may let a few more 401s through).
    expect(statuses.slice(0, 50)).toEqual(Array(50).fill(401));
    expect(new Set(statuses)).toEqual(new Set([401, 429]));
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThan(900);
    expect(statuses.at(-1)).toBe(429);
    expect(await stack.redisKeys()).toEqual(keysBefore);
    expect(stack.gateway.counts().requests).toBeLessThanOrEqual(1000);
    // Another address, and a real session at the flooded one, are untouched.
    expect((await me(`wxl_${randomBytes(32).toString('base64url')}`, from('198.51.100.8'))).status).toBe(401);
    expect((await me((await stack.login(stack.person())).body.token, from(client))).status).toBe(200);
  });

  it('a known session\'s /api/me is exactly one Redis request, its rate limit included', async () => {
    const { token } = (await stack.login(stack.person())).body;
    stack.gateway.resetCounts();
    expect((await me(token)).headers.get('ratelimit-limit')).toBe('120');
    expect(stack.gateway.counts()).toMatchObject({ requests: 1, byCommand: { evalsha: 1 } });
  });
});

describe('expiry', () => {
  it('refuses a session past its absolute expiry even while Redis still holds it', async () => {
    const { token, expiresAt } = await createSession(newSession(), context());
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(30 * 24 * HOUR - 60_000);
    moveClock(30 * 24 * HOUR + 1000);
    await unauthorized(token);
  });

  it('never lets the idle TTL outlive the absolute expiry', async () => {
    const { token } = await createSession(newSession(), context());
    const { session } = await requireSession(token, context());
    moveClock(30 * 24 * HOUR - 2 * HOUR);
    await requireSession(token, context());
    const ttl = await stack.gateway.redis.ttl(`${stack.keyPrefix}s:${session.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 3600);
  });
});
