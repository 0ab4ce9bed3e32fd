// Rate limits on the real Redis through the Upstash gateway, with the current @upstash/ratelimit
// (Lua scripts with Upstash-only shebang flags). Small limits, appids and IPs of this file's own;
// each test uses an app of its own so that the per-app limit (5) stays out of the others' way.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clientIp } from '../lib/http.js';
import { startServer } from '../scripts/local/server.js';
import { accessLog, startStack, type CallResult, type Stack } from './support/stack.js';

const app = () => `wx${randomBytes(8).toString('hex')}`;
const FOR_IP = app();
const FOR_APP = app();
const FOR_USER = app();
const FOR_FAULTS = app();
const FOR_IPV6 = app();
const FOR_SERVER = app();
const FOR_SHARED_BUDGET = app();
// Random, so that runs sharing this Redis do not share counters.
const ip = () => `10.${[...randomBytes(3)].join('.')}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [FOR_IP, FOR_APP, FOR_USER, FOR_FAULTS, FOR_IPV6, FOR_SERVER, FOR_SHARED_BUDGET].map((appid) => ({ appid, secret: `secret-${appid}`, openPlatform: false })),
    env: {
      // As on a trusted proxy (Vercel sets VERCEL=1): x-real-ip / x-forwarded-for are the platform's.
      TRUST_PROXY_HEADERS: '1',
      RATE_LIMIT_LOGIN_PER_IP: '3/1m',
      RATE_LIMIT_LOGIN_PER_APP: '5/1m',
      RATE_LIMIT_LOGIN_PER_USER: '2/1m',
      RATE_LIMIT_PER_SESSION: '3/1m',
    },
  });
});
afterAll(() => stack.close());
afterEach(() => {
  stack.gateway.failCommands([]);
  stack.gateway.setDelay(0);
});

function loginFrom(address: string, appid: string, person = stack.person()): Promise<CallResult> {
  return stack.call('login', 'POST', {
    json: { code: stack.wechat.issueCode(appid, person), appid },
    headers: { 'x-forwarded-for': address },
  });
}

function expectLimited(result: CallResult, limit: number, windowSeconds: number) {
  expect(result.status).toBe(429);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(result.body.code).toBe('rate_limited');
  const retryAfter = Number(result.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(result.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(result.headers.get('ratelimit-remaining')).toBe('0');
  expect(result.headers.get('ratelimit-reset')).toBe(String(retryAfter));
  expect(result.headers.get('ratelimit-policy')).toBe(`${limit};w=${windowSeconds}`);
}

async function sessionsOf(userId: string): Promise<number> {
  return stack.gateway.redis.zcard(`wxlogin:user-sessions:${userId}`);
}

describe('login per client IP', () => {
  it('allows 3 a minute per address, then 429 without calling WeChat; other addresses go on', async () => {
    const address = ip();
    for (let i = 0; i < 3; i++) expect((await loginFrom(address, FOR_IP)).status).toBe(200);
    const wechatCalls = stack.wechat.requestCount();
    expectLimited(await loginFrom(address, FOR_IP), 3, 60);
    expect(stack.wechat.requestCount()).toBe(wechatCalls);
    expect((await loginFrom(ip(), FOR_IP)).status).toBe(200);
  });

  it('counts an IPv6 /64 as one client', async () => {
    const prefix = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    for (let i = 1; i <= 3; i++) expect((await loginFrom(`${prefix}::${i}`, FOR_IPV6)).status).toBe(200);
    expectLimited(await loginFrom(`${prefix}:ffff::9`, FOR_IPV6), 3, 60);
  });

  it('takes the address from x-real-ip, else the first x-forwarded-for entry; nonsense is no address', () => {
    const at = (headers: Record<string, string>) => clientIp(new Request('http://localhost/', { headers }));
    expect(at({ 'x-real-ip': '192.0.2.1', 'x-forwarded-for': '192.0.2.2' })).toBe('192.0.2.1');
    expect(at({ 'x-forwarded-for': '192.0.2.3, 10.0.0.1' })).toBe('192.0.2.3');
    expect(at({ 'x-forwarded-for': '::ffff:192.0.2.4' })).toBe('192.0.2.4');
    expect(at({ 'x-forwarded-for': '2001:DB8:0:1:2:3:4:5' })).toBe('2001:db8:0:1::/64');
    expect(at({ 'x-forwarded-for': '2001:db8::1' })).toBe('2001:db8:0:0::/64');
    expect(at({ 'x-forwarded-for': 'unknown' })).toBeNull();
    expect(at({})).toBeNull();
  });

  it('through the local server, the socket address counts, whatever x-forwarded-for the client sends', async () => {
    const server = await startServer({ port: 0 });
    try {
      const send = (forwardedFor: string) =>
        fetch(`${server.url}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
          body: JSON.stringify({ code: stack.wechat.issueCode(FOR_SERVER, stack.person()), appid: FOR_SERVER }),
        });
      // 127.0.0.1 may have logins left from other tests of this file in this window: use them up.
      let last: Response | undefined;
      for (let i = 0; i < 4; i++) last = await send(ip());
      expect(last!.status).toBe(429);
      expect(await last!.json()).toMatchObject({ code: 'rate_limited' });
    } finally {
      await server.close();
    }
  });
});

