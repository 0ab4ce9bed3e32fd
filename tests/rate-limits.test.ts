// Rate limits on the real Redis through the Upstash gateway. Small limits, appids and addresses of
// this file's own.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { clientIp } from '../lib/http/endpoint.js';
import { RefusedAddresses } from '../lib/sessions/rate-limit.js';
import { startServer } from '../server/http.js';
import { startStack, type CallResult, type Stack } from './support/stack.js';

const app = () => `wx${randomBytes(8).toString('hex')}`;
const FOR_IP = app();
const FOR_ACCOUNT = app();
const FOR_FAULTS = app();
const FOR_IPV6 = app();
const FOR_SERVER = app();
const FOR_SHARED_BUDGET = app();
const FOR_FLOOD = app();
// Random, so that runs sharing this Redis do not share counters.
const ip = () => `10.${[...randomBytes(3)].join('.')}`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [FOR_IP, FOR_ACCOUNT, FOR_FAULTS, FOR_IPV6, FOR_SERVER, FOR_SHARED_BUDGET, FOR_FLOOD].map((appid) => ({ appid, secret: `secret-${appid}`, openPlatform: false })),
    env: {
      // As on a trusted proxy (Vercel sets VERCEL=1): x-real-ip / x-forwarded-for are the platform's.
      TRUST_PROXY_HEADERS: '1',
      RATE_LIMIT_LOGIN_PER_IP: '3/1m',
      RATE_LIMIT_LOGIN_PER_ACCOUNT: '2/1m',
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

async function sessionsOf(personId: string): Promise<number> {
  return stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${personId}`);
}

/** Whether the login wrote the account to Postgres. */
async function recorded(appid: string, person: string): Promise<boolean> {
  const { openid } = stack.wechat.identityOf(appid, person);
  return (await query('select 1 from accounts where appid = $1 and openid = $2', [appid, openid])).length === 1;
}

describe('login per client IP', () => {
  it('allows 3 a minute per address, then 429 with nothing written; other addresses go on', async () => {
    const address = ip();
    for (let i = 0; i < 3; i++) expect((await loginFrom(address, FOR_IP)).status).toBe(200);
    const person = stack.person();
    expectLimited(await loginFrom(address, FOR_IP, person), 3, 60);
    // Checked alongside code2Session (never before it, in sequence): the code is spent, nothing is written.
    expect(await recorded(FOR_IP, person)).toBe(false);
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

describe('a flood of junk codes from one address', () => {
  const junk = (address: string) =>
    stack.call('login', 'POST', { json: { code: randomBytes(16).toString('hex'), appid: FOR_FLOOD }, headers: { 'x-forwarded-for': address } });

  it('is limited whatever WeChat answers: invalid_code within the limit, 429 past it', async () => {
    const address = ip();
    const statuses: string[] = [];
    for (let i = 0; i < 10; i++) statuses.push(String((await junk(address)).body.code));
    expect(statuses).toEqual([...Array(3).fill('invalid_code'), ...Array(7).fill('rate_limited')]);
  });

  it('once refused, the instance answers 429 until its Retry-After without asking WeChat or Redis', async () => {
    const address = ip();
    for (let i = 0; i < 3; i++) await junk(address);
    const first = await junk(address);
    expectLimited(first, 3, 60);
    stack.wechat.resetCounts();
    stack.gateway.resetCounts();
    for (let i = 0; i < 50; i++) {
      const again = await junk(address);
      expectLimited(again, 3, 60);
      expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(Number(first.headers.get('retry-after')));
    }
    expect(stack.wechat.requestCount()).toBe(0);
    expect(stack.gateway.counts().requests).toBe(0);
    // Another address is asked about as usual.
    expect((await junk(ip())).body.code).toBe('invalid_code');
  });

  it('remembers a bounded number of addresses, each until its time, the least recently refused forgotten first', () => {
    const refused = new RefusedAddresses(3);
    for (const address of ['a', 'b', 'c']) refused.refuse(address, 10_000);
    expect(refused.remainingMs('a', 0)).toBe(10_000);
    refused.refuse('d', 5_000);
    // 'a' was just used: 'b' is the least recent.
    expect(['a', 'b', 'c', 'd'].map((address) => refused.remainingMs(address, 1_000))).toEqual([9_000, 0, 9_000, 4_000]);
    expect(refused.remainingMs('d', 5_000)).toBe(0);
  });
});

describe('login per account', () => {
  it('allows 2 a minute per appid and openid, then 429 with no session created', async () => {
    const person = stack.person();
    const first = await loginFrom(ip(), FOR_ACCOUNT, person);
    expect((await loginFrom(ip(), FOR_ACCOUNT, person)).status).toBe(200);
    expectLimited(await loginFrom(ip(), FOR_ACCOUNT, person), 2, 60);
    expect(await sessionsOf(first.body.user.id)).toBe(2);
    expect((await loginFrom(ip(), FOR_ACCOUNT)).status).toBe(200);
  });

  it('costs no Redis request of its own: counted inside the session write', async () => {
    stack.gateway.resetCounts();
    expect((await stack.login(stack.person(), FOR_ACCOUNT)).status).toBe(200);
    expect(stack.gateway.counts().requests).toBe(1);
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
  it('login fails closed: 503, nothing written, and a retry with a new code succeeds', async () => {
    const person = stack.person();
    stack.gateway.failCommands(['evalsha', 'eval']);
    const refused = await loginFrom(ip(), FOR_FAULTS, person);
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('service_unavailable');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await recorded(FOR_FAULTS, person)).toBe(false);

    stack.gateway.failCommands([]);
    const retry = await loginFrom(ip(), FOR_FAULTS, person);
    expect(retry.status).toBe(200);
    expect(retry.body.user.isNew).toBe(true);
    expect(await sessionsOf(retry.body.user.id)).toBe(1);
  });

  it('login fails closed when Redis is too slow, within the bound', async () => {
    stack.gateway.setDelay(2000);
    const started = Date.now();
    const refused = await loginFrom(ip(), FOR_FAULTS);
    // Correctness bound: one 1.5 s request timeout (not retried: it may have counted), far inside the 10 s budget.
    expect(Date.now() - started).toBeLessThan(4500);
    expect(refused.body.code).toBe('service_unavailable');
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
