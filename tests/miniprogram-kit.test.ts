// The mini program kit (miniprogram/wxlogin/index.js), run as a mini program runs it, against the
// real local service over real HTTP, under wx, uni-app's uni and Taro (shims of each platform's
// documented API). A recording front sits between the kit and the service: it counts requests
// per route and, where a test asks, answers in the service's place.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'acorn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type * as Kit from '../miniprogram/wxlogin/index.js';
import { catalog } from '../lib/platform/errors.js';
import { ownApp, startBackend, type Backend } from './support/miniprogram-backend.js';
import { problem, startFront, unauthorized, unavailable, type Front } from './support/recording-front.js';
import { createWx, miniprogramRuntime, platforms, type Platform, type PlatformName, type RuntimeOptions } from './support/wx-shim.js';

const KIT = new URL('../miniprogram/wxlogin/index.js', import.meta.url);

const APP = ownApp();

let backend: Backend;
let stack: Backend['stack'];
let service: Backend['service'];
let front: Backend['front'];
/** Another server the mini program calls: not the wxlogin backend. */
let thirdParty: Front;

beforeAll(async () => {
  backend = await startBackend([APP]);
  ({ stack, service, front } = backend);
  thirdParty = await startFront(service.url);
});
afterAll(async () => {
  await thirdParty.close();
  await backend.close();
});
afterEach(() => {
  front.reset();
  thirdParty.reset();
});

/**
 * Mini programs on one platform: `miniProgram()` is a fresh one (its own storage and login, for
 * `person`) with the kit loaded and configured; `relaunch()` opens it again on the same storage.
 * On wx the kit finds the global; on uni and Taro it is given the platform, as apps do.
 */
function on(name: PlatformName) {
  const { create, global } = platforms[name];
  const load = (api: Platform, options: Partial<Kit.ClientOptions>, device: RuntimeOptions) => {
    const kit = miniprogramRuntime(global ? { [global]: api } : {}, device).load<typeof Kit>(KIT);
    kit.configure({ baseUrl: front.url, ...(global === 'wx' ? {} : { platform: api }), ...options });
    return kit;
  };
  return {
    miniProgram(person = stack.person(), options: Partial<Kit.ClientOptions> = {}, device: RuntimeOptions = {}) {
      const api = create({ appid: APP.appid, issueCode: () => stack.wechat.issueCode(APP.appid, person) });
      return { api, kit: load(api, options, device), person };
    },
    relaunch: (api: Platform, options: Partial<Kit.ClientOptions> = {}, device: RuntimeOptions = {}) => load(api, options, device),
  };
}

/** Logins seen at WeChat since `start`, and /api/login calls seen at the front since its last reset. */
function loginsSince(start: { wechat: number }) {
  return { wechat: stack.wechat.requestCount() - start.wechat, api: front.count('POST /api/login') };
}

