// What one request carries through the domain code: its id, safe facts for its access-log line, and
// values the HTTP layer turns into response headers. Nothing here knows about HTTP.

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
  /** Safe facts for this request's access-log line (appid, person id): never user data or secrets. */
  log: Record<string, string | number>;
  rateLimit: RateLimitState | null;
}

export function newRequestContext(requestId: string): RequestContext {
  return { requestId, clientAddress: null, clientIp: null, log: {}, rateLimit: null };
}
