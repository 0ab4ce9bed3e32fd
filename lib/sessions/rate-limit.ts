// Rate limits as sliding windows (two fixed windows, the previous one weighted by what is left of
// it). Per client address on login: one Redis request sent alongside code2Session, never before it.
// Per account and per session: counted inside the session scripts, no request of their own. Failed
// authentications per address: in this instance's memory, so refusing writes nothing to Redis.
import { config, type RateLimitName } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { HIT } from './scripts.js';
import { runScript, sharedRedis } from '../platform/redis.js';
import type { RequestContext } from '../platform/request-context.js';

export interface Limit {
  tokens: number;
  windowMs: number;
}

export interface LimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Until the current window ends. */
  resetMs: number;
}

/** The configured limit, or null when it is off. */
export function limitOf(name: RateLimitName): Limit | null {
  const limit = config().rateLimits[name];
  return limit && { tokens: limit.tokens, windowMs: limit.windowSeconds * 1000 };
}

/** The memory twin of the Lua sliding window (lib/sessions/scripts.ts), for local development and auth failures. */
export class SlidingWindows {
  private readonly counters = new Map<string, { window: number; current: number; previous: number }>();

  hit(key: string, limit: Limit, now: number): LimitResult {
    const { window, current, previous, count } = this.estimate(key, limit, now);
    const resetMs = limit.windowMs - (now % limit.windowMs);
    if (count >= limit.tokens) return { allowed: false, limit: limit.tokens, remaining: 0, resetMs };
    if (this.counters.size > 10_000) this.forgetBefore(window - 1);
    this.counters.set(key, { window, current: current + 1, previous });
    return { allowed: true, limit: limit.tokens, remaining: Math.max(0, Math.floor(limit.tokens - count - 1)), resetMs };
  }

  /** Whether hit() would refuse, without counting. */
  exceeded(key: string, limit: Limit, now: number): boolean {
    return this.estimate(key, limit, now).count >= limit.tokens;
  }

  private estimate(key: string, { windowMs }: Limit, now: number) {
    const window = Math.floor(now / windowMs);
    const counter = this.counters.get(key);
    const current = counter?.window === window ? counter.current : 0;
    const previous = counter?.window === window ? counter.previous : counter?.window === window - 1 ? counter.current : 0;
    return { window, current, previous, count: previous * (1 - (now % windowMs) / windowMs) + current };
  }

  private forgetBefore(window: number): void {
    for (const [key, counter] of this.counters) if (counter.window < window) this.counters.delete(key);
  }
}

const local = new SlidingWindows();

/**
 * Counts a login from this client address (shared across instances through Redis; in memory
 * without it). Fails closed: without a working limiter nothing guards the WeChat quota.
 */
export function hitLoginPerIp(ip: string, now = Date.now()): Promise<LimitResult | null> {
  return hitShared('loginPerIp', `ip:${ip}`, now);
}

/** Counts a person's request for the copy of everything we hold about them, the same way. */
export function hitExportPerPerson(personId: string, now = Date.now()): Promise<LimitResult | null> {
  return hitShared('exportPerPerson', `export:${personId}`, now);
}

async function hitShared(name: RateLimitName, subject: string, now: number): Promise<LimitResult | null> {
  const limit = limitOf(name);
  if (!limit) return null;
  const redis = sharedRedis();
  if (!redis) return local.hit(`${name}:${subject}`, limit, now);
  const window = Math.floor(now / limit.windowMs);
  const base = `${config().redisKeyPrefix}rl:${subject}:`;
  const result = await runScript<Omit<LimitResult, 'limit'>>(redis, HIT, [base + window, base + (window - 1)], [limit.tokens, limit.windowMs, now]);
  return { ...result, limit: limit.tokens };
}

/** Reports a limit to the HTTP layer (RateLimit-* headers) and refuses the request when it is used up. */
export function applyLimit(result: LimitResult | null, name: RateLimitName, context: RequestContext): void {
  if (!result) return;
  const resetSeconds = Math.max(1, Math.ceil(result.resetMs / 1000));
  context.rateLimit = {
    limit: result.limit,
    remaining: result.remaining,
    resetSeconds,
    windowSeconds: config().rateLimits[name]?.windowSeconds ?? resetSeconds,
  };
  if (!result.allowed) throw new ApiError('rate_limited', { retryAfterSeconds: resetSeconds, logFields: { rateLimit: name } });
}

const authFailures = new SlidingWindows();

/**
 * Counts a failed authentication (unknown token, wrong key) from this address, in memory; past the
 * limit the failure is a 429 instead of a 401. Valid credentials are never refused by it, so one
 * abuser behind a carrier NAT does not lock out the people sharing the address.
 */
export function authFailure(ip: string | null, context: RequestContext, failure: ApiError): ApiError {
  const limit = limitOf('authFailuresPerIp');
  if (!limit || ip === null) return failure;
  const key = `authFailures:${ip}`;
  const now = Date.now();
  if (authFailures.exceeded(key, limit, now)) {
    const resetSeconds = Math.max(1, Math.ceil((limit.windowMs - (now % limit.windowMs)) / 1000));
    return new ApiError('rate_limited', { retryAfterSeconds: resetSeconds, logFields: { rateLimit: 'authFailuresPerIp' } });
  }
  authFailures.hit(key, limit, now);
  context.log.authFailure = failure.code;
  return failure;
}