/** A fresh mainland number nobody else in this run uses. */
const newNumber = () => `139${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rawCall(method: string, path: string, token: string) {
  const response = await fetch(`${service.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

describe.each(['wx', 'uni', 'Taro'] as const)('the kit under %s', (platform) => {
  const { miniProgram, relaunch } = on(platform);

  describe('login', () => {
    it('cold start: 10 concurrent requests make exactly one wx.login and one /api/login, and all succeed', async () => {
      const { api, kit, person } = miniProgram();
      const start = { wechat: stack.wechat.requestCount() };
      const responses = await Promise.all(Array.from({ length: 10 }, () => kit.request({ url: '/api/me' })));

      expect(api.calls.login).toBe(1);
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
      expect(front.count('GET /api/me')).toBe(10);
      const openid = stack.wechat.identityOf(APP.appid, person).openid;
      for (const response of responses) {
        expect(response.statusCode).toBe(200);
        expect(response.data.user).toMatchObject({ appid: APP.appid, openid });
      }
      // Every request carried the stored token as a Bearer credential.
      const token = kit.getToken();
      expect(token).toMatch(/^wxl_/);
      expect(front.authorizations('GET /api/me')).toEqual(Array(10).fill(`Bearer ${token}`));
      expect(api.getStorageSync('wxlogin:session')).toEqual({ token, expiresAt: expect.any(String), clockOffset: expect.any(Number) });
    });

    it('login() resolves with the server answer and sends the appid from wx.getAccountInfoSync()', async () => {
      const { kit } = miniProgram();
      const result = await kit.login();
      expect(result).toEqual({ token: expect.stringMatching(/^wxl_/), expiresAt: expect.any(String), user: { id: expect.any(String), isNew: true } });
      expect(kit.getToken()).toBe(result.token);
      expect(front.bodies('POST /api/login')).toEqual([{ code: expect.any(String), appid: APP.appid }]);
    });

    it('a later app launch reuses the stored token without logging in', async () => {
      const first = miniProgram();
      await first.kit.login();
      const relaunched = relaunch(first.api);
      front.reset();
      expect((await relaunched.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(front.count('POST /api/login')).toBe(0);
    });
  });

  describe('the token goes only to the backend', () => {
    it('a URL on another origin gets no token, and needs no login', async () => {
      const { api, kit } = miniProgram();
      expect((await kit.request({ url: `${thirdParty.url}/api/health` })).statusCode).toBe(200);
      expect(api.calls.login).toBe(0);
      await kit.login();
      await kit.request({ url: `${thirdParty.url}/api/health` });
      expect(thirdParty.authorizations('GET /api/health')).toEqual([undefined, undefined]);
    });

    it('on the backend\'s origin, only paths under baseUrl get it: not a sibling prefix, not a way out through ..', async () => {
      const first = miniProgram();
      const { token } = await first.kit.login();
      // The same device storage, the backend mounted under /svc on the same origin.
      const kit = relaunch(first.api, { baseUrl: `${front.url}/svc` });
      for (const url of [`${front.url}/svc-other/api/me`, `${front.url}/svc/../api/me`, `${front.url}/svc/%2e%2e/api/me`]) {
        await kit.request({ url }).catch(() => undefined);
      }
      await expect(kit.request({ url: `${front.url}/svc/api/me` })).rejects.toMatchObject({ code: 'not_found' });
      expect([front.authorizations('GET /svc-other/api/me'), front.authorizations('GET /api/me'), front.authorizations('GET /svc/api/me')]).toEqual([
        [undefined],
        [undefined, undefined],
        [`Bearer ${token}`],
      ]);
    });

    it('origins the app names in trustedOrigins get it too', async () => {
      const { kit } = miniProgram(undefined, { trustedOrigins: [thirdParty.url] });
      const { token } = await kit.login();
      await kit.request({ url: `${thirdParty.url}/api/me` });
      expect(thirdParty.authorizations('GET /api/me')).toEqual([`Bearer ${token}`]);
    });
  });

  describe('storage that throws', () => {
    it('setStorageSync failing (storage full): the token lives in memory, and one login serves every later request', async () => {
      const { api, kit } = miniProgram();
      api.faults.setStorage = true;
      const start = { wechat: stack.wechat.requestCount() };
      const { token } = await kit.login();
      for (let i = 0; i < 3; i += 1) expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
      expect(front.authorizations('GET /api/me')).toEqual(Array(3).fill(`Bearer ${token}`));
      expect(kit.getToken()).toBe(token);
    });

    it('getStorageSync failing: request() still returns a promise, logs in once and succeeds', async () => {
      const { api, kit } = miniProgram();
      api.faults.getStorage = true;
      expect(kit.getToken()).toBeNull();
      let first: Promise<unknown> | undefined;
      expect(() => (first = kit.request({ url: '/api/me' }))).not.toThrow();
      await expect(first).resolves.toMatchObject({ statusCode: 200 });
      await kit.request({ url: '/api/me' });
      expect(front.count('POST /api/login')).toBe(1);
    });

    it('removeStorageSync failing: logout still ends the session and forgets the token', async () => {
      const { api, kit } = miniProgram();
      const { token } = await kit.login();
      api.faults.removeStorage = true;
      let ended: Promise<unknown> | undefined;
      expect(() => (ended = kit.logout())).not.toThrow();
      await ended;
      expect(kit.getToken()).toBeNull();
      expect(await rawCall('GET', '/api/me', token)).toBe(401);
    });
  });

  describe('a token the server no longer accepts', () => {
    it('revoked on the server → one re-login, and the request succeeds', async () => {
      const { kit } = miniProgram();
      const { token: revoked } = await kit.login();
      expect(await rawCall('POST', '/api/logout', revoked)).toBe(204);
      front.reset();
      const start = { wechat: stack.wechat.requestCount() };

      const response = await kit.request({ url: '/api/me' });
      expect(response.statusCode).toBe(200);
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
      expect(front.count('GET /api/me')).toBe(2);
      expect(kit.getToken()).not.toBe(revoked);
    });

    it('expired on the server (its clock past the absolute expiry) → one re-login, and the request succeeds', async () => {
      const { sessionClock } = await import('../lib/sessions/tokens.js');
      const { kit } = miniProgram();
      const { token: old } = await kit.login();
      const realNow = sessionClock.now;
      sessionClock.now = () => Date.now() + 31 * 24 * 3600_000;
      try {
        front.reset();
        const start = { wechat: stack.wechat.requestCount() };
        expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
        expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
        expect(kit.getToken()).not.toBe(old);
      } finally {
        sessionClock.now = realNow;
      }
    });

    it('10 concurrent requests holding a revoked token still cause exactly one re-login', async () => {
      const { kit } = miniProgram();
      const { token: revoked } = await kit.login();
      await rawCall('POST', '/api/logout', revoked);
      front.reset();
      const start = { wechat: stack.wechat.requestCount() };

      const responses = await Promise.all(Array.from({ length: 10 }, () => kit.request({ url: '/api/me' })));
      expect(responses.map((response) => response.statusCode)).toEqual(Array(10).fill(200));
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
      expect(front.count('GET /api/me')).toBe(20);
    });

    it('a 401 arriving after another request already re-logged in reuses that login', async () => {
      const { kit } = miniProgram();
      const { token: revoked } = await kit.login();
      await rawCall('POST', '/api/logout', revoked);
      front.reset();
      const release = front.hold('GET /api/me');
      const late = kit.request({ url: '/api/me' }); // held at the front, carrying the revoked token
      const early = await kit.request({ url: '/api/me' }); // 401 → re-login → success
      expect(early.statusCode).toBe(200);
      release();
      expect((await late).statusCode).toBe(200);
      expect(front.count('POST /api/login')).toBe(1);
      const fresh = `Bearer ${kit.getToken()}`;
      // In arrival order: the early request and its retry, then the released one and its retry.
      expect(front.authorizations('GET /api/me')).toEqual([`Bearer ${revoked}`, fresh, `Bearer ${revoked}`, fresh]);
    });

    it('a stored token past its expiresAt is not sent at all: the kit logs in first', async () => {
      const { api, kit } = miniProgram();
      const { token } = await kit.login();
      // The app is closed; when it opens again, the token's absolute expiry has passed.
      const stored = api.getStorageSync('wxlogin:session') as { expiresAt: string };
      api.setStorageSync('wxlogin:session', { ...stored, expiresAt: new Date(Date.now() - 1000).toISOString() });
      const relaunched = relaunch(api);
      front.reset();
      expect((await relaunched.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(front.count('POST /api/login')).toBe(1);
      expect(front.authorizations('GET /api/me')).toEqual([`Bearer ${relaunched.getToken()}`]);
      expect(relaunched.getToken()).not.toBe(token);
    });
  });

  describe('a device clock that is wrong: expiry is judged in server time', () => {
    const DAYS = 24 * 3600_000;

    it('40 days ahead: 4 requests make one login, and all carry its token', async () => {
      const { api, kit } = miniProgram(undefined, {}, { deviceClockOffsetMs: 40 * DAYS });
      for (let i = 0; i < 4; i += 1) expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect({ wxLogin: api.calls.login, apiLogin: front.count('POST /api/login') }).toEqual({ wxLogin: 1, apiLogin: 1 });
      expect(new Set(front.authorizations('GET /api/me'))).toEqual(new Set([`Bearer ${kit.getToken()}`]));
    });

    it('40 days behind: a token past its expiry in server time is still not sent', async () => {
      const behind = { deviceClockOffsetMs: -40 * DAYS };
      const { api, kit } = miniProgram(undefined, {}, behind);
      const { token } = await kit.login();
      // Closed until just after the token's expiry (in real time, which is the server's).
      const stored = api.getStorageSync('wxlogin:session') as { expiresAt: string };
      api.setStorageSync('wxlogin:session', { ...stored, expiresAt: new Date(Date.now() - 1000).toISOString() });
      const relaunched = relaunch(api, {}, behind);
      front.reset();
      expect((await relaunched.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(front.authorizations('GET /api/me')).not.toContain(`Bearer ${token}`);
      expect(front.count('POST /api/login')).toBe(1);
    });

    it('an hour behind: a Retry-After date counts from the server\'s time', async () => {
      const { kit } = miniProgram(undefined, {}, { deviceClockOffsetMs: -3600_000 });
      await kit.login();
      front.answer('GET /api/me', unavailable(new Date(Date.now() + 120_000).toUTCString()));
      const error = await kit.request({ url: '/api/me' }).catch((failure: Kit.WxLoginError) => failure);
      expect((error as Kit.WxLoginError).retryAfter).toBeGreaterThanOrEqual(118);
      expect((error as Kit.WxLoginError).retryAfter).toBeLessThanOrEqual(121);
    });
  });

  describe('wx.login that never answers', () => {
    it('the login fails after loginTimeout (which wx.login is given too), and the next call starts afresh', async () => {
      const { api, kit } = miniProgram(undefined, { loginTimeout: 300 });
      api.faults.loginHangs = true;
      const outcomes = Promise.all([kit.request({ url: '/api/me' }), kit.login()].map((call) => call.catch((error: unknown) => error)));
      const settled = await Promise.race([outcomes, sleep(3000).then(() => 'still waiting after 3 s')]);
      expect(settled).toEqual([
        expect.objectContaining({ name: 'WxLoginError', code: 'wx_login_failed', errMsg: expect.stringMatching(/timeout/) }),
        expect.objectContaining({ code: 'wx_login_failed' }),
      ]);
      expect(api.logins).toEqual([{ timeout: 300 }]);

      api.faults.loginHangs = false;
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(api.calls.login).toBe(2);
    });
  });

  describe('a server that keeps answering 401', () => {
    it('with a stored token: one re-login, one retry, then the 401 is surfaced', async () => {
      const { kit } = miniProgram();
      await kit.login();
      front.reset();
      front.answer('GET /api/me', unauthorized);
      const start = { wechat: stack.wechat.requestCount() };

      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ name: 'WxLoginError', code: 'unauthorized', status: 401 });
      expect(front.count('GET /api/me')).toBe(2);
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
    });

    it('right after a fresh login: the 401 is surfaced without another login', async () => {
      const { kit } = miniProgram();
      front.answer('GET /api/me', unauthorized);
      const start = { wechat: stack.wechat.requestCount() };

      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
      expect(front.count('GET /api/me')).toBe(1);
      expect(loginsSince(start)).toEqual({ wechat: 1, api: 1 });
    });
  });

  describe('logout', () => {
    it('ends the session on the server and forgets the token; the next request logs in anew', async () => {
      const { api, kit } = miniProgram();
      const { token } = await kit.login();
      await kit.logout();

      expect(front.authorizations('POST /api/logout')).toEqual([`Bearer ${token}`]);
      expect(kit.getToken()).toBeNull();
      expect(api.storage.size).toBe(0);
      expect(await rawCall('GET', '/api/me', token)).toBe(401);

      front.reset();
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(front.count('POST /api/login')).toBe(1);
    });

    it('when logged out already, sends nothing', async () => {
      const { kit } = miniProgram();
      await kit.logout();
      expect(front.count('POST /api/logout')).toBe(0);
    });

    it('when the server already dropped the session, still succeeds and forgets the token', async () => {
      const { kit } = miniProgram();
      const { token } = await kit.login();
      await rawCall('POST', '/api/logout', token);
      await kit.logout();
      expect(front.count('POST /api/logout')).toBe(1);
      expect(kit.getToken()).toBeNull();
    });

    it('during the first login: that login stores nothing, its session is ended ({ all } too), and waiting calls reject', async () => {
      const person = stack.person();
      const phone = miniProgram(person);
      const { token: phoneToken } = await phone.kit.login();
      const { api, kit } = miniProgram(person);
      front.reset();
      const waiting = kit.request({ url: '/api/me' }).catch((error: unknown) => error); // logs in first
      await kit.logout({ all: true });

      expect(await waiting).toMatchObject({ name: 'WxLoginError', code: 'logged_out' });
      expect(kit.getToken()).toBeNull();
      expect(api.storage.size).toBe(0);
      expect(front.count('GET /api/me')).toBe(0);
      const [stray] = front.authorizations('POST /api/logout');
      expect(stray).toMatch(/^Bearer wxl_/);
      expect(front.bodies('POST /api/logout')).toEqual([{ all: true }]);
      expect([await rawCall('GET', '/api/me', stray!.slice('Bearer '.length)), await rawCall('GET', '/api/me', phoneToken)]).toEqual([401, 401]);

      // The next call logs in afresh.
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(front.count('POST /api/login')).toBe(2);
    });

    it('a request that meets its 401 after logout does not log back in', async () => {
      const { kit } = miniProgram();
      await kit.login();
      front.reset();
      const release = front.hold('GET /api/me');
      const late = kit.request({ url: '/api/me' }).catch((error: unknown) => error); // carries the token, held
      await kit.logout();
      release();
      expect(await late).toMatchObject({ code: 'logged_out' });
      expect(kit.getToken()).toBeNull();
      expect(front.count('POST /api/login')).toBe(0);
    });

    it('a logout the network lost keeps the token, so logging out again ends the session', async () => {
      const { kit } = miniProgram();
      const { token } = await kit.login();
      front.drop('POST /api/logout');
      await expect(kit.logout()).rejects.toMatchObject({ name: 'WxLoginError', code: 'network_error' });
      expect(kit.getToken()).toBe(token);
      expect(await rawCall('GET', '/api/me', token)).toBe(200);

      await kit.logout();
      expect(kit.getToken()).toBeNull();
      expect(await rawCall('GET', '/api/me', token)).toBe(401);
    });

    it('{ all: true } ends the sessions on the person\'s other devices too', async () => {
      const person = stack.person();
      const phone = miniProgram(person);
      const tablet = miniProgram(person);
      await phone.kit.login();
      const { token: tabletToken } = await tablet.kit.login();
      await phone.kit.logout({ all: true });
      expect(await rawCall('GET', '/api/me', tabletToken)).toBe(401);
    });
  });

  describe('429/503 with Retry-After', () => {
    it('WeChat down: login surfaces 503 wechat_unavailable with Retry-After, stores nothing; later it works', async () => {
      const { kit } = miniProgram();
      stack.wechat.injectFaults('busy', 'busy', 'busy', 'busy', 'busy', 'busy');
      const error = await kit.request({ url: '/api/me' }).catch((failure: Kit.WxLoginError) => failure);
      stack.wechat.resetCounts();

      expect(error).toMatchObject({ name: 'WxLoginError', code: 'wechat_unavailable', status: 503, retryAfter: 5 });
      expect(error).toBeInstanceOf(kit.WxLoginError);
      expect((error as Kit.WxLoginError).requestId).toMatch(/\S/);
      expect(kit.getToken()).toBeNull();
      expect(front.count('GET /api/me')).toBe(0);
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
    });

    it('Redis down: requests surface 503 service_unavailable with Retry-After', async () => {
      const { kit } = miniProgram();
      await kit.login();
      await stack.gateway.stop();
      try {
        await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'service_unavailable', status: 503, retryAfter: 5 });
      } finally {
        await stack.gateway.start();
      }
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
    });

    it('with retry enabled, waits out a short Retry-After once and succeeds', async () => {
      const { kit } = miniProgram(undefined, { retry: { attempts: 2, maxWaitSeconds: 5 } });
      await kit.login();
      front.reset();
      front.answer('GET /api/me', unavailable('1'), { times: 1 });
      const response = await kit.request({ url: '/api/me' });
      expect(response.statusCode).toBe(200);
      expect(front.count('GET /api/me')).toBe(2);
    });

    it('with retry enabled, a login that met a 503 is tried again with a new wx.login code', async () => {
      const { api, kit } = miniProgram(undefined, { retry: { attempts: 1, maxWaitSeconds: 5 } });
      front.answer('POST /api/login', unavailable('1'), { times: 1 });
      expect((await kit.request({ url: '/api/me' })).statusCode).toBe(200);
      expect(api.calls.login).toBe(2);
      const [first, second] = front.bodies('POST /api/login') as { code: string }[];
      expect(second!.code).not.toBe(first!.code);
    });

    it('with retry enabled, surfaces a Retry-After longer than maxWaitSeconds at once (HTTP-date form too)', async () => {
      const { kit } = miniProgram(undefined, { retry: { attempts: 3, maxWaitSeconds: 5 } });
      await kit.login();
      front.reset();
      front.answer('GET /api/me', unavailable(new Date(Date.now() + 120_000).toUTCString()));
      const error = await kit.request({ url: '/api/me' }).catch((failure: Kit.WxLoginError) => failure);
      expect(error).toMatchObject({ code: 'service_unavailable', status: 503 });
      expect((error as Kit.WxLoginError).retryAfter).toBeGreaterThan(100);
      expect(front.count('GET /api/me')).toBe(1);
    });
  });

  describe('automatic retries repeat only what is safe to repeat', () => {
    const retrying = { retry: { attempts: 1, maxWaitSeconds: 5 } };

    it('a 503 from /api/phone is surfaced, not retried: the one-time phone code is sent once', async () => {
      const { kit } = miniProgram(undefined, retrying);
      await kit.login();
      front.answer('POST /api/phone', unavailable('1'), { times: 1 });
      await expect(kit.request({ url: '/api/phone', method: 'POST', data: { code: 'single-use' } })).rejects.toMatchObject({ code: 'service_unavailable', status: 503 });
      expect(front.count('POST /api/phone')).toBe(1);
    });

    it('a POST carrying an Idempotency-Key is retried with the same key', async () => {
      const { kit } = miniProgram(undefined, retrying);
      front.answer('POST /api/claims', unavailable('1'), { times: 1 });
      const key = 'c0ffee00-0000-4000-8000-000000000001';
      const response = await kit.request({ url: '/api/claims', method: 'POST', data: { benefit: 'welcome-gift' }, header: { 'Idempotency-Key': key } });
      expect(response.statusCode).toBe(201);
      expect(front.header('POST /api/claims', 'idempotency-key')).toEqual([key, key]);
    });

    it('a POST the caller marks idempotent is retried', async () => {
      const { kit } = miniProgram(undefined, retrying);
      const { token } = await kit.login();
      front.answer('POST /api/logout', unavailable('1'), { times: 1 });
      expect((await kit.request({ url: '/api/logout', method: 'POST', idempotent: true })).statusCode).toBe(204);
      expect(front.count('POST /api/logout')).toBe(2);
      expect(await rawCall('GET', '/api/me', token)).toBe(401);
    });
  });

  describe('request options reach the platform', () => {
    it('request() without options rejects with invalid_argument instead of throwing', async () => {
      const { kit } = miniProgram();
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = (kit.request as () => Promise<unknown>)())).not.toThrow();
      await expect(pending).rejects.toMatchObject({ name: 'WxLoginError', code: 'invalid_argument' });
    });

    it('dataType, responseType, enableHttp2, enableCache and other platform options are passed on', async () => {
      const { api, kit } = miniProgram();
      const text = await kit.request({ url: '/api/me', dataType: '其他' });
      expect(typeof text.data).toBe('string');
      const bytes = await kit.request({ url: '/api/me', responseType: 'arraybuffer', enableHttp2: true, enableCache: true, enableQuic: true });
      expect(Object.prototype.toString.call(bytes.data)).toBe('[object ArrayBuffer]');
      expect(api.requests.filter((sent) => sent.url === `${front.url}/api/me`)).toEqual([
        expect.objectContaining({ dataType: '其他' }),
        expect.objectContaining({ responseType: 'arraybuffer', enableHttp2: true, enableCache: true, enableQuic: true }),
      ]);
    });

    it('onTask hands over each RequestTask; abort() rejects with aborted', async () => {
      const { kit } = miniProgram();
      await kit.login();
      const tasks: { abort(): void }[] = [];
      await kit.request({ url: '/api/me', onTask: (task) => tasks.push(task) });
      expect(tasks).toHaveLength(1);
      const aborted = kit.request({ url: '/api/me', onTask: (task) => task.abort() });
      await expect(aborted).rejects.toMatchObject({ name: 'WxLoginError', code: 'aborted', errMsg: 'request:fail abort' });
    });

    it('no timeout is sent unless asked for, so app.json\'s networkTimeout applies', async () => {
      const { api, kit } = miniProgram();
      await kit.request({ url: '/api/me' });
      expect(api.requests.map((sent) => sent.timeout)).toEqual([undefined, undefined]); // the login, then /api/me
      const timed = miniProgram(undefined, { timeout: 8000 });
      await timed.kit.request({ url: '/api/me', timeout: 3000 });
      expect(timed.api.requests.map((sent) => sent.timeout)).toEqual([8000, 3000]);
    });
  });

  describe('phone binding (the paid getphonenumber button)', () => {
    const tapped = (code: string) => ({ type: 'getphonenumber', detail: { code, errMsg: 'getPhoneNumber:ok' } });

    it('bindPhone(event) sends the button\'s code once; me() shows the number masked, so a page can skip the button', async () => {
      const { kit } = miniProgram();
      expect((await kit.me()).phone).toBeNull();
      const number = newNumber();
      const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number });
      expect(await kit.bindPhone(tapped(code))).toEqual({ status: 'bound', phoneNumber: number, purePhoneNumber: number, countryCode: '86' });
      expect(front.bodies('POST /api/phone')).toEqual([{ code }]);
      expect((await kit.me()).phone).toBe(`${number.slice(0, 3)}****${number.slice(7)}`);
    });

    it('the person declining is an outcome of its own, and sends nothing', async () => {
      const { api, kit } = miniProgram();
      const declined = { type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail user deny' } };
      expect(await kit.bindPhone(declined)).toEqual({ status: 'denied', errMsg: 'getPhoneNumber:fail user deny' });
      expect({ logins: api.calls.login, requests: api.calls.request }).toEqual({ logins: 0, requests: 0 });
    });

    it('a button that gave no code for another reason rejects with wx_phone_failed', async () => {
      const { kit } = miniProgram();
      const failed = { type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail no permission' } };
      await expect(kit.bindPhone(failed)).rejects.toMatchObject({ code: 'wx_phone_failed', errMsg: 'getPhoneNumber:fail no permission', message: expect.stringMatching(/手机号/) });
    });

    it('a 503 is not retried, even with retry on: the caller is told the person must tap again', async () => {
      const { kit } = miniProgram(undefined, { retry: { attempts: 2, maxWaitSeconds: 5 } });
      await kit.login();
      front.answer('POST /api/phone', unavailable('1'), { times: 1 });
      const code = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() });
      await expect(kit.bindPhone(tapped(code))).rejects.toMatchObject({ code: 'service_unavailable', status: 503, tapAgain: true });
      expect(front.count('POST /api/phone')).toBe(1);
    });

    it('a 401 gets no re-login and resend: the token is dropped, the next tap logs in and binds', async () => {
      const { kit } = miniProgram();
      const { token } = await kit.login();
      await rawCall('POST', '/api/logout', token);
      const first = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() });
      await expect(kit.bindPhone(tapped(first))).rejects.toMatchObject({ code: 'unauthorized', tapAgain: true });
      expect([front.count('POST /api/phone'), front.count('POST /api/login')]).toEqual([1, 1]);
      expect(kit.getToken()).toBeNull();

      const second = stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() });
      expect(await kit.bindPhone(tapped(second))).toMatchObject({ status: 'bound' });
      expect(front.bodies('POST /api/phone')).toEqual([{ code: first }, { code: second }]);
    });
  });

  describe('benefits and claims', () => {
    const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    it('claim(key) claims once with an Idempotency-Key; a second claim is already_claimed, naming where and when', async () => {
      const { kit } = miniProgram();
      const claim = await kit.claim('welcome-gift');
      expect(claim).toEqual({ benefit: 'welcome-gift', appid: APP.appid, claimedAt: expect.any(String) });
      await expect(kit.claim('welcome-gift')).rejects.toMatchObject({ code: 'already_claimed', status: 409, message: '您已经领取过了', data: claim });
      const keys = front.header('POST /api/claims', 'idempotency-key');
      expect(keys).toEqual([expect.stringMatching(UUID), expect.stringMatching(UUID)]);
      expect(keys[0]).not.toBe(keys[1]); // an answer settles a claim: the next one is a new request
      expect(front.bodies('POST /api/claims')).toEqual([{ benefit: 'welcome-gift' }, { benefit: 'welcome-gift' }]);
    });

    it('a claim retried after a 503 carries the same key', async () => {
      const { kit } = miniProgram(undefined, { retry: { attempts: 1, maxWaitSeconds: 5 } });
      front.answer('POST /api/claims', unavailable('1'), { times: 1 });
      expect(await kit.claim('welcome-gift')).toMatchObject({ benefit: 'welcome-gift' });
      const [first, second] = front.header('POST /api/claims', 'idempotency-key');
      expect(second).toBe(first);
    });

    it('after a lost answer, claiming again repeats the same key and gets the original claim', async () => {
      const { kit } = miniProgram();
      front.lose('POST /api/claims'); // the service claimed, the answer never arrived
      await expect(kit.claim('welcome-gift')).rejects.toMatchObject({ code: 'network_error' });
      const [listed] = (await kit.request<{ claims: Kit.Claim[] }>({ url: '/api/claims' })).data.claims;

      const again = await kit.claim('welcome-gift').then(
        (claim) => claim,
        (error: Kit.WxLoginError) => error.data,
      );
      const [first, second] = front.header('POST /api/claims', 'idempotency-key');
      expect(second).toBe(first);
      // The server honours Idempotency-Key: the repeat is the original 201, not a 409.
      expect(again).toEqual({ benefit: 'welcome-gift', appid: APP.appid, claimedAt: listed!.claimedAt });
    });

    it('logout forgets keys of unanswered claims: the next login\'s claims are its own', async () => {
      const { kit } = miniProgram();
      front.drop('POST /api/claims');
      await expect(kit.claim('welcome-gift')).rejects.toMatchObject({ code: 'network_error' });
      await kit.logout();
      expect(await kit.claim('welcome-gift')).toMatchObject({ benefit: 'welcome-gift' });
      const [first, second] = front.header('POST /api/claims', 'idempotency-key');
      expect(second).not.toBe(first);
    });

    it('claim() without a benefit key rejects with invalid_argument and sends nothing', async () => {
      const { api, kit } = miniProgram();
      await expect((kit.claim as (key?: string) => Promise<unknown>)()).rejects.toMatchObject({ code: 'invalid_argument' });
      expect(api.calls.request).toBe(0);
    });

    it('benefits() lists the benefits with their state for this person', async () => {
      const { kit } = miniProgram();
      expect(await kit.benefits()).toContainEqual({ key: 'welcome-gift', title: { zh: 'welcome-gift', en: 'welcome-gift' }, status: 'available' });
      await kit.claim('welcome-gift');
      expect(await kit.benefits()).toContainEqual(
        expect.objectContaining({ key: 'welcome-gift', status: 'claimed', claim: { appid: APP.appid, claimedAt: expect.any(String) } }),
      );
      expect(front.count('GET /api/benefits')).toBe(2);
    });
  });

  describe('consents', () => {
    it('recordConsent() records once per version (a repeat finds the record), withdrawConsent() withdraws, consents() lists', async () => {
      const { kit } = miniProgram();
      const recorded = await kit.recordConsent('privacy', '2026-06-01');
      expect(recorded).toEqual({ document: 'privacy', version: '2026-06-01', appid: APP.appid, agreedAt: expect.any(String), withdrawnAt: null });
      expect(await kit.recordConsent('privacy', '2026-06-01')).toEqual(recorded);
      await kit.withdrawConsent('privacy');
      expect(await kit.consents()).toEqual([{ ...recorded, withdrawnAt: expect.any(String) }]);
      expect(front.bodies('POST /api/me/consents')).toEqual([{ document: 'privacy', version: '2026-06-01' }, { document: 'privacy', version: '2026-06-01' }]);
      expect(front.count('DELETE /api/me/consents/privacy')).toBe(1);
    });

    it('a recording that met a 503 is tried again (it is idempotent), with retry on', async () => {
      const { kit } = miniProgram(undefined, { retry: { attempts: 1, maxWaitSeconds: 5 } });
      front.answer('POST /api/me/consents', unavailable('1'), { times: 1 });
      expect(await kit.recordConsent('terms', 'v3')).toMatchObject({ document: 'terms', version: 'v3' });
      expect(front.count('POST /api/me/consents')).toBe(2);
    });

    it('without a document or version: invalid_argument, nothing sent; an unknown document is the server\'s invalid_request', async () => {
      const { api, kit } = miniProgram();
      await expect((kit.recordConsent as (document?: string) => Promise<unknown>)('privacy')).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect((kit.withdrawConsent as () => Promise<unknown>)()).rejects.toMatchObject({ code: 'invalid_argument' });
      expect(api.calls.request).toBe(0);
      await expect(kit.recordConsent('cookies', 'v1')).rejects.toMatchObject({ code: 'invalid_request', status: 400, message: '请求有误，请更新小程序后重试' });
    });
  });

  describe('messages a page can show', () => {
    it('error.message is a short Chinese sentence by default, for the server\'s codes and the kit\'s own', async () => {
      const { kit } = miniProgram();
      await kit.login();
      front.answer('GET /api/me', problem(429, 'rate_limited', { 'Retry-After': '30' }), { times: 1 });
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'rate_limited', message: '操作太频繁，请稍后再试', retryAfter: 30 });
      front.drop('GET /api/me');
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'network_error', message: '网络不给力，请检查网络后重试' });
      front.answer('GET /api/me', { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html>Bad Gateway</html>' }, { times: 1 });
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'http_502', message: '出错了，请稍后再试' });
    });

    it('a refused claim says why', async () => {
      const { kit } = miniProgram();
      front.answer('POST /api/claims', problem(403, 'claim_refused', {}, { reason: 'not_new' }), { times: 1 });
      const refused = kit.request({ url: '/api/claims', method: 'POST', data: { benefit: 'welcome-gift' } });
      await expect(refused).rejects.toMatchObject({ code: 'claim_refused', message: '仅限新用户领取', data: { reason: 'not_new' } });
    });

    it('language: \'en\' makes them English, and messageFor() gives any code\'s sentence', async () => {
      const { kit } = miniProgram(undefined, { language: 'en' });
      front.answer('POST /api/login', problem(503, 'wechat_unavailable', { 'Retry-After': '5' }), { times: 1 });
      await expect(kit.login()).rejects.toMatchObject({ code: 'wechat_unavailable', message: 'WeChat is busy; please try again later' });
      expect(kit.messageFor('claim_refused', 'phone_required')).toBe('请先绑定手机号再领取');
      expect(kit.messageFor('claim_refused', 'phone_required', 'en')).toBe('Please add your phone number first');
      expect(kit.messageFor('no_such_code')).toBe('出错了，请稍后再试');
    });
  });

  describe('errors name their cause', () => {
    it('an endpoint the server does not have is the problem code not_found', async () => {
      const { kit } = miniProgram();
      await expect(kit.request({ url: '/api/no-such-endpoint', method: 'POST', data: { x: 1 } })).rejects.toMatchObject({
        code: 'not_found',
        status: 404,
        requestId: expect.any(String),
      });
    });

    it('no server at all is network_error carrying wx\'s "request:fail" message', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as AddressInfo;
      await new Promise((resolve) => closed.close(resolve));
      const { kit } = miniProgram(undefined, { baseUrl: `http://127.0.0.1:${port}` });
      const error = await kit.login().catch((failure: Kit.WxLoginError) => failure);
      expect(error).toMatchObject({ code: 'network_error', status: 0, errMsg: expect.stringMatching(/^request:fail \S/) });
    });

    it('a non-problem error body becomes http_<status>', async () => {
      const { kit } = miniProgram();
      await kit.login();
      front.answer('GET /api/me', { status: 502, headers: { 'Content-Type': 'text/html' }, body: '<html>Bad Gateway</html>' });
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'http_502', status: 502, data: '<html>Bad Gateway</html>' });
    });

    it('a login answer without a token (a captive portal, a wrong baseUrl) is invalid_response, and nothing is stored', async () => {
      const { kit } = miniProgram();
      front.answer('POST /api/login', { status: 200, headers: { 'Content-Type': 'text/html' }, body: '<html>Welcome to Airport Wi-Fi</html>' });
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
      expect(kit.getToken()).toBeNull();
      expect(front.count('GET /api/me')).toBe(0);
    });

    it('request() before configure() rejects with invalid_config, and nothing throws', async () => {
      const kit = miniprogramRuntime({}).load<typeof Kit>(KIT);
      expect(kit.getToken()).toBeNull();
      await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ name: 'WxLoginError', code: 'invalid_config' });
    });

    it('a client with a bad baseUrl rejects every call with invalid_config, and nothing throws', async () => {
      const { kit } = miniProgram();
      const client = kit.createClient({ baseUrl: 'ftp://example.com' });
      expect(client.getToken()).toBeNull();
      await expect(client.login()).rejects.toMatchObject({ name: 'WxLoginError', code: 'invalid_config' });
      await expect(client.logout()).rejects.toMatchObject({ code: 'invalid_config' });
    });
  });
});

