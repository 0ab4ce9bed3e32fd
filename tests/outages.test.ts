// Redis and Postgres really stopped or slowed (the gateway and the bridge go down), then back:
// a clear 503 in bounded time, and a retried login that succeeds with no duplicate person.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { APP_A, startStack, type CallResult, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
afterEach(async () => {
  stack.gateway.setDelay(0);
  stack.bridge.setDelay(0);
});

function expectUnavailable(result: CallResult) {
  expect(result.status).toBe(503);
  expect(result.body.code).toBe('service_unavailable');
  expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

const usersOf = async (person: string) =>
  query<{ person_id: string }>('select person_id from accounts where appid = $1 and openid = $2', [
    APP_A,
    stack.wechat.identityOf(APP_A, person).openid,
  ]);

describe('Redis unreachable', () => {
  it('login: 503, then a retry succeeds as the same person', async () => {
    const person = stack.person();
    await stack.gateway.stop();
    try {
      expectUnavailable(await stack.login(person));
    } finally {
      await stack.gateway.start();
    }
    const retry = await stack.login(person);
    expect(retry.status).toBe(200);
    expect((await stack.call('me', 'GET', { token: retry.body.token })).status).toBe(200);
    expect(await usersOf(person)).toEqual([{ person_id: retry.body.user.id }]);
  });

  it('/me and logout: 503, not 401, and the token still works afterwards', async () => {
    const { token } = (await stack.login(stack.person())).body;
    await stack.gateway.stop();
    try {
      expectUnavailable(await stack.call('me', 'GET', { token }));
      expectUnavailable(await stack.call('logout', 'POST', { token }));
    } finally {
      await stack.gateway.start();
    }
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
  });

  it('slow Redis: 503 within the bound, then normal service', async () => {
    const { token } = (await stack.login(stack.person())).body;
    stack.gateway.setDelay(5000);
    const [result, elapsed] = await timed(() => stack.call('me', 'GET', { token }));
    expectUnavailable(result);
    // Correctness bound: two 1.5 s attempts, far inside the 10 s function budget.
    expect(elapsed).toBeLessThan(4500);
    stack.gateway.setDelay(0);
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
  });
});

describe('Postgres unreachable', () => {
  it('login: 503, then a retry with a new code succeeds, one person', async () => {
    const person = stack.person();
    await stack.bridge.stop();
    try {
      expectUnavailable(await stack.login(person));
    } finally {
      await stack.bridge.start();
    }
    const retry = await stack.login(person);
    expect(retry.status).toBe(200);
    expect(retry.body.user.isNew).toBe(true);
    expect(await usersOf(person)).toHaveLength(1);
  });

  it('/me keeps working without Postgres', async () => {
    const { token } = (await stack.login(stack.person())).body;
    await stack.bridge.stop();
    try {
      expect((await stack.call('me', 'GET', { token })).status).toBe(200);
    } finally {
      await stack.bridge.start();
    }
  });

  it('slow Postgres: 503 within the bound, then normal service, no duplicate person', async () => {
    const person = stack.person();
    stack.bridge.setDelay(5000);
    const [result, elapsed] = await timed(() => stack.login(person));
    expectUnavailable(result);
    expect(elapsed).toBeLessThan(7000);
    stack.bridge.setDelay(0);
    const retry = await stack.login(person);
    expect(retry.status).toBe(200);
    expect(await usersOf(person)).toHaveLength(1);
  });
});
