// Rate limits as sliding windows in Upstash Redis (@upstash/ratelimit). Over a limit: 429
// rate_limited with Retry-After and RateLimit-* headers. When Redis fails, the caller chooses:
// fail closed (503) where a request would spend the WeChat quota, fail open elsewhere.
import { Ratelimit } from '@upstash/ratelimit';
import { config, type RateLimitName } from './config.js';
import { ApiError, DependencyError, describeCause } from './errors.js';
import type { RequestContext } from './request-context.js';
import { sharedRedis } from './redis.js';

export type LimitCheck = readonly [RateLimitName, string];
export type OnRedisFailure = 'fail-open' | 'fail-closed';

const limiters = new Map<RateLimitName, Ratelimit>();

/** null when the limit is off, or without Upstash (local development: nothing is shared). */
function limiter(name: RateLimitName): Ratelimit | null {
  const redis = sharedRedis();
  const limit = config().rateLimits[name];
  if (!redis || !limit) return null;
  let ratelimit = limiters.get(name);
  if (!ratelimit) {
    ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.slidingWindow(limit.tokens, `${limit.windowSeconds} s`),
      prefix: `wxlogin:ratelimit:${name}`,
      // 0: no library timeout, which would silently allow after 5 s. Our Redis client's bounds apply.
      timeout: 0,
      analytics: false,
    });
    limiters.set(name, ratelimit);
  }
  return ratelimit;
}

/**
 * Counts this request against every check. The checks leave in one Redis request, together with
 * whatever Redis command the caller issues in the same tick.
 */
export async function enforceLimits(checks: LimitCheck[], onRedisFailure: OnRedisFailure, context: RequestContext) {
  const pending = checks.flatMap(([name, identifier]) => {
    const ratelimit = limiter(name);
    return ratelimit ? [{ name, result: ratelimit.limit(identifier) }] : [];
  });
  let results;
  try {
    results = await Promise.all(pending.map(async ({ name, result }) => ({ name, ...(await result) })));
  } catch (error) {
    if (onRedisFailure === 'fail-closed') throw new DependencyError('redis', error);
    Object.assign(context.log, { rateLimit: 'unavailable', rateLimitCause: describeCause(error) });
    return;
  }
  if (results.length === 0) return;
  const denied = results.find((result) => !result.success);
  // Report the limit that said no, else the one closest to saying it.
  const shown = denied ?? results.reduce((a, b) => (b.remaining / b.limit < a.remaining / a.limit ? b : a));
  const resetSeconds = Math.max(1, Math.ceil((shown.reset - Date.now()) / 1000));
  context.rateLimit = {
    limit: shown.limit,
    remaining: shown.remaining,
    resetSeconds,
    windowSeconds: config().rateLimits[shown.name]!.windowSeconds,
  };
  if (denied) throw new ApiError('rate_limited', { retryAfterSeconds: resetSeconds, logFields: { rateLimit: denied.name } });
}
