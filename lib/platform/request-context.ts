// What one request carries through the domain code: its id, its deadline, safe facts for its
// access-log line, and values the HTTP layer turns into response headers. Nothing here knows about
// HTTP.
import { ApiError } from './errors.js';

/** The rate limit closest to refusing this request (RateLimit-* headers). */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
  windowSeconds: number;
}

export interface RequestContext {
  requestId: string;
  /** The caller's address as a trusted proxy saw it; null when none vouches for it. */
  clientAddress: string | null;
  /** The same caller as per-address limits count it (an IPv6 /64). */
  clientIp: string | null;
  /** Epoch ms at which the request's budget answers 503: work that cannot finish by then must not start. */
  deadline: number;
  /** Safe facts for this request's access-log line (appid, person id): never user data or secrets. */
  log: Record<string, string | number>;
  rateLimit: RateLimitState | null;
}

export function newRequestContext(requestId: string, deadline: number): RequestContext {
  return { requestId, clientAddress: null, clientIp: null, deadline, log: {}, rateLimit: null };
}

/**
 * Refuses to start a step that may take up to `boundMs` (its own timeout) with less than that left
 * before `deadline`: its client would have the 503 first, and a write or a call spending a one-time code landing
 * after that is exactly what the client's retry repeats.
 */
export function requireTimeFor(deadline: number, boundMs: number, step: string): void {
  if (deadline - Date.now() < boundMs) throw budgetSpent(step);
}

/** The 503 of a request out of budget; `skipped` names the step it did not start. */
export function budgetSpent(skipped?: string): ApiError {
  return new ApiError('service_unavailable', {
    retryAfterSeconds: 5,
    logFields: { timeout: 'request_budget', ...(skipped === undefined ? {} : { skipped }) },
  });
}
