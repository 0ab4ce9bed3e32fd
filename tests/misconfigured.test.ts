// A deployment whose AppSecret WeChat rejects: a clear 500 that never shows the secret.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { accessLog, APP_A, defaultApps, startStack, type Stack } from './support/stack.js';

const WRONG_SECRET = 'wrong-secret-7f3a9c';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { WECHAT_APPS: defaultApps().map((app) => `${app.appid}:${WRONG_SECRET}`).join(',') } });
});
afterAll(() => stack.close());

it('answers 500 server_misconfigured when WeChat rejects the secret (40125), without the secret', async () => {
  const login = await stack.login(stack.person(), APP_A);
  expect(login.status).toBe(500);
  expect(login.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(login.body.code).toBe('server_misconfigured');
  expect(JSON.stringify(login.body)).not.toContain(WRONG_SECRET);
  const line = accessLog.find((entry) => entry.includes('server_misconfigured'));
  expect(line).toContain('"wechatErrcode":40125');
  expect(accessLog.join('')).not.toContain(WRONG_SECRET);
});
