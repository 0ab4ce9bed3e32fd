// npm run bench [-- --quick --wechat-latency=MS --backend-latency=MS]: latency of our handlers
// against the bare backend calls and the seed design (on loopback and with modelled deployment
// latencies), round trips per request, HTTP concurrency and memory, and cold start as bundled;
// prints the tables and writes JSON, Markdown and an SVG under bench/results/.
// Needs Redis (REDIS_URL, default 127.0.0.1:6379) and PostgreSQL (PGHOST/PGPORT/PGUSER, default
// 127.0.0.1:5432 postgres, trust auth). Exits non-zero when a request exceeds its round-trip budget
// or any request fails; timing targets are reported, never enforced (the machine may be busy).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { closeDatabase, useWebSocketProxy } from '../lib/db.js';
import { divertAccessLog } from './local/access-log.js';
import { startBackends, type Backends, type RoundTrips } from './bench/backends.js';
import { SEED_SCHEMA, startBaselines, type Baselines } from './bench/baselines.js';
import { measureColdStarts } from './bench/cold-start.js';
import { interleave, load, summarize, type HttpRequest, type Timings } from './bench/measure.js';
import {
  describe,
  latencySvg,
  markdown,
  ratio,
  sampleKey,
  TARGETS,
  withinBudget,
  type BenchResults,
  type ConcurrencyRow,
  type LatencyRow,
  type Scenario,
} from './bench/report.js';
import { loadFunctions } from './local/server.js';
import { runAdminStatements } from './local/pg-admin.js';
import { dropDatabase, migrateDatabase, reachable, recreateDatabase } from './local/postgres.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const option = (name: string, variable: string, fallback: number) => {
  const value = Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[variable] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} (${variable}) must be a number of milliseconds`);
  return value;
};
/**
 * Loopback is the strictest test of our overhead (round trips of well under a millisecond); the
 * modelled scenario adds assumed deployment latencies: WeChat from a Vercel region, Neon and Upstash
 * in the same region.
 */
const SCENARIOS: Scenario[] = [
  { name: 'loopback', wechatMs: 0, backendMs: 0 },
  {
    name: 'modelled',
    wechatMs: option('wechat-latency', 'BENCH_WECHAT_LATENCY_MS', 30),
    backendMs: option('backend-latency', 'BENCH_BACKEND_LATENCY_MS', 2),
  },
];
/** Interleaved iterations per scenario (each runs every variant once), HTTP requests per client count. */
const SIZES = quick
  ? { warmup: [30, 5], login: [150, 20], me: [300, 60], roundTrips: 10, loginLoad: [50, 200, 200], meLoad: [100, 300, 300], coldRuns: 3 }
  : { warmup: [100, 10], login: [2000, 300], me: [4000, 1000], roundTrips: 50, loginLoad: [500, 2000, 2000], meLoad: [1000, 2500, 2500], coldRuns: 15 };
const CLIENTS = [1, 16, 64];
/** What the README promises per request ("Round trips with limits"; Redis counts HTTP requests to Upstash). */
const BUDGETS = { login: { wechat: 1, postgres: 1, redis: 3 }, me: { wechat: 0, postgres: 0, redis: 1 } };
const APPID = 'wxbench00000000001';
const SECRET = 'bench-secret-0123456789';
/** Short TTLs: the benchmark's sessions leave the shared Redis by themselves. */
const TTL_SECONDS = 600;
const RESULTS_DIR = new URL('../bench/results/', import.meta.url).pathname;

const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
const runId = randomBytes(4).toString('hex');
let people = 0;
const newPerson = () => `${runId}-${people++}`;

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redisAddress = new URL(redisUrl);
const pg = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432) };
const pgUser = process.env.PGUSER ?? 'postgres';
const database = `wxlogin_bench_${process.pid}`;
const adminUrl = `postgres://${pgUser}@${pg.host}:${pg.port}/postgres`;
const databaseUrl = `postgres://${pgUser}@${pg.host}:${pg.port}/${database}`;

