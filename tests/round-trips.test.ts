// The performance contract, counted where the traffic goes: WeChat at the fake, Postgres at the
// bridge (Sync/Query messages), Redis at the Upstash gateway (HTTP requests). Login's critical path
// is WeChat → Postgres → Redis; the client address's limit travels alongside WeChat, the account's
// limit inside the session write, and /me's limit inside its session read.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_A, APP_B, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { TRUST_PROXY_HEADERS: '1' } });
  // Warm the pool and the scripts (the client address's limit too): connection setup and the
  // first NOSCRIPT are not the contract.
  for (const json of [undefined, { all: true }]) {
    const { token } = (await loginFrom(stack.person(), APP_A, '203.0.113.7')).body;
    await stack.call('me', 'GET', { token });
    await stack.call('logout', 'POST', { token, json });
  }
});
afterAll(() => {
  stack.wechat.setLatency(0);
  return stack.close();
});

async function counted(work: () => Promise<unknown>) {
  stack.wechat.resetCounts();
  stack.bridge.resetCounts();
  stack.gateway.resetCounts();
  await work();
  return { wechat: stack.wechat.requestCount(), postgres: stack.bridge.roundTrips(), redis: stack.gateway.counts().requests };
}

const loginFrom = (person: string, appid: string, address?: string) =>
  stack.call('login', 'POST', {
    json: { code: stack.wechat.issueCode(appid, person), appid },
    headers: address ? { 'x-forwarded-for': address } : {},
  });

it('login: 1 WeChat call + 1 Postgres round trip + 1 Redis request, new or returning, any app', async () => {
  const person = stack.person();
  expect(await counted(() => loginFrom(person, APP_A))).toEqual({ wechat: 1, postgres: 1, redis: 1 });
  expect(await counted(() => loginFrom(person, APP_A))).toEqual({ wechat: 1, postgres: 1, redis: 1 });
  expect(await counted(() => loginFrom(person, APP_B))).toEqual({ wechat: 1, postgres: 1, redis: 1 });
});

it('login with a trusted client address: its limit is one more Redis request, sent alongside WeChat', async () => {
  expect(await counted(() => loginFrom(stack.person(), APP_A, '203.0.113.7'))).toEqual({ wechat: 1, postgres: 1, redis: 2 });
  stack.gateway.resetCounts();
  // Slow, but inside the 2 s a WeChat attempt may take.
  stack.wechat.setLatency(1000);
  try {
    let answered = false;
    const login = loginFrom(stack.person(), APP_A, '203.0.113.7').then((result) => {
      answered = true;
      return result;
    });
    // The limit is counted while WeChat is still thinking: it does not wait for WeChat, nor WeChat for it.
    const waitUntil = Date.now() + 900;
    while (stack.gateway.counts().requests === 0 && Date.now() < waitUntil) await new Promise((resolve) => setTimeout(resolve, 10));
    expect([stack.gateway.counts().requests, answered]).toEqual([1, false]);
    expect((await login).status).toBe(200);
  } finally {
    stack.wechat.setLatency(0);
  }
});

it('/me: 1 Redis request, rate limit included, no Postgres; logout and logout-all: 1 Redis request', async () => {
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
