// The request budget as a deadline passed down: once the 503 may have gone out, nothing billed
// (the phone lookup) or written (Postgres, Redis) starts. Slow steps are staged where they happen:
// WeChat's replies at the fake, Redis at the gateway, Postgres at the bridge.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { closeDatabase, query } from '../lib/platform/postgres.js';
import { REQUEST_BUDGET_MS } from '../lib/http/endpoint.js';
import type { FakeApp } from '../scripts/local/fake-wechat.js';
import { accessLog, startStack, type CallResult, type Stack } from './support/stack.js';

// The access_token lives in the shared Redis, keyed by appid: an app of this file's own, cold.
const id = randomBytes(7).toString('hex');
const APP: FakeApp = { appid: `wxd${id}`, secret: `secret-${id}`, openPlatform: false };
const PHONE = '/wxa/business/getuserphonenumber';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ apps: [APP] });
});
afterAll(() => stack.close());
afterEach(() => {
  stack.wechat.resetCounts();
  stack.gateway.setDelay(0);
  stack.bridge.setDelay(0);
});

const logLineOf = (response: CallResult) =>
  accessLog.map((line) => JSON.parse(line)).find((line) => line.requestId === response.headers.get('x-request-id'));

/** Waits until anything the request left running would have landed: past the budget, with room. */
const pastTheBudget = (started: number) => sleep(Math.max(0, started + REQUEST_BUDGET_MS + 2500 - Date.now()));

it('phone: a slow access_token refresh chain ends in a 503, with no billed lookup after it and no number bound', async () => {
  const login = await stack.login(stack.person(), APP.appid);
  expect(login.status).toBe(200);
  const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: '13912345678' });
  stack.wechat.resetCounts();
  stack.wechat.injectFaults(
    { delayMs: 1900, errcode: -1 }, // stable_token: busy after 1.9 s,
    { delayMs: 800 }, // then the token after 0.8 s;
    { delayMs: 1900, errcode: 40001 }, // the lookup: WeChat rejects that token after 1.9 s;
    { delayMs: 1900, errcode: -1 }, // the refresh, as slow as the first,
    { delayMs: 800 },
    { delayMs: 1900 }, // and the lookup would succeed (and be billed) after 1.9 s.
  );
  const started = Date.now();
  const response = await stack.call('phone', 'POST', { token: login.body.token, json: { code } });
  expect(response.status).toBe(503);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(stack.wechat.callsTo(PHONE)).toBe(1);
  await pastTheBudget(started);
  expect(stack.wechat.callsTo(PHONE)).toBe(1);
  expect(stack.wechat.billedPhoneNumbers()).toBe(0);
  const [row] = await query<{ phone_pure_number: string | null }>('select phone_pure_number from people where id = $1', [login.body.user.id]);
  expect(row!.phone_pure_number).toBeNull();
  expect(logLineOf(response)).toMatchObject({ level: 'error', status: 503 });
});

it('login: with too little budget left for the session write, none is written, then or after the 503', async () => {
  const person = stack.person();
  // Warm the limiter's scripts; then a cold connection pool, as a fresh instance has.
  expect((await stack.login(stack.person(), APP.appid)).status).toBe(200);
  await closeDatabase();
  // Each Redis request takes 1.2 s (its bound: 1.5), WeChat 1.7 s (2), the new Postgres connection
  // and the query 2.5 s each (3 and 3): the session write would start at ~7.9 s of the 9 s, with
  // 1.1 s left where its bound is 1.5 s, and land after the 503.
  stack.gateway.setDelay(1200);
  stack.bridge.setDelay(2500);
  stack.wechat.injectFaults({ delayMs: 1700 });
  const started = Date.now();
  const response = await stack.login(person, APP.appid);
  expect(response.status).toBe(503);
  expect(response.body.code).toBe('service_unavailable');
  await pastTheBudget(started);
  stack.gateway.setDelay(0);
  stack.bridge.setDelay(0);
  // The person was recorded (the code is spent), but no session exists for them.
  const [account] = await query<{ person_id: string }>('select person_id from accounts where appid = $1 and openid = $2', [
    APP.appid,
    stack.wechat.identityOf(APP.appid, person).openid,
  ]);
  expect(account).toBeDefined();
  expect(await stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${account!.person_id}`)).toBe(0);
  expect(logLineOf(response)).toMatchObject({ timeout: 'request_budget', skipped: 'session_write' });
});
