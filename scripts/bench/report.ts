// The benchmark's results as Markdown tables (printed and saved) and an SVG of the latency curves.
import { campaignTable, type CampaignRow } from './campaign.js';
import type { ColdStart, FirstRequestRow } from './cold-start.js';
import type { Summary } from './measure.js';
import { withinBudget, type Flow, type RoundTrips, type UpstashBytes } from './round-trips.js';
import { AUTHENTICATED_PER_LOGIN, LOGINS_PER_IP_PER_SECOND, UPSTASH_COMMANDS_PER_SECOND, type ScaleInputs, type ScaleRow } from './scale.js';

/** Issue 12's targets; the p50 ratios are per scenario. */
export const TARGETS = { cpuRatio: 1.6, coldStartAdded: 0.2 } as const;

/** Latency added to every call at the fakes: none (loopback), or a modelled deployment. */
export interface Scenario {
  name: string;
  wechatMs: number;
  backendMs: number;
  /** Ours ÷ bare minimum at p50, at most. */
  p50Targets: { login: number; me: number };
}

export type Variant = 'ours' | 'bare' | 'seed';

export interface RoundTripRow {
  flow: Flow;
  variant: Variant;
  /** The most any one request made. */
  trips: RoundTrips;
  /** Per request, on average. */
  upstash: UpstashBytes;
  /** null when the variant has no budget (the baselines). */
  budget: RoundTrips | null;
}

export interface ScriptCacheRow {
  flow: Flow;
  cache: 'warm' | 'cold' | 'eval';
  upstash: UpstashBytes;
}

export interface LatencyRow {
  scenario: string;
  flow: 'login' | 'me';
  variant: Variant;
  summary: Summary;
  /** Median CPU time of the measuring process per call: our code and the clients, not the backends. */
  cpuMs: number;
}

export interface ConcurrencyRow {
  flow: 'login' | 'me';
  clients: number;
  requests: number;
  errors: number;
  firstError: string | null;
  throughput: number;
  summary: Summary;
  /** Server RSS right after this row: a plateau means no leak, steady growth means one. */
  rssMb: number;
}

export interface BenchResults {
  startedAt: string;
  quick: boolean;
  machine: { node: string; cpus: number; loadAverage: number[] };
  scenarios: Scenario[];
  roundTrips: RoundTripRow[];
  scriptCache: ScriptCacheRow[];
  latency: LatencyRow[];
  /** Postgres server CPU per record_login; null where the server is not on this machine. */
  postgresCpuMs: { firstLogin: number | null; returningLogin: number | null };
  /** The campaign opening, with the Postgres pool size it ran on. */
  campaign: { poolMax: number; rows: CampaignRow[] };
  concurrency: ConcurrencyRow[];
  memory: { rssStartMb: number; rssEndMb: number; requests: number };
  coldStart: ColdStart[];
  firstRequests: FirstRequestRow[];
  scale: { inputs: ScaleInputs; rows: ScaleRow[]; upstashLimitLogins: number };
  verdict: { roundTripsWithinBudget: boolean; noErrors: boolean; campaignsExact: boolean; targets: Record<string, boolean> };
}

export const LABELS: Record<Variant, string> = { ours: 'ours (api/ handler)', bare: 'bare minimum', seed: 'seed design' };
export const FLOWS: Record<Flow, string> = { login: 'login', me: '/me', logout: 'logout' };
const CACHES: Record<ScriptCacheRow['cache'], string> = {
  warm: 'cached (EVALSHA: the hash)',
  cold: 'cold (EVALSHA → NOSCRIPT → EVAL)',
  eval: 'EVAL every time (before EVALSHA)',
};

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
const kb = (bytes: number) => (bytes / 1024).toFixed(1);
const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
const big = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : value >= 10 ? value.toFixed(1) : value.toFixed(2));

/** A row over the bare minimum of its scenario and flow: latency at p50/p99, or CPU. */
export function ratio(latency: LatencyRow[], row: LatencyRow, of: 'p50' | 'p99' | 'cpu'): number {
  const value = (r: LatencyRow) => (of === 'cpu' ? r.cpuMs : r.summary[of]);
  return Math.round((value(row) / value(bareOf(latency, row))) * 100) / 100;
}

function bareOf(latency: LatencyRow[], row: LatencyRow): LatencyRow {
  return latency.find((r) => r.scenario === row.scenario && r.flow === row.flow && r.variant === 'bare')!;
}

export const describe = (scenario: Scenario) =>
  `${scenario.name} (+${scenario.wechatMs} ms per WeChat call, +${scenario.backendMs} ms per Postgres/Redis round trip)`;

