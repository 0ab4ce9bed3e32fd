// npm run bench:stacks [-- --quick]: login and /me on each stack the server runs on, against the bare
// calls made with the same clients, and the round trips each request makes:
//   upstash   Upstash's REST API (HTTP, a request per round trip) + Neon's driver (WebSocket), as on Vercel;
//   standard  Redis over one long-lived TCP connection (node-redis) + node-postgres over TCP, as npm start runs.
// Each stack is measured in a process of its own (the configuration is process-wide), against the
// same backend process as `npm run bench` (fake WeChat, gateway, bridges, pipes), on loopback and
// with modelled latencies. Prints a Markdown table (docs/benchmarks.md keeps the last one).
import { fork } from 'node:child_process';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { closeDatabase, query } from '../lib/platform/postgres.js';
import { nodeRedisClient } from '../lib/platform/redis-tcp.js';
import { upstashClient } from '../lib/platform/upstash.js';
import { loadFunctions } from '../server/functions.js';
import { divertAccessLog } from './local/access-log.js';
import { dropDatabase, migrateDatabase, reachable, recreateDatabase } from './local/postgres.js';
import { startBackends, type Backends, type Traffic } from './bench/backends.js';
import { interleave, summarize } from './bench/measure.js';
import { expectStatus, loginRequest, meRequest } from './bench/requests.js';

type Stack = 'upstash' | 'standard';
const STACKS: Stack[] = ['upstash', 'standard'];
const SCENARIOS = [
  { name: 'loopback', wechatMs: 0, backendMs: 0 },
  { name: 'modelled', wechatMs: 30, backendMs: 2 },
];
const quick = process.argv.includes('--quick');
const SIZES = quick ? { warmup: 20, iterations: [100, 15], roundTrips: 10 } : { warmup: 50, iterations: [600, 100], roundTrips: 30 };
const APPID = 'wxbench00000000002';
const SECRET = 'bench-secret-0123456789';
const KEY_PREFIX = 'wxlogin:bench-stacks:';
const TTL_SECONDS = 600;

interface StackResult {
  stack: Stack;
  rows: { scenario: string; flow: 'login' | 'me'; ours: number; bare: number }[];
  trips: { flow: 'login' | 'me'; wechat: number; postgres: number; redis: number }[];
}

const stackArg = process.argv.find((arg) => arg.startsWith('--stack='))?.split('=')[1] as Stack | undefined;
if (stackArg) {
  const result = await measure(stackArg, JSON.parse(process.argv.find((arg) => arg.startsWith('--setup='))!.slice(8)));
  await new Promise((resolve) => process.send!(result, resolve));
} else {
  await main();
}
process.exit(0);

async function main(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const pg = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432) };
  const user = process.env.PGUSER ?? 'postgres';
  if (!(await reachable(new URL(redisUrl).hostname, Number(new URL(redisUrl).port || 6379))) || !(await reachable(pg.host, pg.port))) {
    throw new Error('bench:stacks needs Redis (REDIS_URL) and PostgreSQL (PGHOST/PGPORT)');
  }
  const database = `wxlogin_stacks_${process.pid}`;
  const adminUrl = `postgres://${user}@${pg.host}:${pg.port}/postgres`;
  await recreateDatabase(pg, adminUrl, database);
  try {
    await migrateDatabase(pg, `postgres://${user}@${pg.host}:${pg.port}/${database}`);
    const results: StackResult[] = [];
    for (const stack of STACKS) {
      process.stderr.write(`bench:stacks: measuring the ${stack} stack\n`);
      const child = fork(fileURLToPath(import.meta.url), [`--stack=${stack}`, `--setup=${JSON.stringify({ redisUrl, pg, user, database })}`, ...(quick ? ['--quick'] : [])], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      results.push(await new Promise<StackResult>((resolve, reject) => {
        child.once('message', (message) => resolve(message as StackResult));
        child.once('exit', (code) => reject(new Error(`the ${stack} stack's process exited (${code})`)));
      }));
    }
    console.log(table(results));
  } finally {
    await dropDatabase(pg, adminUrl, database);
  }
}

