// lib/wechat/access-token.ts against the fake WeChat and the real Redis: one stable_token call for many
// cold instances, refresh after WeChat rejects a token, and never force_refresh.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { REQUEST_BUDGET_MS } from '../lib/http/endpoint.js';
import * as warm from '../lib/wechat/access-token.js';
import { getUserPhoneNumber } from '../lib/wechat/api.js';
import type { FakeApp } from '../scripts/local/fake-wechat.js';
import { startStack, withoutRedis, type Stack } from './support/stack.js';
import { apiErrorOf } from './support/api-error.js';

type AccessTokenModule = typeof warm;

// The token cache lives in the shared Redis, keyed by appid: every test gets apps of its own.
const newApp = (): FakeApp => {
  const id = randomBytes(7).toString('hex');
  return { appid: `wxt${id}`, secret: `secret-${id}`, openPlatform: false };
};
const apps = Array.from({ length: 32 }, newApp);
let nextApp = 0;
const takeApp = () => ({ ...apps[nextApp++]!, kind: 'miniprogram' as const });

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ apps });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.wechat.resetCounts();
  stack.gateway.resetCounts();
});

const STABLE_TOKEN = '/cgi-bin/stable_token';
const PHONE = '/wxa/business/getuserphonenumber';
/** A request's deadline, as the endpoint sets it. */
const inBudget = () => Date.now() + REQUEST_BUDGET_MS;
const cacheKey = (app: FakeApp) => `${stack.keyPrefix}access-token:${app.appid}`;

/** Fresh module graphs: each has its own memory, Redis client and connection pool, like a cold function instance. */
async function coldInstances(count: number): Promise<AccessTokenModule[]> {
  const instances: AccessTokenModule[] = [];
  for (let i = 0; i < count; i++) {
    vi.resetModules();
    instances.push(await import('../lib/wechat/access-token.js'));
  }
  vi.resetModules();
  return instances;
}

async function stableToken(app: FakeApp, forceRefresh: boolean) {
  const response = await fetch(`${stack.wechat.url}${STABLE_TOKEN}`, {
    method: 'POST',
    body: JSON.stringify({ grant_type: 'client_credential', appid: app.appid, secret: app.secret, force_refresh: forceRefresh }),
  });
  return (await response.json()) as { access_token?: string; expires_in?: number; errcode?: number };
}

