// WeChat's access_token per mini program, from /cgi-bin/stable_token in normal mode, which hands
// every caller the same live token (the classic /cgi-bin/token revokes the previous one on each
// fetch, so instances refreshing at once break each other). Kept in this instance's memory and in
// Redis; fetched by one caller per instance and, across instances, by the holder of a short Redis
// lease while the others poll for its result. force_refresh is never used: it revokes the live token
// for every instance and WeChat allows it 20 times a day.
import { randomUUID } from 'node:crypto';
import type { Redis } from '@upstash/redis';
import type { WechatApp } from './config.js';
import { redisCall, sharedRedis } from './redis.js';
import { callWechat, errcodeOf, misconfiguredOr, TransientFailure, wechatLogFields, wechatUnavailable, type WechatBody } from './wechat-http.js';

interface CachedToken {
  token: string;
  /** Epoch ms after which we stop handing it out. */
  usableUntil: number;
}

/**
 * Stop using a token this long before WeChat's expiry. Under 5 minutes on purpose: in its last
 * 5 minutes stable_token answers with the next token while the old one keeps working.
 */
const SAFETY_MARGIN_MS = 60_000;
/** How long one fetcher may hold the lease: the WeChat call's 3 s budget, and then some. */
const LEASE_MS = 4000;
/** How long the others wait for its result: bounded so the consuming call still fits in a 10 s function. */
const WAIT_MS = 4000;
const POLL_MS = 50;
const CACHE_PREFIX = 'wxlogin:access-token:';
const LEASE_PREFIX = 'wxlogin:access-token-lease:';

/** The consuming API said the token is invalid (40001), expired (42001) or malformed (40014). */
const STALE_TOKEN_ERRCODES = new Set([40001, 42001, 40014]);
/**
 * stable_token's errcodes for our appid, secret (40243: frozen) or server IP, and for a request of
 * ours it cannot read (40002 grant_type, 43002 not POST, 47001 not JSON): ours to fix, not WeChat's.
 */
const STABLE_TOKEN_OUR_FAULT = new Set([40002, 40013, 40125, 40164, 40243, 41002, 41004, 43002, 47001]);

class AccessTokenRejected extends Error {
  constructor(readonly logFields: Record<string, string | number>) {
    super('WeChat rejected the access_token');
  }
}

/** For consuming APIs' reply parsers: throws AccessTokenRejected on the access_token errcodes. */
export function rejectStaleAccessToken(body: WechatBody): void {
  if (STALE_TOKEN_ERRCODES.has(errcodeOf(body))) throw new AccessTokenRejected(wechatLogFields(body));
}

/**
 * Runs `call` with the app's token. If WeChat rejects the token, drops it everywhere, fetches
 * again (normal mode) and runs `call` once more.
 */
export async function withAccessToken<T>(app: WechatApp, call: (accessToken: string) => Promise<T>): Promise<T> {
  const token = await accessToken(app);
  try {
    return await call(token);
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    await forget(app.appid, token);
  }
  try {
    return await call(await accessToken(app));
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    throw wechatUnavailable({ wechat: 'access_token_rejected_twice', ...error.logFields });
  }
}

const memory = new Map<string, CachedToken>();
const inFlight = new Map<string, Promise<CachedToken>>();

/** The app's live token: from memory, else Redis, else one stable_token call across all instances. */
export async function accessToken(app: WechatApp): Promise<string> {
  const cached = memory.get(app.appid);
  if (cached && cached.usableUntil > Date.now()) return cached.token;
  let flight = inFlight.get(app.appid);
  if (!flight) {
    flight = obtain(app).finally(() => inFlight.delete(app.appid));
    inFlight.set(app.appid, flight);
  }
  return (await flight).token;
}

async function obtain(app: WechatApp): Promise<CachedToken> {
  const redis = sharedRedis();
  // Without Redis (local development) this process is the only instance.
  const entry = redis ? await obtainShared(redis, app) : await fetchStableToken(app);
  memory.set(app.appid, entry);
  return entry;
}

// One round trip: the cached token if any, else try to take the lease.
const CLAIM = `
local cached = redis.call('GET', KEYS[1])
if cached then return {'cached', cached} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'lease'} end
return {'wait'}`;

// Publish the token and give the lease back, if it is still ours.
const PUBLISH = `
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

// Drop the cached token only if it is still the rejected one (another instance may have replaced it).
// An unreadable entry goes too.
const FORGET = `
local cached = redis.call('GET', KEYS[1])
if not cached then return 0 end
local ok, entry = pcall(cjson.decode, cached)
if ok and type(entry) == 'table' and entry.token ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

async function obtainShared(redis: Redis, app: WechatApp): Promise<CachedToken> {
  const cacheKey = CACHE_PREFIX + app.appid;
  const keys = [cacheKey, LEASE_PREFIX + app.appid];
  const holder = randomUUID();
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const [state, cached] = await redisCall(() => redis.eval<string[], [string, string?]>(CLAIM, keys, [holder, String(LEASE_MS)]));
    if (state === 'cached' && cached) {
      const entry = parseCached(cached);
      if (entry) return entry;
      // Unreadable, or past its use by this instance's clock: drop it and claim again.
      await redisCall(() => redis.del(cacheKey));
    }
    if (state === 'lease') {
      let entry: CachedToken | undefined;
      try {
        entry = await fetchStableToken(app);
        return entry;
      } finally {
        const ttl = entry ? entry.usableUntil - Date.now() : 0;
        const value = entry && ttl > 0 ? JSON.stringify(entry) : '';
        await redisCall(() => redis.eval(PUBLISH, keys, [holder, value, String(Math.max(ttl, 1))]));
      }
    }
    if (Date.now() + POLL_MS >= deadline) throw wechatUnavailable({ wechat: 'access_token_wait_timeout' });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function forget(appid: string, token: string): Promise<void> {
  if (memory.get(appid)?.token === token) memory.delete(appid);
  const redis = sharedRedis();
  if (redis) await redisCall(() => redis.eval(FORGET, [CACHE_PREFIX + appid], [token]));
}

function parseCached(raw: string): CachedToken | null {
  try {
    const entry = JSON.parse(raw) as CachedToken;
    return typeof entry.token === 'string' && typeof entry.usableUntil === 'number' && entry.usableUntil > Date.now()
      ? entry
      : null;
  } catch {
    return null;
  }
}

async function fetchStableToken(app: WechatApp): Promise<CachedToken> {
  const requestedAt = Date.now();
  return callWechat(
    {
      path: '/cgi-bin/stable_token',
      json: { grant_type: 'client_credential', appid: app.appid, secret: app.secret, force_refresh: false },
      // Normal mode is idempotent: asking again returns the same token.
      retryDelivered: true,
    },
    (body) => {
      const errcode = errcodeOf(body);
      if (errcode === 0) {
        const { access_token: token, expires_in: expiresIn } = body;
        if (typeof token !== 'string' || !token || typeof expiresIn !== 'number' || expiresIn <= 0) {
          throw new TransientFailure('incomplete_success_body', true);
        }
        // Counted from before the request: the token may be older than our reply.
        return { token, usableUntil: requestedAt + Math.max(expiresIn * 1000 - SAFETY_MARGIN_MS, POLL_MS) };
      }
      const logFields = wechatLogFields(body);
      if (errcode === -1) throw new TransientFailure('errcode_-1', true);
      // 45009/45011: this app's daily or per-minute quota; not the user's doing.
      if (errcode === 45009 || errcode === 45011) throw wechatUnavailable(logFields, 60);
      throw misconfiguredOr(STABLE_TOKEN_OUR_FAULT, errcode, logFields);
    },
  );
}
