// Faults at the endpoint level, with the real services failing (no mocks of our code): every
// WeChat failure mode through its retries, a session write refused after WeChat and Postgres said
// yes, and the health check. Each fault gives its documented answer within the function budget,
// and the next login with a fresh code succeeds with one person and no orphan session.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { endpoint, REQUEST_BUDGET_MS } from '../lib/http/endpoint.js';
import type { Fault } from '../scripts/local/fake-wechat.js';
import { accessLog, APP_A, defaultApps, leakedCredentials, startStack, type CallResult, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
afterEach(() => {
  stack.wechat.resetCounts();
  stack.gateway.failCommands([]);
  stack.gateway.setDelay(0);
  stack.bridge.setDelay(0);
});

/** The function's maxDuration (vercel.json): no request may come near it. */
const FUNCTION_BUDGET_MS = 1000 * JSON.parse(readFileSync(new URL('../vercel.json', import.meta.url), 'utf8')).functions['api/**/*.ts'].maxDuration;

async function timed(work: () => Promise<CallResult>): Promise<[CallResult, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

async function accountsOf(person: string) {
  return query<{ person_id: string }>('select person_id from accounts where appid = $1 and openid = $2', [
    APP_A,
    stack.wechat.identityOf(APP_A, person).openid,
  ]);
}

/** A clean retry: 200, one account, and only the retry's session in the owner's index. */
/** `lateWrites`: session writes of the failed attempt that may still land (a slow Redis recovering). */
async function expectCleanRetry(person: string, lateWrites = 0) {
  const retry = await stack.login(person);
  expect(retry.status).toBe(200);
  const accounts = await accountsOf(person);
  expect(accounts).toEqual([{ person_id: retry.body.user.id }]);
  const sessions = await stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${retry.body.user.id}`);
  expect(sessions).toBeGreaterThanOrEqual(1);
  expect(sessions).toBeLessThanOrEqual(1 + lateWrites);
  expect((await stack.call('me', 'GET', { token: retry.body.token })).status).toBe(200);
  return retry;
}

describe('WeChat failing on every attempt', () => {
  const cases: [string, Fault[]][] = [
    ['system busy (-1)', Array(4).fill('busy')],
    ['HTTP 502', Array(4).fill('http_502')],
    ['a non-JSON body', Array(4).fill('non_json')],
    ['connection reset', Array(4).fill('reset')],
    ['hanging past the attempt timeout', [{ delayMs: 2500 }, { delayMs: 2500 }]],
    ['a reply lost after the code was spent', ['lost_reply']],
  ];

  it.each(cases)('%s: 503 wechat_unavailable with Retry-After in bounded time, then a clean retry', async (_, faults) => {
    const person = stack.person();
    stack.wechat.injectFaults(...faults);
    const [result, elapsed] = await timed(() => stack.login(person));
    expect(result.status).toBe(503);
    expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(result.body.code).toBe('wechat_unavailable');
    expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(FUNCTION_BUDGET_MS / 2);
    expect(await accountsOf(person)).toEqual([]);
    stack.wechat.resetCounts();
    const retry = await expectCleanRetry(person);
    expect(retry.body.user.isNew).toBe(true);
  });
});

describe('Redis refusing the session write after WeChat and Postgres succeeded', () => {
  it('503, and the retry is the same person with exactly one session', async () => {
    const person = stack.person();
    stack.gateway.failCommands(['evalsha', 'eval']);
    const failed = await stack.login(person);
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('service_unavailable');
    stack.gateway.failCommands([]);
    const firstAttempt = await accountsOf(person);
    expect(firstAttempt).toHaveLength(1);
    const retry = await expectCleanRetry(person);
    expect(retry.body.user.id).toBe(firstAttempt[0]!.person_id);
  });
});

describe('Redis and Postgres slow during login', () => {
  it('slow Redis: 503 within the budget, then a clean retry', async () => {
    const person = stack.person();
    stack.gateway.setDelay(5000);
    const [result, elapsed] = await timed(() => stack.login(person));
    expect(result.body.code).toBe('service_unavailable');
    expect(elapsed).toBeLessThan(FUNCTION_BUDGET_MS / 2);
    stack.gateway.setDelay(0);
    // The 503's session write was sent: a Redis that recovers runs it (its token was never handed out).
    await expectCleanRetry(person, 1);
  });
});

describe('Redis slow during logout', () => {
  it('503 within the budget; a retried logout ends the session either way', async () => {
    const { token } = (await stack.login(stack.person())).body;
    stack.gateway.setDelay(5000);
    const [result, elapsed] = await timed(() => stack.call('logout', 'POST', { token }));
    expect(result.body.code).toBe('service_unavailable');
    expect(elapsed).toBeLessThan(FUNCTION_BUDGET_MS / 2);
    stack.gateway.setDelay(0);
    // The slow DEL may still land later: 204 now, or 401 if it already did. Either way it is over.
    expect([204, 401]).toContain((await stack.call('logout', 'POST', { token })).status);
    expect((await stack.call('me', 'GET', { token })).status).toBe(401);
  });
});

describe('the request budget', () => {
  it('sits under vercel.json maxDuration, leaving time to answer', () => {
    expect(FUNCTION_BUDGET_MS).toBe(10_000);
    expect(REQUEST_BUDGET_MS).toBeLessThanOrEqual(FUNCTION_BUDGET_MS - 1000);
  });

  it('turns a handler that outlives it into a 503 problem with Retry-After', async () => {
    const hung = endpoint('/api/hung', { GET: () => new Promise<Response>(() => {}) }, { budgetMs: 50 });
    const response = await hung.fetch(new Request('http://localhost/api/hung'));
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({ code: 'service_unavailable' });
    expect(JSON.parse(accessLog.at(-1)!)).toMatchObject({ route: '/api/hung', status: 503, timeout: 'request_budget' });
  });
});

describe('GET /api/health', () => {
  /** Past the second for which an instance answers its last result. */
  const nextWindow = () => sleep(1100);

  it('200 with each dependency ok', async () => {
    const health = await stack.call('health', 'GET');
    expect(health.status).toBe(200);
    expect(health.headers.get('cache-control')).toBe('no-store');
    expect(health.body).toEqual({
      status: 'ok',
      checks: { redis: { status: 'ok', durationMs: expect.any(Number) }, postgres: { status: 'ok', durationMs: expect.any(Number) } },
    });
  });

  const secretsOf = () => [
    process.env.DATABASE_URL!,
    process.env.UPSTASH_REDIS_REST_TOKEN!,
    process.env.UPSTASH_REDIS_REST_URL!,
    stack.bridge.address,
  ];

  it.each([
    ['redis', () => stack.gateway.stop(), () => stack.gateway.start()],
    ['postgres', () => stack.bridge.stop(), () => stack.bridge.start()],
  ] as const)('503 naming %s when it is down, without addresses or secrets, within 2.5 s', async (name, stop, start) => {
    await stop();
    let result: CallResult;
    let elapsed: number;
    try {
      await nextWindow();
      [result, elapsed] = await timed(() => stack.call('health', 'GET'));
    } finally {
      await start();
    }
    expect(result.status).toBe(503);
    expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(result.body).toMatchObject({ code: 'service_unavailable', detail: `Unavailable: ${name}` });
    expect(result.body.checks[name].status).toBe('unavailable');
    expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(2500);
    const text = JSON.stringify(result.body);
    for (const secret of secretsOf()) expect(text).not.toContain(secret);
    await nextWindow();
    expect((await stack.call('health', 'GET')).status).toBe(200);
  });

  it('answers a flood from one check per second: one Postgres query and one Redis ping', async () => {
    await nextWindow();
    stack.bridge.resetCounts();
    stack.gateway.resetCounts();
    const flood = await Promise.all(Array.from({ length: 20 }, () => stack.call('health', 'GET')));
    for (let i = 0; i < 10; i++) flood.push(await stack.call('health', 'GET'));
    expect(flood.map((result) => result.status)).toEqual(Array(30).fill(200));
    expect({ postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests }).toEqual({ postgres: 1, redis: 1 });
    await nextWindow();
    expect((await stack.call('health', 'GET')).status).toBe(200);
    expect({ postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests }).toEqual({ postgres: 2, redis: 2 });
  });

  it('answers within its bound when Redis hangs', async () => {
    stack.gateway.setDelay(5000);
    await nextWindow();
    const [result, elapsed] = await timed(() => stack.call('health', 'GET'));
    expect(result.body.detail).toBe('Unavailable: redis');
    expect(elapsed).toBeLessThan(2500);
  });
});

describe('access log', () => {
  it('the suite-wide check catches a credential in the log, raw or base64', () => {
    const secret = defaultApps()[0]!.secret;
    expect(leakedCredentials()).toEqual([]);
    for (const planted of [secret, Buffer.from(secret).toString('base64')]) {
      accessLog.push(`{"level":"info","planted":"${planted}"}\n`);
      expect(leakedCredentials()).toEqual([secret]);
      accessLog.pop();
    }
    const code = stack.wechat.issueCode(APP_A, stack.person());
    accessLog.push(`{"level":"info","planted":"${code}"}\n`);
    expect(leakedCredentials(stack.wechat.credentialsHandedOut())).toEqual([code]);
    accessLog.pop();
  });

  it('names a session by a salted hash: the same across its requests, never the token or its store key', async () => {
    const before = accessLog.length;
    const login = await stack.login(stack.person());
    const { token } = login.body;
    await stack.call('me', 'GET', { token });
    await stack.call('logout', 'POST', { token });
    await stack.login(stack.person());
    const entries = accessLog.slice(before).map((line) => JSON.parse(line));
    const [loginLine, meLine, logoutLine, otherLine] = entries;
    expect(loginLine.session).toMatch(/^[0-9a-f]{16}$/);
    expect(meLine.session).toBe(loginLine.session);
    expect(logoutLine.session).toBe(loginLine.session);
    expect(otherLine.session).not.toBe(loginLine.session);
    const storeKey = createHash('sha256').update(token).digest('hex');
    expect(storeKey).not.toContain(loginLine.session);
    expect(accessLog.join('')).not.toContain(storeKey.slice(0, 16));
    expect(Object.keys(meLine).sort()).toEqual(
      ['appid', 'durationMs', 'level', 'method', 'requestId', 'route', 'session', 'status', 'personId', 'time'].sort(),
    );
  });
});