describe('one fetch for many instances', () => {
  it('20 cold instances asking at once cause exactly one stable_token call', async () => {
    const app = takeApp();
    const instances = await coldInstances(20);
    expect(new Set(instances).size).toBe(20);
    const tokens = await Promise.all(instances.map((instance) => instance.accessToken(app, inBudget())));
    expect(new Set(tokens).size).toBe(1);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
    expect(stack.wechat.requestCount()).toBe(1);
  });

  it('a warm instance answers from memory; a cold one from Redis in one round trip', async () => {
    const app = takeApp();
    const [first, second] = await coldInstances(2);
    const token = await first!.accessToken(app, inBudget());
    stack.gateway.resetCounts();
    expect(await first!.accessToken(app, inBudget())).toBe(token);
    expect(stack.gateway.counts().requests).toBe(0);
    expect(await second!.accessToken(app, inBudget())).toBe(token);
    expect(stack.gateway.counts().requests).toBe(1);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('caches the token in Redis until shortly before WeChat\'s expiry', async () => {
    const app = takeApp();
    await warm.accessToken(app, inBudget());
    const ttl = await stack.gateway.redis.pttl(cacheKey(app));
    expect(ttl).toBeGreaterThan(7200_000 - 5 * 60_000);
    expect(ttl).toBeLessThan(7200_000);
  });

  it('takes over the lease of an instance that died while fetching', async () => {
    const app = takeApp();
    await stack.gateway.redis.set(`${stack.keyPrefix}access-token-lease:${app.appid}`, 'crashed-instance', 'PX', 300);
    const instances = await coldInstances(3);
    const tokens = await Promise.all(instances.map((instance) => instance.accessToken(app, inBudget())));
    expect(new Set(tokens).size).toBe(1);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('replaces a cached entry it cannot read', async () => {
    const app = takeApp();
    await stack.gateway.redis.set(cacheKey(app), 'not json', 'PX', 60_000);
    const [instance] = await coldInstances(1);
    const token = await instance!.accessToken(app, inBudget());
    const [other] = await coldInstances(1);
    expect(await other!.accessToken(app, inBudget())).toBe(token);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('drops an entry it cannot read only if it is still the one it read, not a fresh one stored meanwhile', async () => {
    const app = takeApp();
    const [writer, reader] = await coldInstances(2);
    const fresh = await writer!.accessToken(app, inBudget());
    const freshValue = (await stack.gateway.redis.get(cacheKey(app)))!;
    await stack.gateway.redis.set(cacheKey(app), 'unreadable', 'PX', 60_000);
    stack.gateway.resetCounts();
    // Every Redis request of the reader now runs 500 ms after it arrives: its read of the unreadable
    // entry runs at ~500 ms, the removal it then sends at ~1000 ms.
    stack.gateway.setDelay(500);
    try {
      const reading = reader!.accessToken(app, inBudget());
      while (stack.gateway.counts().requests === 0) await sleep(5);
      await sleep(750);
      // Between the two, the writer's instance stores a fresh token.
      await stack.gateway.redis.set(cacheKey(app), freshValue, 'PX', 60_000);
      expect(await reading).toBe(fresh);
    } finally {
      stack.gateway.setDelay(0);
    }
    expect(await stack.gateway.redis.get(cacheKey(app))).toBe(freshValue);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('without Upstash (local development) keeps the token in memory, one fetch per process', async () => {
    const app = takeApp();
    await withoutRedis(async () => {
      const [local] = await coldInstances(1);
      const tokens = await Promise.all([1, 2, 3].map(() => local!.accessToken(app, inBudget())));
      expect(new Set(tokens).size).toBe(1);
    });
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
    expect(stack.gateway.counts().requests).toBe(0);
  });
});

describe('sealed at rest', () => {
  it('Redis holds no live credential: the token is in no form in the stored value', async () => {
    const app = takeApp();
    const token = await warm.accessToken(app, inBudget());
    const stored = (await stack.gateway.redis.get(cacheKey(app)))!;
    for (const form of [token, Buffer.from(token).toString('base64'), Buffer.from(token).toString('base64url')]) {
      expect(stored).not.toContain(form);
    }
    // Yet another instance opens it: one stable_token call for both.
    const [cold] = await coldInstances(1);
    expect(await cold!.accessToken(app, inBudget())).toBe(token);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('a value sealed for another app does not open: that app fetches its own token', async () => {
    const [one, other] = [takeApp(), takeApp()];
    const token = await warm.accessToken(one, inBudget());
    await stack.gateway.redis.set(cacheKey(other), (await stack.gateway.redis.get(cacheKey(one)))!, 'PX', 60_000);
    const [cold] = await coldInstances(1);
    const otherToken = await cold!.accessToken(other, inBudget());
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(2);
    expect(otherToken).not.toBe(token);
    expect(await stableToken(other, false)).toMatchObject({ access_token: otherToken });
  });
});

describe('a token WeChat rejects', () => {
  it('expired (42001): one refresh, and the call succeeds', async () => {
    const app = takeApp();
    const stale = await warm.accessToken(app, inBudget());
    stack.wechat.advanceClock(7200_000 + 1000);
    const code = stack.wechat.issuePhoneCode(app.appid, { purePhoneNumber: '13912345678' });
    stack.wechat.resetCounts();
    const phone = await getUserPhoneNumber(app, code, 'o-someone', inBudget());
    expect(phone.purePhoneNumber).toBe('13912345678');
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
    expect(stack.wechat.callsTo(PHONE)).toBe(2);
    expect(stack.wechat.billedPhoneNumbers()).toBe(1);
    const fresh = await warm.accessToken(app, inBudget());
    expect(fresh).not.toBe(stale);
    // Redis holds the fresh one: a cold instance gets it without asking WeChat.
    const [cold] = await coldInstances(1);
    expect(await cold!.accessToken(app, inBudget())).toBe(fresh);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('revoked by a force_refresh elsewhere (40001): dropped from Redis too, one refresh, success', async () => {
    const app = takeApp();
    const [instance] = await coldInstances(1);
    const revoked = await instance!.accessToken(app, inBudget());
    expect((await stableToken(app, true)).access_token).not.toBe(revoked); // an operator, after a leak
    stack.wechat.resetCounts();
    const token = await instance!.withAccessToken(app, inBudget(), async (accessToken) => {
      const reply = await fetch(`${stack.wechat.url}${PHONE}?access_token=${accessToken}`, {
        method: 'POST',
        body: JSON.stringify({ code: stack.wechat.issuePhoneCode(app.appid) }),
      });
      instance!.rejectStaleAccessToken((await reply.json()) as Record<string, unknown>);
      return accessToken;
    });
    expect(token).not.toBe(revoked);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
    expect(stack.wechat.callsTo(PHONE)).toBe(2);
    // Another cold instance gets the new token from Redis, not the revoked one.
    const [other] = await coldInstances(1);
    expect(await other!.accessToken(app, inBudget())).toBe(token);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('retries once, then gives up with 503 and never force-refreshes', async () => {
    const app = takeApp();
    const token = await warm.accessToken(app, inBudget());
    let calls = 0;
    const error = await apiErrorOf(
      warm.withAccessToken(app, inBudget(), async () => {
        calls += 1;
        warm.rejectStaleAccessToken({ errcode: 40001, errmsg: 'invalid credential, rid: 0123456789ab' });
      }),
    );
    expect(calls).toBe(2);
    expect(error.code).toBe('wechat_unavailable');
    expect(error.logFields).toMatchObject({ wechat: 'access_token_rejected_twice', wechatErrcode: 40001 });
    // The first fetch and one refetch in normal mode, which hands back the same live token:
    // nothing was force-refreshed.
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(2);
    expect(await warm.accessToken(app, inBudget())).toBe(token);
    expect((await stableToken(app, false)).access_token).toBe(token);
  });
});

describe('stable_token failures', () => {
  it('retries WeChat being busy (-1): the call is idempotent', async () => {
    const app = takeApp();
    stack.wechat.injectFaults('busy');
    expect(await warm.accessToken(app, inBudget())).toMatch(/\S{32,}/);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(2);
  });

  it('reports a secret WeChat rejects as server_misconfigured, without retrying, and keeps it out of the error', async () => {
    const app = { ...takeApp() };
    app.secret = 'not-the-secret';
    const error = await apiErrorOf(warm.accessToken(app, inBudget()));
    expect(error.code).toBe('server_misconfigured');
    expect(error.logFields).toMatchObject({ wechatErrcode: 40125 });
    expect(JSON.stringify(error.logFields) + error.message + (error.detail ?? '')).not.toContain(app.secret);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });
});

/** What a cold instance threw (its ApiError class is its own module graph's). */
async function refusalOf(promise: Promise<unknown>) {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toMatchObject({ name: 'ApiError' });
  return error as { code: string; retryAfterSeconds?: number; logFields: Record<string, unknown> };
}

describe('a stable_token refusal, remembered', () => {
  it('instances waiting on the lease take its refusal instead of asking again', async () => {
    const app = takeApp();
    stack.wechat.injectFaults(...Array(5).fill({ errcode: 40164 }));
    const errors = await Promise.all((await coldInstances(5)).map((instance) => refusalOf(instance.accessToken(app, inBudget()))));
    expect(errors.map((error) => error.code)).toEqual(Array(5).fill('server_misconfigured'));
    expect(errors.every((error) => error.retryAfterSeconds! > 0 && error.logFields.wechatErrcode === 40164)).toBe(true);
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
  });

  it('without Upstash (local development) is remembered in process memory', async () => {
    const app = takeApp();
    await withoutRedis(async () => {
      const [local] = await coldInstances(1);
      stack.wechat.injectFaults({ errcode: 45009 }, { errcode: 45009 });
      expect((await refusalOf(local!.accessToken(app, inBudget()))).retryAfterSeconds).toBe(60);
      const again = await refusalOf(local!.accessToken(app, inBudget()));
      expect(again).toMatchObject({ code: 'wechat_unavailable', logFields: { wechatErrcode: 45009 } });
    });
    expect(stack.wechat.callsTo(STABLE_TOKEN)).toBe(1);
    expect(stack.gateway.counts().requests).toBe(0);
  });
});

describe('the fake stable_token, as documented', () => {
  it('gives the same token while valid, expires_in counting down, and the next one in the last 5 minutes', async () => {
    const app = takeApp();
    const first = await stableToken(app, false);
    expect(first.expires_in).toBe(7200);
    stack.wechat.advanceClock(3600_000);
    const again = await stableToken(app, false);
    expect(again.access_token).toBe(first.access_token);
    expect(again.expires_in).toBeLessThanOrEqual(3600);
    stack.wechat.advanceClock(3600_000 - 4 * 60_000);
    const next = await stableToken(app, false);
    expect(next.access_token).not.toBe(first.access_token);
    expect(next.expires_in).toBeGreaterThan(7190);
    // Both work during the handover.
    for (const token of [first.access_token, next.access_token]) {
      const reply = await fetch(`${stack.wechat.url}${PHONE}?access_token=${token}`, { method: 'POST', body: '{"code":"x"}' });
      expect(((await reply.json()) as { errcode: number }).errcode).toBe(40029);
    }
  });

  it('limits force_refresh: no refresh within 30 s, 20 a day', async () => {
    const app = takeApp();
    const first = await stableToken(app, true);
    expect((await stableToken(app, true)).access_token).toBe(first.access_token);
    for (let i = 1; i < 20; i++) {
      stack.wechat.advanceClock(31_000);
      expect((await stableToken(app, true)).access_token).toMatch(/\S/);
    }
    stack.wechat.advanceClock(31_000);
    expect((await stableToken(app, true)).errcode).toBe(45009);
  });
});