it('every error code, the server\'s and the kit\'s, has a short Chinese sentence and an English one', () => {
  const { messages } = miniprogramRuntime({}).load<typeof Kit>(KIT);
  // The catalog, and the codes landing on main in parallel.
  const landing = ['user_suspended', 'claim_refused', 'request_timeout', 'invalid_phone_code', 'person_not_found', 'session_not_found'];
  const server = [...Object.keys(catalog), ...landing];
  const reasons = ['not_new', 'phone_required', 'phone_already_claimed', 'risk', 'not_started', 'ended', 'inactive', 'sold_out', 'sold_out_today'].map(
    (reason) => `claim_refused:${reason}`,
  );
  const kit = ['network_error', 'aborted', 'wx_login_failed', 'logged_out', 'invalid_response', 'invalid_config', 'invalid_argument', 'client_error', 'wx_phone_failed', 'unknown'];
  const codes = [...new Set([...server, ...reasons, ...kit])].sort();
  expect(Object.keys(messages.zh).sort()).toEqual(codes);
  expect(Object.keys(messages.en).sort()).toEqual(codes);
  for (const code of codes) {
    expect(messages.zh[code], code).toMatch(/^[\p{Script=Han}，、]{2,16}$/u);
    expect(messages.en[code], code).toMatch(/^[A-Z][\x20-\x7e]+$/);
  }
});

