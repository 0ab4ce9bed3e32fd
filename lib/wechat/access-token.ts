// WeChat's access_token per mini program, from /cgi-bin/stable_token in normal mode, which hands
// every caller the same live token (the classic /cgi-bin/token revokes the previous one on each
// fetch, so instances refreshing at once break each other). Kept in this instance's memory and in
// Redis; fetched by one caller per instance and, across instances, by the holder of a short Redis
// lease while the others poll for its result. force_refresh is never used: it revokes the live token
// for every instance and WeChat allows it 20 times a day. In Redis the token is sealed to its app
// (lib/platform/sealing.ts): a Redis leak, or a preview sharing Redis under its own key, gets no credential.
// A refusal (quota, wrong secret, IP...) is remembered for a short while, so that neither callers
// nor lease waiters ask again meanwhile.
import { randomUUID } from 'node:crypto';
import { config, type WechatApp } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { runScript, sharedRedis, type RedisClient } from '../platform/redis.js';
import { seal, unseal } from '../platform/sealing.js';
import { callWechat, errcodeOf, misconfiguredOr, TransientFailure, wechatLogFields, wechatUnavailable } from './client.js';
import type { WechatBody, WechatLogFields } from './client.js';

interface CachedToken {
  token: string;
  /** Epoch ms after which we stop handing it out. */
  usableUntil: number;
}

