// The Upstash Redis client, tuned for short serverless functions, and the one place that decides
// whether this deployment has Redis at all (local development may run without it). One client per
// process, shared by the session store and the rate limiter.
import { Redis } from '@upstash/redis';
import { config } from './config.js';
import { DependencyError } from './errors.js';

/** Per HTTP request; with one retry a dead Redis costs about 3 s of a 10 s function. */
export const REQUEST_TIMEOUT_MS = 1500;

export function upstashClient(url: string, token: string): Redis {
  return new Redis({
    url,
    token,
    // Values are our own JSON strings; don't let the client turn "123" into 123.
    automaticDeserialization: false,
    // Batches commands issued in the same tick into one request: a rate-limit check (EVALSHA) and
    // a session script (EVAL) leave together. Reads (GET, HGET…) are batched apart from writes.
    enableAutoPipelining: true,
    enableTelemetry: false,
    // The default (5 retries over ~4 s) would eat a serverless function's budget.
    retry: { retries: 1, backoff: () => 50 },
    signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

let shared: Redis | null | undefined;

/** This process's client when Upstash is configured; null means "keep state in process memory". */
export function sharedRedis(): Redis | null {
  if (shared === undefined) {
    const { redis } = config();
    shared = redis ? upstashClient(redis.url, redis.token) : null;
  }
  return shared;
}

/** Runs one Redis command; any failure becomes a 503 that names Redis. */
export async function redisCall<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw new DependencyError('redis', error);
  }
}
