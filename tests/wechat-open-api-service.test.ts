// 微信云托管's 开放接口服务 (WECHAT_OPEN_API_SERVICE=1): APIs needing an access_token go to WeChat's
// sidecar without one, naming the app as from_appid; we never fetch a token (no stable_token).
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { ownApp } from './support/miniprogram-backend.js';
import { startStack, type Stack } from './support/stack.js';

const [APP, OTHER] = [ownApp(), ownApp()];
const PHONE = '/wxa/business/getuserphonenumber';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ apps: [APP, OTHER], env: { WECHAT_OPEN_API_SERVICE: '1' } });
  // Read on first use, which comes later: the sidecar stand-in lives in this file's fake WeChat.
  process.env.WECHAT_OPEN_API_BASE = stack.wechat.openApiServiceUrl;
});
afterAll(() => stack.close());
beforeEach(() => stack.wechat.resetCounts());

it('binds a phone number through the sidecar, as the app the session belongs to, with no stable_token', async () => {
  for (const app of [APP, OTHER]) {
    const { token } = (await stack.login(stack.person(), app.appid)).body;
    const bound = await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(app.appid) } });
    expect(bound.status).toBe(200);
  }
  expect(stack.wechat.openApiServiceCalls()).toBe(2);
  expect(stack.wechat.callsTo(PHONE)).toBe(2);
  expect(stack.wechat.phoneRequests().map((request) => request.appid)).toEqual([APP.appid, OTHER.appid]);
  expect(stack.wechat.callsTo('/cgi-bin/stable_token')).toBe(0);
});

it('login\'s code2Session still goes to WeChat directly: it needs no access_token', async () => {
  expect((await stack.login(stack.person(), APP.appid)).status).toBe(200);
  expect(stack.wechat.callsTo('/sns/jscode2session')).toBe(1);
  expect(stack.wechat.openApiServiceCalls()).toBe(0);
});
