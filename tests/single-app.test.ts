// Deployments with one mini program, and one whose secret WeChat rejects.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_A, APP_C, defaultApps, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  const [appA, , appC] = defaultApps();
  stack = await startStack({
    apps: [appA!, appC!],
    // APP_C is configured with a secret WeChat does not accept.
    env: { WECHAT_APPID: APP_A, WECHAT_SECRET: appA!.secret, WECHAT_APPS: '' },
  });
});
afterAll(() => stack.close());

it('uses the only configured app when neither body nor Referer names one', async () => {
  const person = stack.person();
  const login = await stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(APP_A, person) } });
  expect(login.status).toBe(200);
  const me = await stack.call('me', 'GET', { token: login.body.token });
  expect(me.body.user).toMatchObject({ appid: APP_A, openid: stack.wechat.identityOf(APP_A, person).openid });
});

it('still refuses an appid it does not serve', async () => {
  const login = await stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(APP_C, 'x'), appid: APP_C } });
  expect(login.status).toBe(400);
  expect(login.body.code).toBe('unknown_app');
});
