// The kit over wx.cloud.callContainer (微信云托管), against the real service in 云托管 identity mode
// behind a recording front that plays the service's address: the same single-flight login, 401
// re-login, Retry-After waits and errors as over wx.request, with no request legal domain, and
// logins WeChat's gateway proves (no code2Session).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Kit from '../miniprogram/wxlogin/index.js';
import { ownApp, startBackend, type Backend } from './support/miniprogram-backend.js';
import { unavailable } from './support/recording-front.js';
import { createUni, createWx, miniprogramRuntime } from './support/wx-shim.js';

const KIT = new URL('../miniprogram/wxlogin/index.js', import.meta.url);
const ENV = 'prod-3f9a1c2b7d';
const SERVICE = 'wxlogin';
// The environment's owner, and a mini program of the same 主体 using it by 资源复用.
const [OWNER, REUSER] = [ownApp(), ownApp()];

let backend: Backend;
beforeAll(async () => {
  backend = await startBackend([OWNER, REUSER], { WXCLOUDRUN_IDENTITY_ENV: ENV });
});
afterAll(() => backend.close());
afterEach(() => backend.front.reset());

/** A fresh mini program of `app` with the kit configured for the 云托管 service. */
function miniProgram(app = OWNER, options: Partial<Kit.ClientOptions> = {}, person = backend.stack.person()) {
  const { stack, front } = backend;
  const api = createWx({
    appid: app.appid,
    issueCode: () => stack.wechat.issueCode(app.appid, person),
    cloud: { env: ENV, services: { [SERVICE]: front.url }, ownerAppid: OWNER.appid, user: () => stack.wechat.identityOf(app.appid, person) },
  });
  const kit = miniprogramRuntime({ wx: api }).load<typeof Kit>(KIT);
  const cloud = app === OWNER ? { env: ENV, service: SERVICE } : { env: ENV, service: SERVICE, resourceAppid: OWNER.appid };
  kit.configure({ cloud, ...options });
  return { api, kit, person };
}

describe('the kit over wx.cloud.callContainer', () => {
  it('cold start: 10 concurrent requests share one wx.login and one /api/login, which WeChat\'s gateway proves without code2Session', async () => {
    const { api, kit, person } = miniProgram();
    const wechatBefore = backend.stack.wechat.requestCount();
    const responses = await Promise.all(Array.from({ length: 10 }, () => kit.request({ url: '/api/me' })));

    expect(responses.map((response) => response.statusCode)).toEqual(Array(10).fill(200));
    expect(responses[0]!.data.user).toMatchObject({ appid: OWNER.appid, ...backend.stack.wechat.identityOf(OWNER.appid, person) });
    expect({ wxLogin: api.calls.login, apiLogin: backend.front.count('POST /api/login'), wechat: backend.stack.wechat.requestCount() - wechatBefore })
      .toEqual({ wxLogin: 1, apiLogin: 1, wechat: 0 });
    // Every call went through one initialised Cloud instance of the environment, none through wx.request.
    expect(api.calls.request).toBe(0);
    expect(api.cloud.instances).toEqual([{ resourceEnv: ENV }]);
    expect(api.cloud.calls).toHaveLength(11);
    expect(api.cloud.calls[0]).toMatchObject({ path: '/api/login', method: 'POST', config: { env: ENV }, header: { 'X-WX-SERVICE': SERVICE } });
    expect(backend.front.authorizations('GET /api/me')).toEqual(Array(10).fill(`Bearer ${kit.getToken()}`));
  });

  it('资源复用: another mini program of the 主体 calls the owner\'s environment and logs in as itself', async () => {
    const { api, kit, person } = miniProgram(REUSER);
    const me = await kit.me();
    expect(me).toMatchObject({ appid: REUSER.appid, openid: backend.stack.wechat.identityOf(REUSER.appid, person).openid });
    expect(api.cloud.instances).toEqual([{ resourceAppid: OWNER.appid, resourceEnv: ENV }]);
  });

  it('a token the server no longer accepts: one re-login, and the request succeeds', async () => {
    const { kit } = miniProgram();
    const { token: revoked } = await kit.login();
    await kit.request({ url: '/api/logout', method: 'POST' });
    expect(kit.getToken()).toBe(revoked); // request() is not logout(): the kit still holds it
    backend.front.reset();
    expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
    expect(backend.front.count('POST /api/login')).toBe(1);
    expect(backend.front.authorizations('GET /api/me')).toEqual([`Bearer ${revoked}`, `Bearer ${kit.getToken()}`]);
  });

  it('with retry enabled, waits out a Retry-After and succeeds', async () => {
    const { kit } = miniProgram(OWNER, { retry: { attempts: 1, maxWaitSeconds: 5 } });
    await kit.login();
    backend.front.answer('GET /api/me', unavailable('1'), { times: 1 });
    expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
    expect(backend.front.count('GET /api/me')).toBe(2);
  });

  it('a server error arrives as the same WxLoginError, with the server\'s code', async () => {
    const { kit } = miniProgram();
    await kit.login();
    backend.front.answer('GET /api/me', unavailable('30'), { times: 1 });
    await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ name: 'WxLoginError', code: 'service_unavailable', status: 503, retryAfter: 30 });
  });

  it('callContainer failing (WeChat\'s 102002 timeout) rejects with network_error and its errMsg', async () => {
    const { kit } = miniProgram(OWNER, { timeout: 300 });
    await kit.login();
    const release = backend.front.hold('GET /api/me');
    try {
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ name: 'WxLoginError', code: 'network_error', errMsg: expect.stringContaining('102002') });
    } finally {
      release();
    }
  });

  it('absolute URLs still go through wx.request, without the token', async () => {
    const { api, kit } = miniProgram();
    await kit.login();
    expect((await kit.request({ url: `${backend.front.url}/api/health` })).statusCode).toBe(200);
    expect(api.calls.request).toBe(1);
    expect(backend.front.authorizations('GET /api/health')).toEqual([undefined]);
  });
});

describe('configuration', () => {
  it('cloud without a service, or a platform without wx.cloud (uni-app): every call rejects with invalid_config', async () => {
    const wx = createWx({ appid: OWNER.appid, issueCode: () => 'unused' });
    const kit = miniprogramRuntime({ wx }).load<typeof Kit>(KIT);
    const noService = kit.createClient({ cloud: { env: ENV } as Kit.CloudOptions });
    await expect(noService.login()).rejects.toMatchObject({ code: 'invalid_config', detail: expect.stringMatching(/env, service/) });
    const uni = createUni({ appid: OWNER.appid, issueCode: () => 'unused' });
    const onUni = kit.createClient({ cloud: { env: ENV, service: SERVICE }, platform: uni as unknown as Kit.PlatformApi });
    await expect(onUni.me()).rejects.toMatchObject({ code: 'invalid_config', detail: expect.stringMatching(/2\.23\.0/) });
  });
});