describe('login per mini program', () => {
  it('allows 5 a minute per appid across all clients, then 429 without calling WeChat', async () => {
    for (let i = 0; i < 5; i++) expect((await loginFrom(ip(), FOR_APP)).status).toBe(200);
    const wechatCalls = stack.wechat.requestCount();
    expectLimited(await loginFrom(ip(), FOR_APP), 5, 60);
    expect(stack.wechat.requestCount()).toBe(wechatCalls);
  });
});

describe('login per user', () => {
  it('allows 2 a minute per openid, then 429 with no session created', async () => {
    const person = stack.person();
    const first = await loginFrom(ip(), FOR_USER, person);
    expect((await loginFrom(ip(), FOR_USER, person)).status).toBe(200);
    expectLimited(await loginFrom(ip(), FOR_USER, person), 2, 60);
    expect(await sessionsOf(first.body.user.id)).toBe(2);
    expect((await loginFrom(ip(), FOR_USER)).status).toBe(200);
  });

  it('shows the tightest limit on success', async () => {
    const result = await loginFrom(ip(), FOR_USER);
    expect(result.status).toBe(200);
    expect(result.headers.get('ratelimit-policy')).toBe('2;w=60');
    expect(result.headers.get('ratelimit-remaining')).toBe('1');
  });
});

describe('authenticated requests per session', () => {
  it('allows 3 a minute per session; another session of the same person goes on', async () => {
    const person = stack.person();
    const { token } = (await loginFrom(ip(), FOR_FAULTS, person)).body;
    const other = (await loginFrom(ip(), FOR_FAULTS, person)).body.token;
    for (let i = 0; i < 3; i++) {
      const me = await stack.call('me', 'GET', { token });
      expect(me.status).toBe(200);
      expect(me.headers.get('ratelimit-remaining')).toBe(String(2 - i));
    }
    expectLimited(await stack.call('me', 'GET', { token }), 3, 60);
    expect((await stack.call('me', 'GET', { token: other })).status).toBe(200);
    // A session can be ended once: logout is never refused by the limit.
    expect((await stack.call('logout', 'POST', { token })).status).toBe(204);
    expect((await stack.call('me', 'GET', { token })).status).toBe(401);
  });

  it('one budget per session across every authenticated endpoint', async () => {
    const { token } = (await loginFrom(ip(), FOR_SHARED_BUDGET)).body;
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
    expect((await stack.call('claims', 'GET', { token })).status).toBe(200);
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
    expectLimited(await stack.call('claims', 'GET', { token }), 3, 60);
    expectLimited(await stack.call('phone', 'POST', { token, json: { code: 'abc' } }), 3, 60);
  });
});

describe('when the limiter cannot answer', () => {
  it('login fails closed: 503 before WeChat is called, and a retry succeeds', async () => {
    const person = stack.person();
    stack.gateway.failCommands(['evalsha', 'eval']);
    const wechatCalls = stack.wechat.requestCount();
    const refused = await loginFrom(ip(), FOR_FAULTS, person);
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('service_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(stack.wechat.requestCount()).toBe(wechatCalls);

    stack.gateway.failCommands([]);
    const retry = await loginFrom(ip(), FOR_FAULTS, person);
    expect(retry.status).toBe(200);
    expect(retry.body.user.isNew).toBe(true);
    expect(await sessionsOf(retry.body.user.id)).toBe(1);
  });

  it('login fails closed when Redis is too slow, within the bound, before WeChat', async () => {
    stack.gateway.setDelay(2000);
    const wechatCalls = stack.wechat.requestCount();
    const started = Date.now();
    const refused = await loginFrom(ip(), FOR_FAULTS);
    // Correctness bound: two 1.5 s attempts, far inside the 10 s function budget.
    expect(Date.now() - started).toBeLessThan(4500);
    expect(refused.body.code).toBe('service_unavailable');
    expect(stack.wechat.requestCount()).toBe(wechatCalls);
  });

  it('/me fails open: the session still answers, and the access log says the limiter was skipped', async () => {
    const { token } = (await loginFrom(ip(), FOR_FAULTS)).body;
    // The limiter's EVALSHA fails; the session read (a plain EVAL of our script) still works.
    stack.gateway.failCommands(['evalsha']);
    const before = accessLog.length;
    const me = await stack.call('me', 'GET', { token });
    expect(me.status).toBe(200);
    expect(me.headers.get('ratelimit-limit')).toBeNull();
    expect(JSON.parse(accessLog[before]!)).toMatchObject({ route: '/api/me', status: 200, rateLimit: 'unavailable' });
  });

  it('/me with Redis down is 503 (the session cannot be checked), not 401 and not a pass', async () => {
    const { token } = (await loginFrom(ip(), FOR_FAULTS)).body;
    await stack.gateway.stop();
    try {
      const me = await stack.call('me', 'GET', { token });
      expect(me.status).toBe(503);
      expect(me.body.code).toBe('service_unavailable');
    } finally {
      await stack.gateway.start();
    }
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
  });
});
