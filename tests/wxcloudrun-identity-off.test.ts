// Without WXCLOUDRUN_IDENTITY_ENV (the default), X-WX-* headers mean nothing: anyone can send them
// to a public address, so the person is always the one WeChat's code2Session names.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_A, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

it('forged gateway headers are ignored: the code\'s person logs in, through code2Session', async () => {
  const [victim, caller] = [stack.person(), stack.person()];
  const forged = {
    'x-wx-source': 'wx_client',
    'x-wx-env': 'prod-0a1b2c3d4e5f',
    'x-wx-appid': APP_A,
    'x-wx-openid': stack.wechat.identityOf(APP_A, victim).openid,
  };
  const before = stack.wechat.requestCount();
  const login = await stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(APP_A, caller), appid: APP_A }, headers: forged });
  expect(login.status).toBe(200);
  expect(stack.wechat.requestCount() - before).toBe(1);
  const me = await stack.call('me', 'GET', { token: login.body.token });
  expect(me.body.user.openid).toBe(stack.wechat.identityOf(APP_A, caller).openid);
});

it('and a login with them but no code is a malformed request', async () => {
  const login = await stack.call('login', 'POST', { json: { appid: APP_A }, headers: { 'x-wx-source': 'wx_client', 'x-wx-openid': 'oForged' } });
  expect(login.status).toBe(400);
  expect(login.body.code).toBe('invalid_request');
});
