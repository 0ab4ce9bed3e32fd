// npm run bench:load — a bounded load test, not part of the test suite: 64 concurrent clients on one
// local instance (the local server, real Redis through the Upstash gateway, real Postgres through
// the bridge, the fake WeChat), a fixed number of requests, zero errors allowed, memory reported.
// Each client repeats login → /me ×3 → logout. Needs Redis and PostgreSQL as the tests do
// (REDIS_URL, PGHOST, PGPORT, PGUSER). BENCH_REQUESTS and BENCH_CLIENTS change the load.
import { randomBytes } from 'node:crypto';
import { startUpstashGateway } from './local/upstash-gateway.js';
import { startFakeWechat } from './local/fake-wechat.js';
import { divertAccessLog } from './local/access-log.js';
import { dropDatabase, recreateDatabase } from './local/postgres.js';
import { startPgBridge } from './local/pg-bridge.js';
import { startServer } from '../server/http.js';

const TOTAL = Number(process.env.BENCH_REQUESTS ?? 12_800);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 64);
const APPID = 'wxbench000000000001';
const MAX_HEAP_GROWTH_MB = 32;

const postgres = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432) };
const pgUser = process.env.PGUSER ?? 'postgres';
const database = `wxlogin_bench_${process.pid}`;
const adminUrl = `postgres://${pgUser}@${postgres.host}:${postgres.port}/postgres`;

// Access-log lines are counted, not printed.
let logLines = 0;
divertAccessLog(() => {
  logLines += 1;
});

await recreateDatabase(postgres, adminUrl, database);
const wechat = await startFakeWechat({ apps: [{ appid: APPID, secret: 'bench-secret', openPlatform: true }] });
const gateway = await startUpstashGateway(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const bridge = await startPgBridge(postgres);
Object.assign(process.env, {
  WECHAT_APPS: `${APPID}:bench-secret`,
  WECHAT_API_BASE: wechat.url,
  UPSTASH_REDIS_REST_URL: gateway.url,
  UPSTASH_REDIS_REST_TOKEN: gateway.token,
  DATABASE_URL: `postgres://${pgUser}@${postgres.host}:${postgres.port}/${database}`,
  NEON_WS_PROXY: bridge.address,
  SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  // Sessions a cut-short cycle leaves behind go away soon, in a namespace of their own.
  REDIS_KEY_PREFIX: 'wxlogin:bench:',
  SESSION_IDLE_TTL: '600',
  SESSION_MAX_AGE: '600',
  // The local server sets x-forwarded-for from the socket: every client is 127.0.0.1, so the
  // per-IP limit is raised; it is still counted on every login.
  TRUST_PROXY_HEADERS: '1',
  RATE_LIMIT_LOGIN_PER_IP: '10000000/1m',
});
const { migrate } = await import('../lib/platform/migrations.js');
const { closeDatabase } = await import('../lib/platform/postgres.js');
await migrate();
const server = await startServer({ port: 0 });

type Route = 'login' | 'me' | 'logout';
const latencies: Record<Route, number[]> = { login: [], me: [], logout: [] };
const errors: string[] = [];
let sent = 0;

async function timedCall(route: Route, init: RequestInit, expected: number): Promise<Response | null> {
  const started = performance.now();
  try {
    const response = await fetch(`${server.url}/api/${route}`, init);
    const body = await response.arrayBuffer();
    latencies[route].push(performance.now() - started);
    if (response.status !== expected) {
      errors.push(`${route} ${response.status} ${Buffer.from(body).toString('utf8').slice(0, 200)}`);
      return null;
    }
    return new Response(response.status === 204 ? null : body, { status: response.status });
  } catch (error) {
    errors.push(`${route} ${(error as Error).message}`);
    return null;
  }
}

/** One client: login → me ×3 → logout, until the shared request count is reached. */
async function client(budget: () => boolean) {
  while (budget()) {
    const code = wechat.issueCode(APPID, `bench-${randomBytes(6).toString('hex')}`);
    const login = await timedCall(
      'login',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) },
      200,
    );
    if (!login) continue;
    const { token } = (await login.json()) as { token: string };
    const authorization = { authorization: `Bearer ${token}` };
    for (let i = 0; i < 3 && budget(); i++) await timedCall('me', { headers: authorization }, 200);
    if (budget()) await timedCall('logout', { method: 'POST', headers: authorization }, 204);
  }
}

const take = (limit: number) => () => (sent < limit ? (sent += 1, true) : false);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMb = () => {
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

// Warm-up: pools, scripts, JIT. Not counted.
await Promise.all(Array.from({ length: CLIENTS }, () => client(take(CLIENTS * 5))));
for (const route of Object.keys(latencies) as Route[]) latencies[route] = [];
errors.length = 0;
sent = 0;
gateway.resetCounts();

const rssStart = rssMb();
const heapStart = heapMb();
let rssPeak = rssStart;
const sampler = setInterval(() => {
  rssPeak = Math.max(rssPeak, rssMb());
}, 200);
const started = performance.now();
await Promise.all(Array.from({ length: CLIENTS }, () => client(take(TOTAL))));
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const rssEnd = rssMb();
const heapEnd = heapMb();

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
const completed = Object.values(latencies).reduce((n, list) => n + list.length, 0);
const upstash = gateway.counts();
const lines = [
  `bench:load — ${CLIENTS} concurrent clients, ${completed} requests in ${seconds.toFixed(1)} s (${(completed / seconds).toFixed(0)} req/s), errors: ${errors.length}`,
  ...(Object.entries(latencies) as [Route, number[]][]).map(
    ([route, list]) =>
      `  ${route.padEnd(7)} n=${String(list.length).padStart(6)}  p50 ${percentile(list, 50).toFixed(1)} ms  p95 ${percentile(list, 95).toFixed(1)} ms  p99 ${percentile(list, 99).toFixed(1)} ms`,
  ),
  `  Upstash: ${upstash.requests} requests (${(upstash.requests / completed).toFixed(2)} per request), ${(upstash.bytesIn / 1e6).toFixed(1)} MB sent, ${(upstash.bytesOut / 1e6).toFixed(1)} MB received`,
  `  RSS start ${rssStart.toFixed(0)} MB, peak ${rssPeak.toFixed(0)} MB, end ${rssEnd.toFixed(0)} MB (whole process: server, gateway, bridge, fake WeChat)`,
  gc
    ? `  heap after GC: start ${heapStart.toFixed(1)} MB, end ${heapEnd.toFixed(1)} MB`
    : '  heap after GC: run with node --expose-gc (npm run bench:load does) to measure',
  `  access-log lines: ${logLines}`,
];
console.log(lines.join('\n'));
for (const error of errors.slice(0, 10)) console.log(`  error: ${error}`);

await server.close();
await closeDatabase();
await Promise.all([wechat.close(), gateway.close(), bridge.close()]);
await dropDatabase(postgres, adminUrl, database);

const heapGrew = gc !== undefined && heapEnd - heapStart > MAX_HEAP_GROWTH_MB;
if (heapGrew) console.log(`  FAIL: heap grew by more than ${MAX_HEAP_GROWTH_MB} MB`);
process.exit(errors.length > 0 || heapGrew ? 1 : 0);