if (!(await reachable(redisAddress.hostname, Number(redisAddress.port || 6379)))) {
  console.error(`bench: Redis does not answer at ${redisAddress.host} (set REDIS_URL).`);
  process.exit(1);
}
if (!(await reachable(pg.host, pg.port))) {
  console.error(`bench: PostgreSQL does not answer at ${pg.host}:${pg.port} (set PGHOST/PGPORT/PGUSER).`);
  process.exit(1);
}

const startedAt = new Date().toISOString();
const machine = { node: process.versions.node, cpus: cpus().length, loadAverage: loadavg() };
progress(`${quick ? 'quick run' : 'full run (about 2 minutes)'}; database ${database}; load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
await recreateDatabase(pg, adminUrl, database);
// Ctrl-C stops the measuring loops; the finally below still removes the database and children.
const interrupt = new AbortController();
process.once('SIGINT', () => interrupt.abort(new Error('interrupted')));
let backends: Backends | undefined;
let baselines: Baselines | undefined;
const releaseLog = divertAccessLog(() => {});
try {
  await migrateDatabase(pg, databaseUrl);
  await runAdminStatements(pg, databaseUrl, [SEED_SCHEMA]);
  backends = await startBackends({ appid: APPID, secret: SECRET, redisUrl, postgres: pg });
  Object.assign(process.env, {
    WECHAT_APPS: `${APPID}:${SECRET}`,
    WECHAT_API_BASE: backends.wechatUrl,
    UPSTASH_REDIS_REST_URL: backends.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: backends.gatewayToken,
    DATABASE_URL: databaseUrl,
    NEON_WS_PROXY: backends.bridgeAddress,
    SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    SESSION_IDLE_TTL: String(TTL_SECONDS),
    SESSION_MAX_AGE: String(TTL_SECONDS),
    // Every request comes from 127.0.0.1 and one app: those limits are raised, yet still checked on
    // every login, from the address a proxy would set (as on Vercel).
    TRUST_PROXY_HEADERS: '1',
    RATE_LIMIT_LOGIN_PER_IP: '10000000/1m',
    RATE_LIMIT_LOGIN_PER_APP: '10000000/1m',
  });
  useWebSocketProxy(backends.bridgeAddress);
  baselines = startBaselines({
    wechatUrl: backends.wechatUrl,
    appid: APPID,
    secret: SECRET,
    databaseUrl,
    redis: { url: backends.gatewayUrl, token: backends.gatewayToken },
    ttlSeconds: TTL_SECONDS,
  });
  try {
    const { roundTripsWithinBudget, noErrors } = (await run(backends, baselines)).verdict;
    if (!roundTripsWithinBudget) console.error('bench: FAILED: a request made more round trips than the README promises');
    if (!noErrors) console.error('bench: FAILED: requests failed under concurrency');
    process.exitCode = roundTripsWithinBudget && noErrors ? 0 : 1;
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
    progress('interrupted; cleaning up');
    process.exitCode = 130;
  }
} finally {
  releaseLog();
  await baselines?.close();
  await closeDatabase();
  await backends?.close();
  await dropDatabase(pg, adminUrl, database);
}

async function run(backends: Backends, baselines: Baselines): Promise<BenchResults> {
  const functions = await loadFunctions();
  const login = functions.match('/api/login')!;
  const me = functions.match('/api/me')!;

  const loginRequest = (person: string) =>
    new Request('http://localhost/api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-real-ip': '127.0.0.1' },
      body: JSON.stringify({ code: `mock:${person}`, appid: APPID }),
    });
  const meRequest = (token: string) => new Request('http://localhost/api/me', { headers: { authorization: `Bearer ${token}` } });
  const expectOk = async (response: Response, what: string) => {
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${what} answered ${response.status}: ${text}`);
    return text;
  };
  const ourLogin = (person: string) => {
    const request = loginRequest(person);
    return async () => expectOk(await login.fetch(request), 'login');
  };
  const ourMe = (token: string) => {
    const request = meRequest(token);
    return async () => expectOk(await me.fetch(request), '/me');
  };

  // Tokens for /me, and the key of each in Redis for the bare GET (lib/sessions.ts: SHA-256 of the token).
  const tokens: string[] = [];
  // Enough that no session nears its per-session limit (RATE_LIMIT_PER_SESSION, 120 a minute).
  for (let i = 0; i < 500; i++) tokens.push(JSON.parse(await ourLogin(newPerson())()).token);
  const sessionKeys = tokens.map((token) => `wxlogin:session:${createHash('sha256').update(token).digest('hex')}`);
  if ((await baselines.bareMe(sessionKeys[0]!)) === null) throw new Error('the bare /me reads a key our sessions do not use');
  for (let i = 0; i < 20; i++) {
    await baselines.bareLogin(newPerson());
    await baselines.seedLogin(newPerson());
  }

  progress('round trips per request');
  const counted = async (work: (i: number) => Promise<unknown>): Promise<RoundTrips> => {
    await backends.reset();
    for (let i = 0; i < SIZES.roundTrips; i++) await work(i);
    const total = await backends.counts();
    const per = (count: number) => Math.round((count / SIZES.roundTrips) * 100) / 100;
    return { wechat: per(total.wechat), postgres: per(total.postgres), redis: per(total.redis) };
  };
  const trips: Record<string, RoundTrips> = {
    'login:ours': await counted(() => ourLogin(newPerson())()),
    'login:bare': await counted(() => baselines.bareLogin(newPerson())),
    'login:seed': await counted(() => baselines.seedLogin(newPerson())),
    'me:ours': await counted((i) => ourMe(tokens[i % tokens.length]!)()),
    'me:bare': await counted((i) => baselines.bareMe(sessionKeys[i % tokens.length]!)),
  };

  const labels = { ours: 'ours (api/ handler)', bare: 'bare minimum', seed: 'seed design' } as const;
  const samples: Record<string, number[]> = {};
  const latency: LatencyRow[] = [];
  for (const [index, scenario] of SCENARIOS.entries()) {
    await backends.setLatency(scenario.wechatMs, scenario.backendMs);
    progress(`${describe(scenario)}: login ${SIZES.login[index]} × 3 variants, /me ${SIZES.me[index]} × 2, interleaved`);
    const login = await interleave(
      {
        ours: () => ourLogin(newPerson()),
        bare: () => {
          const person = newPerson();
          return () => baselines.bareLogin(person);
        },
        seed: () => {
          const person = newPerson();
          return () => baselines.seedLogin(person);
        },
      },
      SIZES.login[index]!,
      SIZES.warmup[index]!,
      interrupt.signal,
    );
    const me = await interleave(
      {
        ours: (i) => ourMe(tokens[i % tokens.length]!),
        bare: (i) => () => baselines.bareMe(sessionKeys[i % tokens.length]!),
      },
      SIZES.me[index]!,
      SIZES.warmup[index]!,
      interrupt.signal,
    );
    for (const [flow, byVariant] of [['login', login], ['me', me]] as const) {
      for (const [variant, { wall, cpu }] of Object.entries(byVariant) as [LatencyRow['variant'], Timings][]) {
        const row = {
          scenario: scenario.name,
          flow,
          variant,
          label: labels[variant],
          summary: summarize(wall),
          cpuMs: summarize(cpu).p50,
          roundTrips: trips[`${flow}:${variant}`]!,
          budget: variant === 'ours' ? BUDGETS[flow] : null,
        };
        samples[sampleKey(row)] = wall;
        latency.push(row);
      }
    }
  }
  await backends.setLatency(0, 0);

  const { concurrency, memory } = await concurrencyOverHttp(tokens);

  progress(`cold start: bundling api/*.ts, ${SIZES.coldRuns} fresh imports each`);
  const bundles = `${RESULTS_DIR}bundles/`;
  await mkdir(bundles, { recursive: true });
  const coldStart = await measureColdStarts(bundles, SIZES.coldRuns, interrupt.signal);

  const results: BenchResults = {
    startedAt,
    quick,
    machine,
    scenarios: SCENARIOS,
    latency,
    concurrency,
    memory,
    coldStart,
    verdict: { roundTripsWithinBudget: latency.every(withinBudget), noErrors: concurrency.every((row) => row.errors === 0), targets: {} },
  };
  const targets = results.verdict.targets;
  for (const row of latency.filter((r) => r.variant === 'ours')) {
    const name = `${row.scenario}: ${row.flow === 'me' ? '/me' : 'login'}`;
    targets[`${name} p50 ≤ ${TARGETS.p50Ratio}× bare (${ratio(results, row, 'p50')})`] = ratio(results, row, 'p50') <= TARGETS.p50Ratio;
    targets[`${name} p99 ≤ ${TARGETS.p99Ratio}× bare (${ratio(results, row, 'p99')})`] = ratio(results, row, 'p99') <= TARGETS.p99Ratio;
  }
  for (const row of latency.filter((r) => r.budget && r.scenario === SCENARIOS[0]!.name)) {
    targets[`${row.flow === 'me' ? '/me' : 'login'} round trips within budget`] = withinBudget(row);
  }
  targets['zero errors under concurrency'] = results.verdict.noErrors;
  for (const row of coldStart) {
    targets[`api/${row.name} cold start: our code adds ≤ ${TARGETS.coldStartAdded * 100}% (${(row.added * 100).toFixed(0)}%)`] =
      row.added <= TARGETS.coldStartAdded;
  }

  const table = markdown(results);
  const stamp = startedAt.replace(/[:.]/g, '-');
  const svg = latencySvg(results, samples);
  const json = JSON.stringify({ ...results, samples }, (_, value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value));
  for (const name of [stamp, 'latest']) {
    await writeFile(`${RESULTS_DIR}${name}.json`, json);
    await writeFile(`${RESULTS_DIR}${name}.md`, `# wxlogin benchmark\n\n${table}\n![latency](${name}.svg)\n`);
    await writeFile(`${RESULTS_DIR}${name}.svg`, svg);
  }
  process.stdout.write(`\n${table}\nWritten to bench/results/${stamp}.{json,md,svg} (and latest.*)\n`);
  return results;
}

