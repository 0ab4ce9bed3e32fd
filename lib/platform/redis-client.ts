// What wxlogin asks of Redis, whichever protocol carries it (upstash.ts, redis-tcp.ts), and how long
// it waits: the contract both clients implement and redis.ts hands out.

/** Per request or command; with one retry of a failed connection a dead Redis costs about 3 s of a 10 s function. */
export const REQUEST_TIMEOUT_MS = 1500;
export const REDIS_REQUEST_MAX_MS = 2 * REQUEST_TIMEOUT_MS;

/** Scripts, a remembered value, a ping. Replies as Redis gives them. */
export interface RedisClient {
  evalsha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