it('outside WeChat without a platform option (uni-app, Taro), every call rejects with invalid_config', async () => {
  const kit = miniprogramRuntime({ uni: createWx({ appid: APP.appid, issueCode: () => 'unused' }) }).load<typeof Kit>(KIT);
  kit.configure({ baseUrl: front.url });
  await expect(kit.request({ url: '/api/me' })).rejects.toMatchObject({ code: 'invalid_config', detail: expect.stringMatching(/platform: uni/) });
});

it('every mini program file is ES2015 script syntax, which base libraries run without enhanced compilation', () => {
  const root = new URL('../miniprogram/', import.meta.url);
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
  expect(files.sort()).toEqual(['app.js', 'config.js', 'pages/index/index.js', 'wxlogin/endpoints.js', 'wxlogin/errors.js', 'wxlogin/index.js', 'wxlogin/messages.js', 'wxlogin/platform.js', 'wxlogin/session.js', 'wxlogin/transport.js']);
  const es2015 = (source: string) => parse(source, { ecmaVersion: 2015, sourceType: 'script' });
  for (const file of files) expect(() => es2015(readFileSync(new URL(file, root), 'utf8')), file).not.toThrow();
  // Lines the check must catch, so the check itself is known to work.
  expect(() => es2015('var later = async () => 1;')).toThrow();
  expect(() => es2015('var app = wx?.getAccountInfoSync;')).toThrow();
});
