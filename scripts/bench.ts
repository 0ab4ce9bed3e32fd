// npm run bench [-- --quick --campaign --wechat-latency=MS --backend-latency=MS]: round trips and
// Upstash bytes per request graded against the product's budget; latency and CPU of our handlers
// against the bare backend calls and the seed design (on loopback and with modelled deployment
// latencies); Postgres server CPU per login; a campaign opening on a limited benefit (--campaign:
// only that); HTTP concurrency and memory; cold start as bundled; a scale model. Prints the
// tables and writes JSON, Markdown and an SVG under bench/results/ (docs/benchmarks.md explains them).
// Needs Redis (REDIS_URL, default 127.0.0.1:6379) and PostgreSQL (PGHOST/PGPORT/PGUSER, default
// 127.0.0.1:5432 postgres, trust auth). Exits non-zero when a request exceeds its round-trip budget
// or any request fails, or a campaign grants other than its stock; timing targets are reported,
// never enforced (the machine may be busy).
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { databaseConfig } from '../lib/platform/config.js';
import { closeDatabase } from '../lib/platform/postgres.js';
import { recordLogin } from '../lib/people/records.js';
import { divertAccessLog } from './local/access-log.js';
import { loadFunctions } from '../server/functions.js';
import { runAdminStatements } from './local/pg-admin.js';
import { dropDatabase, migrateDatabase, reachable, recreateDatabase } from './local/postgres.js';
import { startBackends, type Backends, type Traffic } from './bench/backends.js';
import { SEED_SCHEMA, startBaselines, type BaselineSetup, type Baselines } from './bench/baselines.js';
import { campaignExact, campaignOpening, campaignTable, type CampaignRow } from './bench/campaign.js';
import { measureColdStarts, measureFirstRequests } from './bench/cold-start.js';
import { concurrencyOverHttp } from './bench/concurrency.js';
import { interleave, summarize, type Variant as Prepare } from './bench/measure.js';
import { serverCpuMs } from './bench/postgres-cpu.js';
import {
  describe,
  FLOWS,
  latencySvg,
  markdown,
  ratio,
  sampleKey,
  TARGETS,
  type BenchResults,
  type LatencyRow,
  type RoundTripRow,
  type Scenario,
  type ScriptCacheRow,
  type Variant,
} from './bench/report.js';
import { expectStatus, loginRequest, logoutRequest, meRequest } from './bench/requests.js';
import { BUDGETS, meanBytes, most, roundTripsOf, upstashBytes, withinBudget, type Flow } from './bench/round-trips.js';
import { scaleModel, upstashLimitLogins, type ScaleInputs } from './bench/scale.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const campaignOnly = args.includes('--campaign');
const option = (name: string, variable: string, fallback: number) => {
  const value = Number(args.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1] ?? process.env[variable] ?? fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} (${variable}) must be a number of milliseconds`);
  return value;
};
/**
 * Loopback is the strictest test of our overhead (round trips of well under a millisecond); the
 * modelled scenario adds assumed deployment latencies: WeChat from a Vercel region, Neon and Upstash
 * in the same region. The p50 targets are issue 12's.
 */
const LOOPBACK: Scenario = { name: 'loopback', wechatMs: 0, backendMs: 0, p50Targets: { login: 1.25, me: 1.3 } };
const MODELLED: Scenario = {
  name: 'modelled',
  wechatMs: option('wechat-latency', 'BENCH_WECHAT_LATENCY_MS', 30),
  backendMs: option('backend-latency', 'BENCH_BACKEND_LATENCY_MS', 2),
  p50Targets: { login: 1.05, me: 1.05 },
};
const SCENARIOS = [LOOPBACK, MODELLED];
/** While round trips are counted, WeChat answers late enough that a request sent alongside it cannot pass for one sent after. */
const TRACE_LATENCY = { wechatMs: 20, backendMs: 1 };
/**
 * Interleaved iterations per scenario (each runs every variant once), requests per variant whose
 * round trips are counted, record_login calls timed on the server, HTTP requests per client count,
 * fresh processes per cold-start measurement, people claiming at a campaign's opening and its rounds.
 */
const SIZES = quick
  ? { warmup: [30, 5], login: [150, 20], me: [300, 60], roundTrips: 10, postgresCalls: 50, loginLoad: [50, 200, 200], meLoad: [100, 300, 300], coldRuns: 3, campaign: [300, 1] }
  : { warmup: [100, 10], login: [2000, 300], me: [4000, 1000], roundTrips: 50, postgresCalls: 500, loginLoad: [500, 2000, 2000], meLoad: [1000, 2500, 2500], coldRuns: 15, campaign: [2000, 2] };
/** The limited benefit's stock at the campaign opening, and its claims in flight at any moment. */
const CAMPAIGN_STOCK = 100;
const CAMPAIGN_IN_FLIGHT = 64;
const CLIENTS = [1, 16, 64];
const APPID = 'wxbench00000000001';
const SECRET = 'bench-secret-0123456789';
/** Short TTLs and a namespace of their own: the benchmark's sessions leave the shared Redis by themselves. */
const TTL_SECONDS = 600;
const KEY_PREFIX = 'wxlogin:bench:';
/** Live sessions for /me: enough that none nears its per-session limit (RATE_LIMIT_PER_SESSION, 120 a minute). */
const SESSIONS = 500;
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
progress(`${quick ? 'quick run' : 'full run (2 to 3 minutes)'}; database ${database}; load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`);
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
  const sessionEncryptionKey = randomBytes(32).toString('base64');
  Object.assign(process.env, {
    WECHAT_APPS: `${APPID}:${SECRET}`,
    WECHAT_API_BASE: backends.wechatUrl,
    UPSTASH_REDIS_REST_URL: backends.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: backends.gatewayToken,
    REDIS_KEY_PREFIX: KEY_PREFIX,
    DATABASE_URL: databaseUrl,
    NEON_WS_PROXY: backends.bridgeAddress,
    SESSION_ENCRYPTION_KEY: sessionEncryptionKey,
    SESSION_IDLE_TTL: String(TTL_SECONDS),
    SESSION_MAX_AGE: String(TTL_SECONDS),
    // Every request comes from 127.0.0.1: the per-IP limit is raised, yet still counted on every
    // login, from the address a proxy would set (as on Vercel).
    TRUST_PROXY_HEADERS: '1',
    RATE_LIMIT_LOGIN_PER_IP: '10000000/1m',
  });
  const setup: BaselineSetup = {
    wechatUrl: backends.wechatUrl,
    appid: APPID,
    secret: SECRET,
    redis: { url: backends.gatewayUrl, token: backends.gatewayToken },
    keyPrefix: KEY_PREFIX,
    sessionEncryptionKey,
    ttlSeconds: TTL_SECONDS,
  };
  baselines = startBaselines(setup);
  try {
    const { roundTripsWithinBudget, noErrors, campaignsExact } = campaignOnly
      ? { roundTripsWithinBudget: true, noErrors: true, campaignsExact: await campaignAlone(backends) }
      : (await run(backends, baselines, setup)).verdict;
    if (!roundTripsWithinBudget) console.error('bench: FAILED: a request made more round trips than the product promises');
    if (!noErrors) console.error('bench: FAILED: requests failed under concurrency');
    if (!campaignsExact) console.error('bench: FAILED: a campaign opening granted other than its stock');
    process.exitCode = roundTripsWithinBudget && noErrors && campaignsExact ? 0 : 1;
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

/** Each flow's variants: ours calls the api/ handler, the others the baselines. */
interface Flows {
  login: Record<'ours' | 'bare' | 'seed', Prepare>;
  me: Record<'ours' | 'bare', Prepare>;
  logout: Record<'ours', Prepare>;
  /** Live sessions for /me. */
  tokens: string[];
}

async function run(backends: Backends, baselines: Baselines, setup: BaselineSetup): Promise<BenchResults> {
  const flows = await prepareFlows(baselines);
  const roundTrips = await countRoundTrips(backends, flows);
  const scriptCache = await measureScriptCache(backends, flows, roundTrips);
  const { latency, samples } = await measureLatency(backends, flows);
  const postgresCpuMs = await measurePostgresCpu();
  const campaign = { poolMax: databaseConfig().databasePoolMax, rows: await measureCampaign(backends) };
  const { concurrency, memory } = await concurrencyOverHttp({
    clients: CLIENTS,
    logins: SIZES.loginLoad,
    mes: SIZES.meLoad,
    appid: APPID,
    newPerson,
    tokens: flows.tokens,
    progress,
    signal: interrupt.signal,
  });
  const { coldStart, firstRequests } = await measureColdStart(backends, setup, flows.tokens);
  const inputs = scaleInputs(roundTrips, latency, postgresCpuMs.firstLogin);
  const measured = { roundTrips, scriptCache, latency, postgresCpuMs, campaign, concurrency, memory, coldStart, firstRequests };
  const parts = { startedAt, quick, machine, scenarios: SCENARIOS, ...measured };
  const results: BenchResults = {
    ...parts,
    scale: { inputs, rows: scaleModel(inputs), upstashLimitLogins: upstashLimitLogins(inputs) },
    verdict: verdictOf(parts),
  };
  await save(results, samples);
  return results;
}

/** Loads the functions, opens SESSIONS sessions for /me, and warms every variant's clients. */
async function prepareFlows(baselines: Baselines): Promise<Flows> {
  const functions = await loadFunctions();
  const handler = (path: string) => functions.match(path)!;
  const [login, me, logout] = [handler('/api/login'), handler('/api/me'), handler('/api/logout')];
  const answered = (fn: typeof login, request: Request, status = 200) => async () =>
    expectStatus(await fn.fetch(request), status, new URL(request.url).pathname);
  const newSession = async () => JSON.parse(await answered(login, loginRequest(APPID, newPerson()))()).token as string;

  const tokens: string[] = [];
  for (let i = 0; i < SESSIONS; i++) tokens.push(await newSession());
  if ((await baselines.bareMe(tokens[0]!)) === null) throw new Error('the bare /me reads a key our sessions do not use');
  const token = (i: number) => tokens[i % tokens.length]!;
  const flows: Flows = {
    login: {
      ours: async () => answered(login, loginRequest(APPID, newPerson())),
      bare: async () => baselines.bareLogin.bind(null, newPerson()),
      seed: async () => baselines.seedLogin.bind(null, newPerson()),
    },
    me: {
      ours: async (i) => answered(me, meRequest(token(i))),
      bare: async (i) => baselines.bareMe.bind(null, token(i)),
    },
    logout: { ours: async () => answered(logout, logoutRequest(await newSession()), 204) },
    tokens,
  };
  for (let i = 0; i < 20; i++) for (const prepare of Object.values(flows.login)) await (await prepare(i))();
  return flows;
}

/** Every variant's requests one at a time, each recorded at the backends and graded against its budget. */
async function countRoundTrips(backends: Backends, flows: Flows): Promise<RoundTripRow[]> {
  progress(`round trips and bytes: ${SIZES.roundTrips} requests per flow and variant`);
  await backends.setLatency(TRACE_LATENCY.wechatMs, TRACE_LATENCY.backendMs);
  const rows: RoundTripRow[] = [];
  for (const flow of ['login', 'me', 'logout'] as const) {
    for (const [variant, prepare] of Object.entries(flows[flow]) as [Variant, Prepare][]) {
      const traffic: Traffic[] = [];
      for (let i = 0; i < SIZES.roundTrips; i++) traffic.push(await recordWarm(backends, prepare, i));
      rows.push({
        flow,
        variant,
        trips: most(traffic.map(roundTripsOf)),
        upstash: meanBytes(traffic.map((one) => upstashBytes(one))),
        budget: variant === 'ours' ? BUDGETS[flow] : null,
      });
    }
  }
  await backends.setLatency(0, 0);
  return rows;
}

/**
 * One request's traffic with our scripts in Redis's cache. A request that met NOSCRIPT (the shared
 * Redis's scripts flushed by another run) is made again, at most twice: what a cold cache costs is
 * measured on its own (measureScriptCache), and one that stays cold shows as a broken budget.
 */
async function recordWarm(backends: Backends, prepare: Prepare, iteration: number): Promise<Traffic> {
  let traffic = await backends.record(await prepare(iteration));
  for (let retry = 0; retry < 2 && traffic.redis.some((exchange) => exchange.noscript); retry++) {
    traffic = await backends.record(await prepare(iteration));
  }
  return traffic;
}

/**
 * What our requests send to Upstash when Redis lacks our scripts (a new database, a flush), staged
 * at the gateway, beside the cached case; the cold run's EVAL requests are what each request
 * carried before EVALSHA.
 */
async function measureScriptCache(backends: Backends, flows: Flows, roundTrips: RoundTripRow[]): Promise<ScriptCacheRow[]> {
  await backends.forgetScripts();
  const rows: ScriptCacheRow[] = [];
  for (const flow of ['login', 'me', 'logout'] as const) {
    const cold = await backends.record(await flows[flow].ours(0));
    rows.push(
      { flow, cache: 'warm', upstash: roundTrips.find((row) => row.flow === flow && row.variant === 'ours')!.upstash },
      { flow, cache: 'cold', upstash: upstashBytes(cold) },
      { flow, cache: 'eval', upstash: upstashBytes(cold, (command) => command === 'eval') },
    );
  }
  return rows;
}

/** Latency and CPU per request in each scenario, variants interleaved. */
async function measureLatency(backends: Backends, flows: Flows) {
  const latency: LatencyRow[] = [];
  const samples: Record<string, number[]> = {};
  for (const [index, scenario] of SCENARIOS.entries()) {
    await backends.setLatency(scenario.wechatMs, scenario.backendMs);
    progress(`${describe(scenario)}: login ${SIZES.login[index]} × 3 variants, /me ${SIZES.me[index]} × 2, interleaved`);
    for (const [flow, iterations] of [['login', SIZES.login[index]!], ['me', SIZES.me[index]!]] as const) {
      const timings = await interleave(flows[flow], iterations, SIZES.warmup[index]!, interrupt.signal);
      for (const [variant, { wall, cpu }] of Object.entries(timings)) {
        const row: LatencyRow = {
          scenario: scenario.name,
          flow,
          variant: variant as Variant,
          summary: summarize(wall),
          cpuMs: summarize(cpu).p50,
        };
        samples[sampleKey(row)] = wall;
        latency.push(row);
      }
    }
  }
  await backends.setLatency(0, 0);
  return { latency, samples };
}

/** Postgres server CPU per record_login through our own pool and statement (lib/people/records.ts), first logins and returning ones. */
async function measurePostgresCpu(): Promise<BenchResults['postgresCpuMs']> {
  progress(`Postgres server CPU: ${SIZES.postgresCalls} record_login calls, first and returning`);
  const seen: string[] = [];
  const login = (person: string) => recordLogin(APPID, `o-${person}`, `u-${person}`);
  const firstLogin = await serverCpuMs(
    databaseUrl,
    () => {
      seen.push(newPerson());
      return login(seen.at(-1)!);
    },
    SIZES.postgresCalls,
  );
  let next = 0;
  const returningLogin = await serverCpuMs(databaseUrl, () => login(seen[next++ % seen.length]!), SIZES.postgresCalls);
  return { firstLogin, returningLogin };
}

/** Distinct people claiming one benefit at once, with no stock and with CAMPAIGN_STOCK. */
async function measureCampaign(backends: Backends): Promise<CampaignRow[]> {
  const functions = await loadFunctions();
  return campaignOpening({
    people: SIZES.campaign[0]!,
    inFlight: CAMPAIGN_IN_FLIGHT,
    rounds: SIZES.campaign[1]!,
    stock: CAMPAIGN_STOCK,
    appid: APPID,
    newPerson,
    handler: (path) => functions.match(path)!,
    record: (work) => backends.record(work),
    progress,
  });
}

/** --campaign: the campaign opening alone, its table printed; whether each of our openings was exact (the design before is a baseline). */
async function campaignAlone(backends: Backends): Promise<boolean> {
  const rows = await measureCampaign(backends);
  process.stdout.write(`\n${campaignTable(rows, databaseConfig().databasePoolMax).join('\n')}\n`);
  return rows.filter((row) => row.design === 'ours').every(campaignExact);
}

/** Import only, per function; then a fresh instance's first login and /me beside the bare equivalent. */
async function measureColdStart(backends: Backends, setup: BaselineSetup, tokens: string[]) {
  progress(`cold start: bundling, ${SIZES.coldRuns} fresh imports per function, ${SIZES.coldRuns} fresh first requests per flow and variant`);
  const bundles = `${RESULTS_DIR}bundles/`;
  await mkdir(bundles, { recursive: true });
  const coldStart = await measureColdStarts(bundles, SIZES.coldRuns, interrupt.signal);
  const firstRequests = await measureFirstRequests(bundles, SIZES.coldRuns, interrupt.signal, {
    setup,
    newPerson,
    tokens,
    record: (work) => backends.record(work),
  });
  return { coldStart, firstRequests };
}

/** The scale model's inputs: ours per request, CPU from the modelled scenario (closest to a deployment). */
function scaleInputs(roundTrips: RoundTripRow[], latency: LatencyRow[], postgresCpuMs: number | null): ScaleInputs {
  const ours = (flow: Flow) => roundTrips.find((row) => row.flow === flow && row.variant === 'ours')!;
  const cpu = (flow: 'login' | 'me') => latency.find((row) => row.scenario === MODELLED.name && row.flow === flow && row.variant === 'ours')!.cpuMs;
  return {
    login: ours('login').upstash,
    me: ours('me').upstash,
    postgresTripsPerLogin: ours('login').trips.postgres,
    postgresCpuMs,
    postgresRttMs: MODELLED.backendMs,
    functionCpuMs: { login: cpu('login'), me: cpu('me') },
  };
}

/** Round-trip budgets and errors decide the exit code; the timing targets are reported only. */
function verdictOf(parts: Omit<BenchResults, 'scale' | 'verdict'>): BenchResults['verdict'] {
  const { roundTrips, latency, concurrency, firstRequests, coldStart } = parts;
  const targets: Record<string, boolean> = {};
  for (const { flow, trips, budget } of roundTrips.filter((row) => row.budget)) {
    targets[`${FLOWS[flow]} round trips within budget`] = withinBudget(trips, budget!);
  }
  for (const scenario of SCENARIOS) {
    for (const row of latency.filter((r) => r.scenario === scenario.name && r.variant === 'ours')) {
      const p50 = ratio(latency, row, 'p50');
      targets[`${scenario.name}: ${FLOWS[row.flow]} p50 ≤ ${scenario.p50Targets[row.flow]}× bare (${p50})`] = p50 <= scenario.p50Targets[row.flow];
      if (row.flow !== 'login') continue;
      const cpu = ratio(latency, row, 'cpu');
      targets[`${scenario.name}: CPU per login ≤ ${TARGETS.cpuRatio}× bare (${cpu})`] = cpu <= TARGETS.cpuRatio;
    }
  }
  const noErrors = concurrency.every((row) => row.errors === 0);
  targets['zero errors under concurrency'] = noErrors;
  const campaignsExact = parts.campaign.rows.filter((row) => row.design === 'ours').every(campaignExact);
  targets['campaign opening: exactly the stock granted, each claim in the feed once'] = campaignsExact;
  for (const { flow, added } of firstRequests) {
    targets[`${FLOWS[flow]}, a fresh instance's first request: our code adds ≤ ${TARGETS.coldStartAdded * 100}% (${(added * 100).toFixed(0)}%)`] =
      added <= TARGETS.coldStartAdded;
  }
  for (const { name, added } of coldStart) {
    targets[`api/${name} import: our code adds ≤ ${TARGETS.coldStartAdded * 100}% (${(added * 100).toFixed(0)}%)`] = added <= TARGETS.coldStartAdded;
  }
  return { roundTripsWithinBudget: roundTrips.every((row) => !row.budget || withinBudget(row.trips, row.budget)), noErrors, campaignsExact, targets };
}

async function save(results: BenchResults, samples: Record<string, number[]>): Promise<void> {
  const table = markdown(results);
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const svg = latencySvg(results, samples);
  const json = JSON.stringify({ ...results, samples }, (_, value) => (typeof value === 'number' ? Math.round(value * 1000) / 1000 : value));
  for (const name of [stamp, 'latest']) {
    await writeFile(`${RESULTS_DIR}${name}.json`, json);
    await writeFile(`${RESULTS_DIR}${name}.md`, `# wxlogin benchmark\n\n${table}\n![latency](${name}.svg)\n`);
    await writeFile(`${RESULTS_DIR}${name}.svg`, svg);
  }
  process.stdout.write(`\n${table}\nWritten to bench/results/${stamp}.{json,md,svg} (and latest.*)\n`);
}