/** A token this instance holds, and the sealed value in Redis it was read from or stored as. */
interface HeldToken extends CachedToken {
  /** null without Redis. */
  stored: string | null;
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
/** Each key is under the environment's namespace (REDIS_KEY_PREFIX), then one of these, then the appid. */
const CACHE = 'access-token:';
const LEASE = 'access-token-lease:';
const REFUSAL = 'access-token-refused:';
/** How long a refusal is remembered when its answer names no Retry-After (a configuration error). */
const REFUSAL_MEMORY_SECONDS = 30;

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
 * again (normal mode) and runs `call` once more. Fetching stops at `deadline` (epoch ms).
 * With 开放接口服务 (微信云托管) WeChat's sidecar holds the token: `call` gets the appid in its
 * place, which the client sends as from_appid (client.ts), and nothing is fetched.
 */
export async function withAccessToken<T>(app: WechatApp, deadline: number, call: (accessToken: string) => Promise<T>): Promise<T> {
  if (config().wechatOpenApiBase !== null) {
    try {
      return await call(app.appid);
    } catch (error) {
      if (!(error instanceof AccessTokenRejected)) throw error;
      throw wechatUnavailable({ wechat: 'open_api_service_token_rejected', ...error.logFields });
    }
  }
  const rejected = await heldToken(app, deadline);
  try {
    return await call(rejected.token);
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    await forget(app.appid, rejected);
  }
  try {
    return await call(await accessToken(app, deadline));
  } catch (error) {
    if (!(error instanceof AccessTokenRejected)) throw error;
    throw wechatUnavailable({ wechat: 'access_token_rejected_twice', ...error.logFields });
  }
}

const memory = new Map<string, HeldToken>();
const inFlight = new Map<string, Promise<HeldToken>>();
/** Refusals by appid, when there is no Redis to share them in. */
const refusals = new Map<string, { logFields: WechatLogFields; until: number }>();

/**
 * The app's live token: from memory, else Redis, else one stable_token call across all instances,
 * waiting and fetching no later than `deadline` (epoch ms; concurrent callers share the first one's).
 */
export async function accessToken(app: WechatApp, deadline: number): Promise<string> {
  return (await heldToken(app, deadline)).token;
}

async function heldToken(app: WechatApp, deadline: number): Promise<HeldToken> {
  const held = memory.get(app.appid);
  if (held && held.usableUntil > Date.now()) return held;
  let flight = inFlight.get(app.appid);
  if (!flight) {
    flight = obtain(app, deadline).finally(() => inFlight.delete(app.appid));
    inFlight.set(app.appid, flight);
  }
  return flight;
}

async function obtain(app: WechatApp, deadline: number): Promise<HeldToken> {
  const redis = sharedRedis();
  // Without Redis (local development) this process is the only instance.
  const held = redis ? await obtainShared(redis, app, deadline) : await obtainLocal(app, deadline);
  memory.set(app.appid, held);
  return held;
}

async function obtainLocal(app: WechatApp, deadline: number): Promise<HeldToken> {
  const refused = refusals.get(app.appid);
  if (refused && refused.until > Date.now()) throw remembered(refused.logFields, refused.until - Date.now());
  const result = await fetchStableToken(app, deadline);
  if ('token' in result) return { ...result, stored: null };
  const memoryMs = refusalMemoryMs(result);
  refusals.set(app.appid, { logFields: result, until: Date.now() + memoryMs });
  throw remembered(result, memoryMs);
}

// One round trip: the cached token if any, else a remembered refusal, else try to take the lease.
const CLAIM = `
local cached = redis.call('GET', KEYS[1])
if cached then return {'cached', cached} end
local refused = redis.call('GET', KEYS[3])
if refused then return {'refused', refused, redis.call('PTTL', KEYS[3])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'lease'} end
return {'wait'}`;

// Publish the token or the refusal, and give the lease back if it is still ours.
const PUBLISH = `
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[5]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

// Drop the cached value only if it is still the one read: another instance may have replaced it.
const FORGET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])`;

async function obtainShared(redis: RedisClient, app: WechatApp, requestDeadline: number): Promise<HeldToken> {
  const prefix = config().redisKeyPrefix;
  const cacheKey = prefix + CACHE + app.appid;
  const keys = [cacheKey, prefix + LEASE + app.appid, prefix + REFUSAL + app.appid];
  const holder = randomUUID();
  const deadline = Math.min(Date.now() + WAIT_MS, requestDeadline);
  for (;;) {
    const [state, value, ttl] = await runScript<[string, string?, number?]>(redis, CLAIM, keys, [holder, LEASE_MS]);
    if (state === 'cached' && value) {
      const entry = openCached(app.appid, value);
      if (entry) return { ...entry, stored: value };
      // Unreadable, or past its use by this instance's clock: drop it (unless replaced) and claim again.
      await runScript(redis, FORGET, [cacheKey], [value]);
    }
    if (state === 'refused' && value) throw remembered(JSON.parse(value) as WechatLogFields, ttl ?? 0);
    if (state === 'lease') return fetchAndPublish(redis, app, keys, holder, requestDeadline);
    if (Date.now() + POLL_MS >= deadline) throw wechatUnavailable({ wechat: 'access_token_wait_timeout' });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** As the lease holder: one stable_token call, its token or refusal shared, the lease given back. */
async function fetchAndPublish(redis: RedisClient, app: WechatApp, keys: string[], holder: string, deadline: number): Promise<HeldToken> {
  let token: HeldToken | undefined;
  let refusal: WechatLogFields | undefined;
  try {
    const result = await fetchStableToken(app, deadline);
    if ('token' in result) token = { ...result, stored: seal(JSON.stringify(result), sealedFor(app.appid)) };
    else refusal = result;
  } finally {
    // After a transient failure neither is shared: the next caller tries again.
    const tokenTtl = token ? token.usableUntil - Date.now() : 0;
    await runScript(redis, PUBLISH, keys, [
      holder,
      token && tokenTtl > 0 ? token.stored! : '',
      Math.max(tokenTtl, 1),
      refusal ? JSON.stringify(refusal) : '',
      refusal ? refusalMemoryMs(refusal) : 1,
    ]);
  }
  if (token) return token;
  throw remembered(refusal!, refusalMemoryMs(refusal!));
}

async function forget(appid: string, rejected: HeldToken): Promise<void> {
  if (memory.get(appid) === rejected) memory.delete(appid);
  const redis = sharedRedis();
  if (redis && rejected.stored) await runScript(redis, FORGET, [config().redisKeyPrefix + CACHE + appid], [rejected.stored]);
}

/** Associated data of a sealed token: opens only as this app's access_token. */
function sealedFor(appid: string): string {
  return JSON.stringify(['wechat-access-token', appid]);
}

/** The entry, or null when it does not open for this app, is malformed or past its use. */
function openCached(appid: string, stored: string): CachedToken | null {
  const opened = unseal(stored, sealedFor(appid));
  try {
    const entry = JSON.parse(opened ?? '') as CachedToken;
    return typeof entry.token === 'string' && typeof entry.usableUntil === 'number' && entry.usableUntil > Date.now()
      ? entry
      : null;
  } catch {
    return null;
  }
}

/**
 * A stable_token refusal (any errcode but -1, which is retried): what it tells our callers, reissued
 * with the time it stays remembered as Retry-After.
 */
function remembered(refusal: WechatLogFields, leftMs: number): ApiError {
  const answer = answerTo(refusal);
  return new ApiError(answer.code, {
    detail: answer.detail,
    retryAfterSeconds: Math.max(1, Math.ceil(leftMs / 1000)),
    logFields: answer.logFields,
  });
}

function answerTo(refusal: WechatLogFields): ApiError {
  // 45009/45011: this app's daily or per-minute quota; not the user's doing.
  if (refusal.wechatErrcode === 45009 || refusal.wechatErrcode === 45011) return wechatUnavailable(refusal, 60);
  return misconfiguredOr(STABLE_TOKEN_OUR_FAULT, refusal.wechatErrcode, refusal);
}

/** As long as the answer asks callers to wait, else (a configuration error) REFUSAL_MEMORY_SECONDS. */
function refusalMemoryMs(refusal: WechatLogFields): number {
  return 1000 * (answerTo(refusal).retryAfterSeconds ?? REFUSAL_MEMORY_SECONDS);
}

/** The token, or WeChat's refusal (its errcode and request id). */
async function fetchStableToken(app: WechatApp, deadline: number): Promise<CachedToken | WechatLogFields> {
  const requestedAt = Date.now();
  return callWechat<CachedToken | WechatLogFields>(
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
      if (errcode === -1) throw new TransientFailure('errcode_-1', true);
      return wechatLogFields(body);
    },
    deadline,
  );
}
