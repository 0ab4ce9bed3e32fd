// Every documented error: its status, stable code, problem+json shape and headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_A, startStack, type CallResult, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  // WeChat's own per-user limit (45011) is under test: our per-account limit would answer first.
  stack = await startStack({ env: { RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off' } });
});
afterAll(() => stack.close());

function expectProblem(result: CallResult, status: number, code: string) {
  expect(result.status).toBe(status);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(result.headers.get('cache-control')).toBe('no-store');
  expect(result.body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, code });
  expect(result.body.requestId).toBe(result.headers.get('x-request-id'));
  for (const key of Object.keys(result.body)) {
    expect(['type', 'title', 'status', 'code', 'detail', 'requestId']).toContain(key);
  }
  expect(JSON.stringify(result.body)).not.toMatch(/at .+\.(ts|js):\d+/);
}

const loginWith = (init: Parameters<Stack['call']>[2]) => stack.call('login', 'POST', init);

describe('400 invalid_request', () => {
  it.each([
    ['no body', { body: '', headers: { 'content-type': 'application/json' } }],
    ['broken JSON', { body: '{"code": ', headers: { 'content-type': 'application/json' } }],
    ['a JSON array', { json: ['abc'] }],
    ['a JSON string', { json: 'abc' }],
    ['null', { json: null }],
    ['missing code', { json: { appid: APP_A } }],
    ['empty code', { json: { code: '', appid: APP_A } }],
    ['a number code', { json: { code: 12345, appid: APP_A } }],
    ['an object code', { json: { code: { $ne: '' }, appid: APP_A } }],
    ['an oversized code', { json: { code: 'a'.repeat(129), appid: APP_A } }],
    ['an odd code', { json: { code: 'abc\u0000def', appid: APP_A } }],
    ['a code with spaces', { json: { code: 'abc def', appid: APP_A } }],
    ['an unknown field', { json: { code: 'abc', appid: APP_A, openid: 'forged' } }],
    ['a __proto__ field', { body: `{"code":"abc","appid":"${APP_A}","__proto__":{"x":1}}`, headers: { 'content-type': 'application/json' } }],
    ['a number appid', { json: { code: 'abc', appid: 42 } }],
    ['invalid UTF-8', { body: new Uint8Array([0x7b, 0x22, 0x63, 0xff, 0xfe, 0x22, 0x7d]), headers: { 'content-type': 'application/json' } }],
  ])('login with %s', async (_, init) => {
    const before = stack.wechat.requestCount();
    expectProblem(await loginWith(init), 400, 'invalid_request');
    expect(stack.wechat.requestCount()).toBe(before);
  });

  it('logout with a non-boolean "all" or unknown fields, leaving the session alive', async () => {
    const { token } = (await stack.login(stack.person())).body;
    expectProblem(await stack.call('logout', 'POST', { token, json: { all: 'yes' } }), 400, 'invalid_request');
    expectProblem(await stack.call('logout', 'POST', { token, json: { everything: true } }), 400, 'invalid_request');
    expect((await stack.call('me', 'GET', { token })).status).toBe(200);
  });
});

describe('415, 413, 405', () => {
  it('415 unsupported_media_type for a body that is not JSON', async () => {
    const result = await loginWith({ body: 'code=abc', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(result, 415, 'unsupported_media_type');
    expectProblem(await loginWith({ body: '{"code":"abc"}' }), 415, 'unsupported_media_type');
  });

  it('413 payload_too_large for bodies over 4 KB, declared or streamed', async () => {
    const big = JSON.stringify({ code: 'abc', appid: APP_A, pad: 'x'.repeat(5000) });
    expectProblem(await loginWith({ body: big, headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
    const streamed = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        controller.close();
      },
    });
    const response = await (await import('../api/login.js')).default.fetch(
      new Request('http://localhost/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: streamed,
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(413);
  });

  it.each([
    ['login', 'GET', 'POST'],
    ['login', 'PUT', 'POST'],
    ['me', 'POST', 'GET, DELETE'],
    ['me', 'PUT', 'GET, DELETE'],
    ['logout', 'GET', 'POST'],
  ])('405 method_not_allowed: %s %s', async (name, method, allow) => {
    const result = await stack.call(name, method);
    expectProblem(result, 405, 'method_not_allowed');
    expect(result.headers.get('allow')).toBe(allow);
  });
});

describe('401 unauthorized', () => {
  it.each([
    ['no Authorization header', {}],
    ['a Basic credential', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['a malformed token', { authorization: 'Bearer not-a-token' }],
    ['an unknown well-formed token', { authorization: `Bearer wxl_${'A'.repeat(43)}` }],
  ])('/me and /logout with %s', async (_, headers) => {
    for (const [name, method] of [['me', 'GET'], ['logout', 'POST']] as const) {
      const result = await stack.call(name, method, { headers });
      expectProblem(result, 401, 'unauthorized');
      expect(result.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });
});

describe('WeChat answers', () => {
  it('400 invalid_code for a code WeChat does not know (40029)', async () => {
    expectProblem(await loginWith({ json: { code: 'neverissued', appid: APP_A } }), 400, 'invalid_code');
  });

  it('400 code_used for a code used before (40163), and no second session', async () => {
    const code = stack.wechat.issueCode(APP_A, stack.person());
    expect((await loginWith({ json: { code, appid: APP_A } })).status).toBe(200);
    expectProblem(await loginWith({ json: { code, appid: APP_A } }), 400, 'code_used');
  });

  it('403 user_blocked for a high-risk user (40226)', async () => {
    const person = stack.person();
    stack.wechat.block(person);
    expectProblem(await stack.login(person), 403, 'user_blocked');
  });

  it('429 wechat_rate_limited with Retry-After once a user passes 100 calls a minute (45011)', async () => {
    const person = stack.person();
    const codes = Array.from({ length: 101 }, () => stack.wechat.issueCode(APP_A, person));
    const results = [];
    for (const code of codes) results.push(await loginWith({ json: { code, appid: APP_A } }));
    expect(results.slice(0, 100).every((result) => result.status === 200)).toBe(true);
    const limited = results[100]!;
    expectProblem(limited, 429, 'wechat_rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('503 wechat_unavailable with Retry-After when WeChat stays busy (-1) through every retry', async () => {
    stack.wechat.resetCounts();
    stack.wechat.injectFaults('busy', 'busy', 'busy', 'busy');
    const result = await stack.login(stack.person());
    expectProblem(result, 503, 'wechat_unavailable');
    expect(Number(result.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(stack.wechat.requestCount()).toBeGreaterThanOrEqual(2);
    expect(stack.wechat.requestCount()).toBeLessThanOrEqual(4);
  });
});