export function markdown(results: BenchResults): string {
  const campaign = ({ campaign: { rows, poolMax } }: BenchResults) => campaignTable(rows, poolMax);
  const sections = [header, roundTripTable, scriptCacheTable, latencyTable, campaign, concurrencyTable, coldStartTables, scaleTable, targetList];
  return `${sections.map((section) => section(results).join('\n')).join('\n\n')}\n`;
}

function header({ startedAt, quick, machine, scenarios }: BenchResults): string[] {
  return [
    `Run ${startedAt}${quick ? ' (--quick: few samples, numbers are indicative only)' : ''}; ` +
      `Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}. ` +
      `Scenarios: ${scenarios.map(describe).join('; ')}.`,
  ];
}

function roundTripTable(results: BenchResults): string[] {
  const out = [
    '**Round trips per request** (counted at the fake WeChat, the Postgres bridge and the Upstash gateway, the most any one request made; ' +
      'a Redis request is *alongside* when it was in flight while WeChat was, otherwise it is on the critical path; bytes on the wire per request, HTTP/1.1 without TLS)',
    '',
    '| Flow | Variant | WeChat | Postgres | Redis, critical path | Redis, alongside WeChat | Budget | Upstash bytes sent / received |',
    '|---|---|--:|--:|--:|--:|---|--:|',
  ];
  for (const { flow, variant, trips, upstash, budget } of results.roundTrips) {
    const verdict = budget ? `${budget.wechat} / ${budget.postgres} / ${budget.redis} / ${budget.redisAlongside}: ${withinBudget(trips, budget) ? 'ok' : '**exceeded**'}` : '';
    out.push(
      `| ${FLOWS[flow]} | ${LABELS[variant]} | ${trips.wechat} | ${trips.postgres} | ${trips.redis} | ${trips.redisAlongside} | ${verdict} | ` +
        `${Math.round(upstash.sent)} / ${Math.round(upstash.received)} |`,
    );
  }
  return out;
}

function scriptCacheTable(results: BenchResults): string[] {
  const out = [
    "**Bytes to Upstash by script cache** (ours; a cold cache is Redis without our scripts: a new database, a flush — staged at the gateway; " +
      "*EVAL every time* is the EVAL requests of the cold run, what each request carried before EVALSHA)",
    '',
    '| Flow | Script cache | Upstash requests | Bytes sent | Bytes received |',
    '|---|---|--:|--:|--:|',
  ];
  for (const { flow, cache, upstash } of results.scriptCache) {
    out.push(`| ${FLOWS[flow]} | ${CACHES[cache]} | ${count(upstash.requests)} | ${Math.round(upstash.sent)} | ${Math.round(upstash.received)} |`);
  }
  return out;
}

function latencyTable({ latency }: BenchResults): string[] {
  const out = [
    '**Latency and overhead** (one request at a time, variants interleaved; ms; ×bare = this ÷ bare minimum; +ms = this − bare at p50; ' +
      'CPU = median CPU time of the calling process per request, backends excluded)',
    '',
    '| Scenario | Flow | Variant | n | p50 | p90 | p99 | ×bare p50 | ×bare p99 | +ms p50 | CPU ms | ×bare CPU |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of latency) {
    const { n, p50, p90, p99 } = row.summary;
    out.push(
      `| ${row.scenario} | ${FLOWS[row.flow]} | ${LABELS[row.variant]} | ${n} | ${ms(p50)} | ${ms(p90)} | ${ms(p99)} | ` +
        `${ratio(latency, row, 'p50').toFixed(2)} | ${ratio(latency, row, 'p99').toFixed(2)} | ${(p50 - bareOf(latency, row).summary.p50).toFixed(2)} | ` +
        `${row.cpuMs.toFixed(2)} | ${ratio(latency, row, 'cpu').toFixed(2)} |`,
    );
  }
  return out;
}

function concurrencyTable({ concurrency, memory }: BenchResults): string[] {
  const out = [
    `**Concurrency over HTTP** (one local server process, closed-loop clients, keep-alive)`,
    '',
    '| Flow | Clients | Requests | Errors | req/s | p50 ms | p99 ms | Server RSS MB after |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of concurrency) {
    out.push(
      `| ${FLOWS[row.flow]} | ${row.clients} | ${row.requests} | ${row.errors}${row.firstError ? ` (${row.firstError})` : ''} | ` +
        `${row.throughput.toFixed(0)} | ${ms(row.summary.p50)} | ${ms(row.summary.p99)} | ${row.rssMb.toFixed(0)} |`,
    );
  }
  out.push('', `Server RSS: ${memory.rssStartMb.toFixed(1)} MB at start, ${memory.rssEndMb.toFixed(1)} MB after ${memory.requests} requests.`);
  return out;
}

