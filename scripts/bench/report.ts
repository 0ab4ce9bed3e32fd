// The benchmark's results as Markdown tables (printed and saved) and an SVG of the latency curves.
import type { RoundTrips } from './backends.js';
import type { ColdStart } from './cold-start.js';
import type { Summary } from './measure.js';

export const TARGETS = { p50Ratio: 1.1, p99Ratio: 1.25, coldStartAdded: 0.2 } as const;

/** Latency added to every call at the fakes: none (loopback), or a modelled deployment. */
export interface Scenario {
  name: string;
  wechatMs: number;
  backendMs: number;
}

export interface LatencyRow {
  scenario: string;
  flow: 'login' | 'me';
  variant: 'ours' | 'bare' | 'seed';
  label: string;
  summary: Summary;
  /** Median CPU time of the measuring process per call: our code and the clients, not the backends. */
  cpuMs: number;
  roundTrips: RoundTrips;
  /** null when the variant has no budget (the baselines). */
  budget: RoundTrips | null;
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
  latency: LatencyRow[];
  concurrency: ConcurrencyRow[];
  memory: { rssStartMb: number; rssEndMb: number; requests: number };
  coldStart: ColdStart[];
  verdict: { roundTripsWithinBudget: boolean; noErrors: boolean; targets: Record<string, boolean> };
}

const ms = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));
const mark = (ok: boolean) => (ok ? 'met' : '**missed**');
const kb = (bytes: number) => (bytes / 1024).toFixed(1);

/** A row's latency over its bare minimum's, same scenario and flow. */
export function ratio(results: BenchResults, row: LatencyRow, at: 'p50' | 'p99'): number {
  return Math.round((row.summary[at] / bareOf(results, row)[at]) * 100) / 100;
}

function bareOf(results: BenchResults, row: LatencyRow): Summary {
  return results.latency.find((r) => r.scenario === row.scenario && r.flow === row.flow && r.variant === 'bare')!.summary;
}

export const describe = (scenario: Scenario) =>
  `${scenario.name} (+${scenario.wechatMs} ms per WeChat call, +${scenario.backendMs} ms per Postgres/Redis round trip)`;

export function markdown(results: BenchResults): string {
  const { machine } = results;
  const out: string[] = [
    `Run ${results.startedAt}${results.quick ? ' (--quick: few samples, numbers are indicative only)' : ''}; ` +
      `Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}. ` +
      `Scenarios: ${results.scenarios.map(describe).join('; ')}.`,
    '',
    `**Latency and overhead** (one request at a time, variants interleaved; ms; ×bare = this ÷ bare minimum; +ms = this − bare at p50; ` +
      `CPU = median CPU time of the calling process per request, backends excluded; round trips counted on loopback)`,
    '',
    '| Scenario | Flow | Variant | n | p50 | p90 | p99 | ×bare p50 | ×bare p99 | +ms p50 | CPU ms | WeChat / PG / Redis round trips |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const row of results.latency) {
    const { n, p50, p90, p99 } = row.summary;
    const trips = `${fmtTrips(row.roundTrips.wechat)} / ${fmtTrips(row.roundTrips.postgres)} / ${fmtTrips(row.roundTrips.redis)}`;
    const budget = row.budget
      ? ` (budget ${row.budget.wechat} / ${row.budget.postgres} / ${row.budget.redis}: ${withinBudget(row) ? 'ok' : '**exceeded**'})`
      : '';
    out.push(
      `| ${row.scenario} | ${row.flow === 'me' ? '/me' : 'login'} | ${row.label} | ${n} | ${ms(p50)} | ${ms(p90)} | ${ms(p99)} | ` +
        `${ratio(results, row, 'p50').toFixed(2)} | ${ratio(results, row, 'p99').toFixed(2)} | ` +
        `${(p50 - bareOf(results, row).p50).toFixed(2)} | ${row.cpuMs.toFixed(2)} | ${trips}${budget} |`,
    );
  }
  out.push(
    '',
    `**Concurrency over HTTP** (one local server process, closed-loop clients, keep-alive)`,
    '',
    '| Flow | Clients | Requests | Errors | req/s | p50 ms | p99 ms | Server RSS MB after |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
  );
  for (const row of results.concurrency) {
    out.push(
      `| ${row.flow === 'me' ? '/me' : 'login'} | ${row.clients} | ${row.requests} | ${row.errors}${row.firstError ? ` (${row.firstError})` : ''} | ` +
        `${row.throughput.toFixed(0)} | ${ms(row.summary.p50)} | ${ms(row.summary.p99)} | ${row.rssMb.toFixed(0)} |`,
    );
  }
  const { memory } = results;
  out.push(
    '',
    `Server RSS: ${memory.rssStartMb.toFixed(1)} MB at start, ${memory.rssEndMb.toFixed(1)} MB after ${memory.requests} requests.`,
    '',
    `**Cold start** (esbuild bundle per function, imported in a fresh Node process; median of ${results.coldStart[0]?.importMs.n ?? 0} runs each)`,
    '',
    '| Function | Bundle KB | Deps-only bundle KB | Our code KB | Import ms | Deps-only import ms | Our code adds | Third-party packages |',
    '|---|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const row of results.coldStart) {
    const own = Object.values(row.ownModules).reduce((a, b) => a + b, 0);
    out.push(
      `| api/${row.name} | ${kb(row.bundleBytes)} | ${kb(row.depsBundleBytes)} | ${kb(own)} | ${ms(row.importMs.p50)} | ` +
        `${ms(row.depsImportMs.p50)} | ${(row.added * 100).toFixed(0)}% | ${row.packages.join(', ')} |`,
    );
  }
  out.push('', '**Targets**', '');
  for (const [name, ok] of Object.entries(results.verdict.targets)) out.push(`- ${name}: ${mark(ok)}`);
  return `${out.join('\n')}\n`;
}

export function withinBudget(row: LatencyRow): boolean {
  const { budget, roundTrips } = row;
  return !budget || (roundTrips.wechat <= budget.wechat && roundTrips.postgres <= budget.postgres && roundTrips.redis <= budget.redis);
}

function fmtTrips(perRequest: number): string {
  return Number.isInteger(perRequest) ? String(perRequest) : perRequest.toFixed(2);
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
    parts.push(`<text x="${x0 + 28}" y="${y0 + 16 + index * 18}">${escape(row.label)} (p50 ${ms(row.summary.p50)}, p99 ${ms(row.summary.p99)})</text>`);
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
