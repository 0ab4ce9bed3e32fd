// npm start: the production server for a long-lived host (a container, 微信云托管, SCF, Function
// Compute). Every api/ function and public/ on PORT (HOST: 0.0.0.0), under the guards of a Vercel
// deployment: NODE_ENV=production makes the configuration require Redis and the secrets, and nothing
// falls back to process memory or a mock WeChat. SIGTERM drains: requests in flight finish, new
// connections are refused, then exit 0. Runs as the bundle `npm run build` makes (dist/server.mjs).
import { config, ConfigError } from '../lib/platform/config.js';
import { closeDatabase } from '../lib/platform/postgres.js';
import { closeRedis, sharedRedis } from '../lib/platform/redis.js';
import { startServer } from './http.js';

/** A function's budget on Vercel (vercel.json maxDuration), and a second to write the answer. */
const DRAIN_GRACE_MS = 11_000;

process.env.NODE_ENV = 'production';
const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '0.0.0.0';

try {
  config();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
}
// Connects before the first request needs it; an unreachable Redis is each request's 503, not a crash.
void sharedRedis()?.ping().catch(() => {});

const server = await startServer({ port, host }).catch((error: unknown) => {
  console.error((error as { code?: unknown }).code === 'EADDRINUSE' ? `port ${port} is in use; set PORT` : `cannot listen: ${String(error)}`);
  process.exit(1);
});
console.log(`wxlogin is listening on ${server.url} (${server.routes.length} functions, pid ${process.pid})`);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining (new connections refused, up to ${DRAIN_GRACE_MS / 1000} s for requests in flight)`);
    void server.drain(DRAIN_GRACE_MS).then(async (drained) => {
      await Promise.allSettled([closeRedis(), closeDatabase()]);
      console.log(drained ? 'drained; exiting' : 'requests still running when the grace period ended; exiting');
      process.exit(drained ? 0 : 1);
    });
  });
}