function coldStartTables({ coldStart, firstRequests }: BenchResults): string[] {
  const runs = firstRequests[0]?.ours.totalMs.n ?? 0;
  const out = [
    `**Cold start: a fresh instance's first request** (esbuild bundles as deployed, each in a fresh Node process, ours and bare alternating; ` +
      `import, then the first call with its connections to the local peers; medians of ${runs} runs; ms)`,
    '',
    '| Flow | Ours: import | first call | total | Bare: import | first call | total | Our code adds | Upstash requests / bytes sent, ours |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const { flow, ours, bare, added, upstash } of firstRequests) {
    out.push(
      `| ${FLOWS[flow]} | ${ms(ours.importMs.p50)} | ${ms(ours.firstMs.p50)} | ${ms(ours.totalMs.p50)} | ${ms(bare.importMs.p50)} | ` +
        `${ms(bare.firstMs.p50)} | ${ms(bare.totalMs.p50)} | ${(added * 100).toFixed(0)}% | ${count(upstash.requests)} / ${Math.round(upstash.sent)} |`,
    );
  }
  out.push(
    '',
    `**Cold start: import only** (each function's bundle against a bundle of only the third-party bindings it imports; median of ${coldStart[0]?.importMs.n ?? 0} runs each)`,
    '',
    '| Function | Bundle KB | Deps-only bundle KB | Our code KB | Import ms | Deps-only import ms | Our code adds | Third-party packages |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const row of coldStart) {
    const own = Object.values(row.ownModules).reduce((a, b) => a + b, 0);
    out.push(
      `| api/${row.name} | ${kb(row.bundleBytes)} | ${kb(row.depsBundleBytes)} | ${kb(own)} | ${ms(row.importMs.p50)} | ` +
        `${ms(row.depsImportMs.p50)} | ${(row.added * 100).toFixed(0)}% | ${row.packages.join(', ')} |`,
    );
  }
  return out;
}

function scaleTable({ scale, postgresCpuMs }: BenchResults): string[] {
  const { inputs, rows } = scale;
  const pg = (value: number | null) => (value === null ? 'not measured' : big(value));
  const out = [
    `**Scale model** (from this run: per login ${count(inputs.login.requests)} Upstash requests, ${Math.round(inputs.login.sent + inputs.login.received)} bytes; ` +
      `per authenticated request ${count(inputs.me.requests)}, ${Math.round(inputs.me.sent + inputs.me.received)} bytes; ` +
      `${inputs.postgresTripsPerLogin} Postgres round trip per login at ${pg(postgresCpuMs.firstLogin)} ms server CPU (first login; returning ${pg(postgresCpuMs.returningLogin)} ms); ` +
      `function CPU ${inputs.functionCpuMs.login.toFixed(2)} ms per login, ${inputs.functionCpuMs.me.toFixed(2)} ms per /me (modelled scenario). ` +
      `Assumed: ${AUTHENTICATED_PER_LOGIN} authenticated requests per login, ${inputs.postgresRttMs} ms from function to Postgres.)`,
    '',
    '| Logins/s | Authenticated req/s | Upstash req/s | Upstash MB/s | Upstash GB/month | Postgres CPU ms/s | Postgres backends busy | Pooled connections in use | Function CPU-s/s |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  for (const row of rows) {
    out.push(
      `| ${big(row.loginsPerSecond)} | ${big(row.authenticatedPerSecond)} | ${big(row.upstashRequestsPerSecond)} | ${big(row.upstashMegabytesPerSecond)} | ` +
        `${big(row.upstashGigabytesPerMonth)} | ${pg(row.postgresCpuMsPerSecond)} | ${pg(row.postgresBackends)} | ${big(row.postgresClientConnections)} | ` +
        `${big(row.functionCpuSecondsPerSecond)} |`,
    );
  }
  out.push(
    '',
    `- Upstash's ${UPSTASH_COMMANDS_PER_SECOND.toLocaleString('en-US')} commands/s (below Enterprise) are reached at ${big(scale.upstashLimitLogins)} logins/s.`,
    `- The default per-IP login limit is ${LOGINS_PER_IP_PER_SECOND} logins/s from one address (RATE_LIMIT_LOGIN_PER_IP=1200/1m).`,
  );
  return out;
}

