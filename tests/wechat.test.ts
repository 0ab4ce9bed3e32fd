// lib/wechat/api.ts against the fake WeChat over real HTTP: parsing, retries and their bounds.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REQUEST_BUDGET_MS } from '../lib/http/endpoint.js';
import { code2Session } from '../lib/wechat/api.js';
import type { FakeApp } from '../scripts/local/fake-wechat.js';
import { APP_A, APP_C, defaultApps, startStack, type Stack } from './support/stack.js';
import { apiErrorOf } from './support/api-error.js';

let stack: Stack;
const [appA, , appC] = defaultApps();
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.wechat.resetCounts());

/** code2Session within a fresh request's budget. */
const exchange = (app: FakeApp, code: string) => code2Session({ ...app, kind: 'miniprogram' }, code, Date.now() + REQUEST_BUDGET_MS);

describe('code2Session', () => {
  it('reads a text/plain success body, with unionid for an Open Platform app', async () => {
    const person = stack.person();
    const session = await exchange(appA!, stack.wechat.issueCode(APP_A, person));
    expect(session).toEqual({
      ...stack.wechat.identityOf(APP_A, person),
      sessionKey: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
    });
  });

  it('gives unionid null for an app without an Open Platform account', async () => {
    const session = await exchange(appC!, stack.wechat.issueCode(APP_C, stack.person()));
    expect(session.unionid).toBeNull();
  });

  it.each(['busy', 'http_502', 'non_json', 'reset'] as const)('retries after %s and succeeds', async (fault) => {
    stack.wechat.injectFaults(fault);
    const session = await exchange(appA!, stack.wechat.issueCode(APP_A, stack.person()));
    expect(session.openid).toMatch(/^o/);
    expect(stack.wechat.requestCount()).toBe(2);
  });

  it('gives up on a hung attempt and retries within the budget', async () => {
    stack.wechat.injectFaults({ delayMs: 2500 });
    const session = await exchange(appA!, stack.wechat.issueCode(APP_A, stack.person()));
    expect(session.openid).toMatch(/^o/);
    expect(stack.wechat.requestCount()).toBe(2);
  });

  it('stops retrying within its total budget when WeChat keeps hanging', async () => {
    stack.wechat.injectFaults({ delayMs: 5000 }, { delayMs: 5000 }, { delayMs: 5000 });
    const started = Date.now();
    const error = await apiErrorOf(exchange(appA!, stack.wechat.issueCode(APP_A, stack.person())));
    expect(error.code).toBe('wechat_unavailable');
    expect(error.retryAfterSeconds).toBeGreaterThan(0);
    // A correctness bound (the function's 10 s budget), not a speed target.
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('never retries an invalid code', async () => {
    expect((await apiErrorOf(exchange(appA!, 'never-issued'))).code).toBe('invalid_code');
    expect(stack.wechat.requestCount()).toBe(1);
  });

  it('never retries a used code', async () => {
    const code = stack.wechat.issueCode(APP_A, stack.person());
    await exchange(appA!, code);
    stack.wechat.resetCounts();
    expect((await apiErrorOf(exchange(appA!, code))).code).toBe('code_used');
    expect(stack.wechat.requestCount()).toBe(1);
  });

  it('never retries a blocked user', async () => {
    const person = stack.person();
    stack.wechat.block(person);
    expect((await apiErrorOf(exchange(appA!, stack.wechat.issueCode(APP_A, person)))).code).toBe('user_blocked');
    expect(stack.wechat.requestCount()).toBe(1);
  });

  it('reports a code spent by an attempt whose reply was lost as unavailable, not as the client\'s fault', async () => {
    stack.wechat.injectFaults('lost_reply');
    const error = await apiErrorOf(exchange(appA!, stack.wechat.issueCode(APP_A, stack.person())));
    expect(error.code).toBe('wechat_unavailable');
    expect(stack.wechat.requestCount()).toBe(2);
  });

  it('keeps WeChat\'s request id for support, and never the code or secret, in log fields', async () => {
    const code = 'never-issued-code';
    const error = await apiErrorOf(exchange(appA!, code));
    expect(error.logFields).toEqual({ wechatErrcode: 40029, wechatRid: expect.stringMatching(/^[0-9a-f]{24}$/) });
    expect(JSON.stringify(error)).not.toContain(appA!.secret);
    expect(error.message).not.toContain(code);
  });
});
