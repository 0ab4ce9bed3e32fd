// The performance contract, counted where the traffic goes: WeChat at the fake, Postgres at the
// bridge (Sync/Query messages), Redis at the Upstash gateway (HTTP requests). Rate limiting adds
// one Redis request to login (before WeChat) and rides along with the session read of /me.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_A, APP_B, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
  // Warm the pool and the limiter's scripts: connection setup and the first EVALSHA miss are not the contract.
  await stack.login(stack.person());
});
afterAll(() => stack.close());

async function counted(work: () => Promise<unknown>) {
  stack.wechat.resetCounts();
  stack.bridge.resetCounts();
  stack.gateway.resetCounts();
  await work();
  return { wechat: stack.wechat.requestCount(), postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests };
}

async function redisCommands(work: () => Promise<unknown>) {
  stack.gateway.resetCounts();
  await work();
  return stack.gateway.counts().byCommand;
}

it('login: 1 WeChat call + 1 Postgres round trip + 3 Redis requests, new or returning, any app', async () => {
  // Redis: the per-app (and per-IP) limits before WeChat; the per-user limit, sent alongside the
  // Postgres round trip; the session write.
  const person = stack.person();
  expect(await counted(() => stack.login(person, APP_A))).toEqual({ wechat: 1, postgres: 1, redis: 3 });
  expect(await counted(() => stack.login(person, APP_A))).toEqual({ wechat: 1, postgres: 1, redis: 3 });
  expect(await counted(() => stack.login(person, APP_B))).toEqual({ wechat: 1, postgres: 1, redis: 3 });
  expect(await redisCommands(() => stack.login(person, APP_B))).toEqual({ evalsha: 2, eval: 1 });
});

it('/me: the per-session rate limit and the session read share one Redis request', async () => {
  const { token } = (await stack.login(stack.person())).body;
  expect(await redisCommands(() => stack.call('me', 'GET', { token }))).toEqual({ evalsha: 1, eval: 1 });
});

it('/me: 1 Redis round trip, no Postgres; logout and logout-all: 1 Redis round trip', async () => {
  const { token } = (await stack.login(stack.person())).body;
  expect(await counted(() => stack.call('me', 'GET', { token }))).toEqual({ wechat: 0, postgres: 0, redis: 1 });
  const other = (await stack.login(stack.person())).body.token;
  expect(await counted(() => stack.call('logout', 'POST', { token }))).toEqual({ wechat: 0, postgres: 0, redis: 1 });
  expect(await counted(() => stack.call('logout', 'POST', { token: other, json: { all: true } }))).toEqual({
    wechat: 0,
    postgres: 0,
    redis: 1,
  });
});

it('bad input costs no round trip at all', async () => {
  expect(await counted(() => stack.call('login', 'POST', { json: { code: '' } }))).toEqual({ wechat: 0, postgres: 0, redis: 0 });
  expect(await counted(() => stack.call('me', 'GET', { token: 'nope' }))).toEqual({ wechat: 0, postgres: 0, redis: 0 });
});
