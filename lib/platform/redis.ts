// Redis as wxlogin uses it, whichever protocol carries it: Upstash's REST API (./upstash.ts) for
// serverless functions, or a Redis server over TCP (./redis-tcp.ts, REDIS_URL) for a long-lived
// server. The one place that decides whether this deployment has Redis at all (local development
// may run without it). One client per process.
import { createHash } from 'node:crypto';
import { config } from './config.js';
import { DependencyError } from './errors.js';
import type { RedisClient } from './redis-client.js';
import { upstashRedis } from './upstash.js';

export { REDIS_REQUEST_MAX_MS, REQUEST_TIMEOUT_MS, type RedisClient } from './redis-client.js';

let shared: RedisClient | null | undefined;

/** This process's client when Redis is configured; null means "keep state in process memory". */
export function sharedRedis(): RedisClient | null {
  if (shared === undefined) {
    const { redis } = config();
    if (!redis) shared = null;
    else if (redis.kind === 'upstash') shared = upstashRedis(redis.url, redis.token);
    else shared = loadedOnUse(import('./redis-tcp.js').then(({ tcpRedis }) => tcpRedis(redis.url)));
  }
  return shared;
}

/** Ends this process's connection, if any (a server shutting down). */
export async function closeRedis(): Promise<void> {
  const closing = shared;
  shared = undefined;
  await closing?.close();
}

/** A client whose module loads on first use: functions on Upstash never load the TCP client. */
function loadedOnUse(client: Promise<RedisClient>): RedisClient {
  return {
    evalsha: async (...args) => (await client).evalsha(...args),
    eval: async (...args) => (await client).eval(...args),
    get: async (key) => (await client).get(key),
    set: async (...args) => (await client).set(...args),
    ping: async () => (await client).ping(),
    close: async () => (await client).close(),
  };
}

const digests = new Map<string, string>();

/**
 * Runs a script of lib/sessions/scripts.ts (or another module's) in one request: EVALSHA, and EVAL
 * when Redis does not hold the script yet (NOSCRIPT). Text replies are the scripts' JSON. Any
 * failure becomes a 503 that names Redis.
 */
export async function runScript<T>(redis: RedisClient, text: string, keys: string[], args: (string | number)[]): Promise<T> {
  let sha = digests.get(text);
  if (!sha) digests.set(text, (sha = createHash('sha1').update(text).digest('hex')));
  const values = args.map(String);
  const reply = await redisCall(async () => {
    try {
      return await redis.evalsha(sha, keys, values);
    } catch (error) {
      if (!/NOSCRIPT/.test((error as Error)?.message ?? '')) throw error;
      return redis.eval(text, keys, values);
    }
  });
  return (typeof reply === 'string' ? JSON.parse(reply) : reply) as T;
}

/** Runs one Redis request; any failure becomes a 503 that names Redis. */
export async function redisCall<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw new DependencyError('redis', error);
  }
}