async function measure(stack: Stack, setup: { redisUrl: string; pg: { host: string; port: number }; user: string; database: string }): Promise<StackResult> {
  const backends = await startBackends({ appid: APPID, secret: SECRET, redisUrl: setup.redisUrl, postgres: setup.pg });
  const releaseLog = divertAccessLog(() => {});
  const directUrl = `postgres://${setup.user}@${setup.pg.host}:${setup.pg.port}/${setup.database}`;
  const [pipeHost, pipePort] = backends.pgPipeAddress.split(':');
  const sessionEncryptionKey = randomBytes(32).toString('base64');
  Object.assign(process.env, {
    WECHAT_APPS: `${APPID}:${SECRET}`,
    WECHAT_API_BASE: backends.wechatUrl,
    REDIS_KEY_PREFIX: KEY_PREFIX,
    SESSION_ENCRYPTION_KEY: sessionEncryptionKey,
    SESSION_IDLE_TTL: String(TTL_SECONDS),
    SESSION_MAX_AGE: String(TTL_SECONDS),
    TRUST_PROXY_HEADERS: '1',
    RATE_LIMIT_LOGIN_PER_IP: '10000000/1m',
    ...(stack === 'upstash'
      ? { UPSTASH_REDIS_REST_URL: backends.gatewayUrl, UPSTASH_REDIS_REST_TOKEN: backends.gatewayToken, DATABASE_URL: directUrl, NEON_WS_PROXY: backends.bridgeAddress }
      : { REDIS_URL: backends.redisPipeUrl, DATABASE_URL: Object.assign(new URL(directUrl), { hostname: pipeHost, port: pipePort }).toString() }),
  });
  const bare = bareCalls(stack, backends, sessionEncryptionKey);
  const functions = await loadFunctions();
  const [login, me] = [functions.match('/api/login')!, functions.match('/api/me')!];
  let people = 0;
  const person = () => `${stack}-${process.pid}-${people++}`;
  const ourLogin = async () => JSON.parse(await expectStatus(await login.fetch(loginRequest(APPID, person())), 200, 'login')).token as string;
  const tokens: string[] = [];
  for (let i = 0; i < 200; i++) tokens.push(await ourLogin());
  const token = (i: number) => tokens[i % tokens.length]!;
  const ourMe = (i: number) => async () => expectStatus(await me.fetch(meRequest(token(i))), 200, 'me');

  const trips: StackResult['trips'] = [];
  await backends.setLatency(20, 1);
  for (const [flow, call] of [['login', () => ourLogin()], ['me', ourMe(0)]] as const) {
    await call();
    const traffic: Traffic[] = [];
    for (let i = 0; i < SIZES.roundTrips; i++) traffic.push(await backends.record(call));
    const mean = (count: (one: Traffic) => number) => traffic.reduce((sum, one) => sum + count(one), 0) / traffic.length;
    trips.push({ flow, wechat: mean((one) => one.wechat.length), postgres: mean((one) => one.postgres), redis: mean((one) => one.redis.length + one.redisCommands) });
  }

  const rows: StackResult['rows'] = [];
  for (const [index, scenario] of SCENARIOS.entries()) {
    await backends.setLatency(scenario.wechatMs, scenario.backendMs);
    const iterations = SIZES.iterations[index]!;
    const signal = new AbortController().signal;
    const logins = await interleave(
      { ours: async () => ourLogin, bare: async () => () => bare.login(person()) },
      iterations,
      SIZES.warmup / (index + 1),
      signal,
    );
    const mes = await interleave({ ours: async (i) => ourMe(i), bare: async (i) => () => bare.me(token(i)) }, iterations, SIZES.warmup / (index + 1), signal);
    for (const [flow, timings] of [['login', logins], ['me', mes]] as const) {
      rows.push({ scenario: scenario.name, flow, ours: summarize(timings.ours!.wall).p50, bare: summarize(timings.bare!.wall).p50 });
    }
  }
  await bare.close();
  releaseLog();
  await closeDatabase();
  await backends.close();
  return { stack, rows, trips };
}

/**
 * The calls no login or /me can avoid, with the stack's own clients: code2Session, record_login,
 * one session write; one read of our session key. As scripts/bench/baselines.ts, per stack.
 */
function bareCalls(stack: Stack, backends: Backends, sessionEncryptionKey: string) {
  const dispatcher = new Agent({ connect: { timeout: 1000 }, headersTimeout: 2000, bodyTimeout: 2000, keepAliveTimeout: 30_000 });
  const upstash = stack === 'upstash' ? upstashClient(backends.gatewayUrl, backends.gatewayToken) : null;
  const tcp = stack === 'standard' ? nodeRedisClient(backends.redisPipeUrl) : null;
  const idKey = Buffer.from(hkdfSync('sha256', Buffer.from(sessionEncryptionKey, 'base64'), Buffer.alloc(0), 'wxlogin session id', 32));
  return {
    async login(person: string): Promise<void> {
      const params = new URLSearchParams({ appid: APPID, secret: SECRET, js_code: `mock:${person}`, grant_type: 'authorization_code' });
      const { body } = await request(`${backends.wechatUrl}/sns/jscode2session?${params}`, { dispatcher });
      const wechat = JSON.parse(await body.text()) as { openid: string; session_key: string; unionid?: string };
      const [row] = await query<{ person_id: string }>('select * from record_login($1, $2, $3)', [APPID, wechat.openid, wechat.unionid ?? null]);
      const key = `${KEY_PREFIX}bare:${randomBytes(32).toString('base64url')}`;
      const session = JSON.stringify({ person: row!.person_id, oid: wechat.openid, sk: wechat.session_key });
      if (upstash) await upstash.set(key, session, { ex: TTL_SECONDS });
      else await tcp!.set(key, session, { expiration: { type: 'EX', value: TTL_SECONDS } });
    },
    async me(token: string): Promise<unknown> {
      const key = `${KEY_PREFIX}s:${createHmac('sha256', idKey).update(token).digest('base64url')}`;
      return upstash ? upstash.hgetall(key) : tcp!.hGetAll(key);
    },
    async close(): Promise<void> {
      await dispatcher.close();
      tcp?.destroy();
    },
  };
}

function table(results: StackResult[]): string {
  const ms = (value: number) => value.toFixed(2);
  const out = [
    '| Stack | Scenario | Flow | Ours p50 (ms) | Bare p50 (ms) | Ours / bare |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const { stack, rows } of results) {
    for (const row of rows) out.push(`| ${stack} | ${row.scenario} | ${row.flow} | ${ms(row.ours)} | ${ms(row.bare)} | ${(row.ours / row.bare).toFixed(2)}× |`);
  }
  out.push('', '| Stack | Flow | WeChat | Postgres | Redis |', '| --- | --- | --- | --- | --- |');
  for (const { stack, trips } of results) {
    for (const trip of trips) out.push(`| ${stack} | ${trip.flow} | ${trip.wechat.toFixed(1)} | ${trip.postgres.toFixed(1)} | ${trip.redis.toFixed(1)} |`);
  }
  return out.join('\n');
}