/** One local server process (npm run dev's, with our backends), loaded by 1, 16 and 64 clients. */
async function concurrencyOverHttp(tokens: string[]) {
  const server = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`the local server exited (code ${code})`)));
      // Keep reading: the access log goes to this pipe, and a full pipe would stall the server.
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const match = /listening on (http:\S+)/.exec(line);
        if (match) resolve(match[1]!);
      });
    });
    const rssStartMb = await rssMb(server.pid!);
    const concurrency: ConcurrencyRow[] = [];
    let requests = 0;
    for (const [level, clients] of CLIENTS.entries()) {
      for (const flow of ['login', 'me'] as const) {
        const total = (flow === 'login' ? SIZES.loginLoad : SIZES.meLoad)[level]!;
        progress(`HTTP ${flow === 'me' ? '/me' : 'login'}: ${clients} clients, ${total} requests`);
        const next = (i: number): HttpRequest =>
          flow === 'login'
            ? {
                method: 'POST',
                path: '/api/login',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ code: `mock:${newPerson()}`, appid: APPID }),
              }
            : { method: 'GET', path: '/api/me', headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } };
        const result = await load(url, clients, total, next, interrupt.signal);
        requests += result.requests;
        concurrency.push({
          flow,
          clients,
          requests: result.requests,
          errors: result.errors,
          firstError: result.firstError,
          throughput: result.requests / result.seconds,
          summary: summarize(result.samples),
          rssMb: await rssMb(server.pid!),
        });
      }
    }
    return { concurrency, memory: { rssStartMb, rssEndMb: await rssMb(server.pid!), requests } };
  } finally {
    server.kill();
  }
}

/** Resident set size of a process, in MB (ps works on Linux and macOS). */
async function rssMb(pid: number): Promise<number> {
  const ps = spawn('ps', ['-o', 'rss=', '-p', String(pid)]);
  let out = '';
  for await (const chunk of ps.stdout) out += chunk;
  return Number(out.trim()) / 1024;
}
