// A Redis server over TCP (REDIS_URL, redis:// or rediss://) for a long-lived server: one
// connection per process through node-redis, the client redis.io recommends. Every command is
// bounded where it waits: to be sent while the connection is down, and for its reply once sent.
import { createClient } from '@redis/client';
import { REQUEST_TIMEOUT_MS, type RedisClient } from './redis.js';

export function tcpRedis(url: string): RedisClient {
  const client = createClient({
    url,
    socket: {
      connectTimeout: REQUEST_TIMEOUT_MS,
      // Reconnects in the background; meanwhile commands wait in its queue up to their timeout.
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2000),
    },
    // A reply that never comes (a stalled server) fails too: our scripts' callers answer 503.
    commandOptions: { timeout: REQUEST_TIMEOUT_MS, rejectInFlight: true },
  });
  // Connection errors surface as the commands' own failures; unhandled, this event ends the process.
  client.on('error', () => {});
  void client.connect().catch(() => {});
  return {
    evalsha: (sha, keys, args) => client.evalSha(sha, { keys, arguments: args }),
    eval: (script, keys, args) => client.eval(script, { keys, arguments: args }),
    get: (key) => client.get(key) as Promise<string | null>,
    set: async (key, value, ttlSeconds) => void (await client.set(key, value, { expiration: { type: 'EX', value: ttlSeconds } })),
    ping: async () => void (await client.ping()),
    close: async () => {
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}