function targetList({ verdict }: BenchResults): string[] {
  return ['**Targets**', '', ...Object.entries(verdict.targets).map(([name, ok]) => `- ${name}: ${mark(ok)}`)];
}

const COLORS = { ours: '#1f6feb', bare: '#6e7781', seed: '#d4761c' } as const;

/** Each flow's variants as latency-by-percentile curves (log ms): people compare runs by looking. */
export function latencySvg(results: BenchResults, samples: Record<string, number[]>): string {
  const width = 920;
  const height = 30 + results.scenarios.length * 340;
  const panels = results.scenarios.flatMap((scenario, row) =>
    (['login', 'me'] as const).map((flow, column) => panel(results, samples, scenario, flow, 60 + column * 450, 60 + row * 340, 380, 250)),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">Latency by percentile, one request at a time (${escape(results.startedAt)})</text>`,
    ...panels,
    '</svg>',
  ].join('\n');
}

function panel(
  results: BenchResults,
  samples: Record<string, number[]>,
  scenario: Scenario,
  flow: 'login' | 'me',
  x0: number,
  y0: number,
  w: number,
  h: number,
): string {
  const rows = results.latency.filter((row) => row.scenario === scenario.name && row.flow === flow);
  const curves = rows.map((row) => ({ row, sorted: [...(samples[sampleKey(row)] ?? [])].sort((a, b) => a - b) }));
  const all = curves.flatMap((curve) => curve.sorted);
  const lo = Math.max(0.05, Math.min(...all) * 0.9);
  const hi = Math.max(...curves.map(({ sorted }) => sorted.at(-1) ?? lo * 2)) * 1.1;
  const x = (value: number) => x0 + ((Math.log(Math.min(Math.max(value, lo), hi)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * w;
  // Tail-stretched: 0, p50, p90, p99 and p99.9 are evenly spaced, so the tail is visible.
  const y = (fraction: number) => y0 + h - (Math.log10(1 / (1 - Math.min(fraction, 0.999))) / 3) * h;
  const title = `${flow === 'me' ? 'GET /api/me' : 'POST /api/login'}, ${scenario.name} (+${scenario.wechatMs} / +${scenario.backendMs} ms)`;
  const parts = [`<text x="${x0 + w / 2}" y="${y0 - 8}" text-anchor="middle" font-weight="bold">${escape(title)}</text>`];
  parts.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (const tick of [0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500, 1000]) {
    if (tick < lo || tick > hi) continue;
    parts.push(`<line x1="${x(tick)}" y1="${y0}" x2="${x(tick)}" y2="${y0 + h}" stroke="#eee"/>`);
    parts.push(`<text x="${x(tick)}" y="${y0 + h + 15}" text-anchor="middle">${tick}</text>`);
  }
  for (const [fraction, label] of [[0, '0'], [0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99'], [0.999, 'p99.9']] as const) {
    parts.push(`<line x1="${x0}" y1="${y(fraction)}" x2="${x0 + w}" y2="${y(fraction)}" stroke="#eee"/>`);
    parts.push(`<text x="${x0 - 5}" y="${y(fraction) + 4}" text-anchor="end">${label}</text>`);
  }
  parts.push(`<text x="${x0 + w / 2}" y="${y0 + h + 32}" text-anchor="middle">ms (log scale)</text>`);
  curves.forEach(({ row, sorted }, index) => {
    const step = Math.max(1, Math.floor(sorted.length / 400));
    const points: string[] = [];
    // Dense where the tail is: every sample of the top 2%, a thinned sample of the rest.
    for (let i = 0; i < sorted.length; i += i < sorted.length * 0.98 ? step : 1) {
      points.push(`${x(sorted[i]!).toFixed(1)},${y((i + 0.5) / sorted.length).toFixed(1)}`);
    }
    const color = COLORS[row.variant];
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.join(' ')}"/>`);
    parts.push(`<rect x="${x0 + 10}" y="${y0 + 10 + index * 18}" width="12" height="4" fill="${color}"/>`);
    parts.push(`<text x="${x0 + 28}" y="${y0 + 16 + index * 18}">${escape(LABELS[row.variant])} (p50 ${ms(row.summary.p50)}, p99 ${ms(row.summary.p99)})</text>`);
  });
  return parts.join('\n');
}

/** Where a row's raw samples are kept. */
export function sampleKey(row: Pick<LatencyRow, 'scenario' | 'flow' | 'variant'>): string {
  return `${row.scenario}:${row.flow}:${row.variant}`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
