// A Redis server over TCP (REDIS_URL, redis:// or rediss://) for a long-lived server: one
// connection per process through node-redis, the client redis.io recommends. Every command is
// bounded where it waits: to be sent while the connection is down, and for its reply once sent.
import { createClient, TimeoutReadError } from '@redis/client';
import { REQUEST_TIMEOUT_MS, type RedisClient } from './redis-client.js';

/** node-redis as this server sets it up (the benchmark's bare calls use the same). */
export function nodeRedisClient(url: string) {
  const client = createClient({
    url,
    socket: {
      connectTimeout: REQUEST_TIMEOUT_MS,
      // Reconnects in the background; meanwhile commands wait in its queue up to their timeout.
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
    // A reply that never comes fails too: our callers answer 503 within the request's budget.
    commandOptions: { timeout: REQUEST_TIMEOUT_MS, rejectInFlight: true },
  });
  // Connection errors surface as the commands' own failures; unhandled, this event ends the process.
  client.on('error', () => {});
  void client.connect().catch(() => {});
  return client;
}

export function tcpRedis(url: string): RedisClient {
  let client = nodeRedisClient(url);
  /**
   * A reply that did not come in time holds up every later command on its connection, and a path
   * that silently lost the connection (a NAT or balancer dropping it) never answers: the next
   * commands go over a new connection instead.
   */
  const bounded = async <T>(command: () => Promise<T>): Promise<T> => {
    const used = client;
    try {
      return await command();
    } catch (error) {
      if (error instanceof TimeoutReadError && used === client) {
        client = nodeRedisClient(url);
        used.destroy();
      }
      throw error;
    }
  };
  return {
    evalsha: (sha, keys, args) => bounded(() => client.evalSha(sha, { keys, arguments: args })),
    eval: (script, keys, args) => bounded(() => client.eval(script, { keys, arguments: args })),
    get: (key) => bounded(() => client.get(key) as Promise<string | null>),
    set: (key, value, ttlSeconds) => bounded(async () => void (await client.set(key, value, { expiration: { type: 'EX', value: ttlSeconds } }))),
    ping: () => bounded(async () => void (await client.ping())),
    close: async () => {
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}
