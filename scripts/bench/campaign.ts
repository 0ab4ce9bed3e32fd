// A campaign opening: thousands of distinct people, each with a live session, claim one benefit as
// fast as `inFlight` concurrent requests go through api/claims's handler (in process, with one
// instance's Postgres pool): against no stock, against a stock of 100, and against the same stock
// with the design before (the stock row locked from the claim's first read), in rounds of shuffled
// order so the machine's load hits all alike. Reports what was granted (exactly the stock, each in
// the fulfilment feed once), claims per second, latency and Postgres round trips per claim.
import { readFileSync } from 'node:fs';
import { saveBenefit } from '../../lib/benefits/claims.js';
import { query, withDirectConnection } from '../../lib/platform/postgres.js';
import type { Traffic } from './backends.js';
import { shuffled, summarize, type Summary } from './measure.js';
import { claimRequest, expectStatus, loginRequest } from './requests.js';

export interface CampaignPlan {
  /** People claiming, each once. */
  people: number;
  /** Claims in flight at any moment: bounded, as many instances' worth of requests would be. */
  inFlight: number;
  /** Each variant runs once per round. */
  rounds: number;
  stock: number;
  appid: string;
  newPerson: () => string;
  /** The functions, as loaded by server/functions.ts. */
  handler: (path: string) => { fetch(request: Request): Promise<Response> };
  /** What `work` sent to the backends (Postgres round trips counted at the bridge). */
  record: (work: () => Promise<unknown>) => Promise<Traffic>;
  progress: (line: string) => void;
}

type Design = 'ours' | 'locked first';

interface Variant {
  stock: number | null;
  design: Design;
}

/** One opening's outcome. */
interface Opening {
  granted: number;
  soldOut: number;
  /** Any other answer: must be 0. */
  errors: number;
  /** The first of them, as status and code. */
  firstError: string | null;
  /** Claims of the benefit in the fulfilment feed. */
  fed: number;
  claimsPerSecond: number;
  samples: number[];
  postgresPerClaim: number;
  /** Claims waiting for a lock, sampled every few milliseconds: the most at once, and on average. */
  waiting: { most: number; mean: number; queries: number };
}

export interface CampaignRow extends Variant {
  people: number;
  inFlight: number;
  /** Per round. */
  openings: Omit<Opening, 'samples'>[];
  /** Latency over every round's claims. */
  summary: Summary;
}

export async function campaignOpening(plan: CampaignPlan): Promise<CampaignRow[]> {
  const variants: Variant[] = [
    { stock: null, design: 'ours' },
    { stock: plan.stock, design: 'ours' },
    { stock: plan.stock, design: 'locked first' },
  ];
  const openings = new Map<Variant, Opening[]>(variants.map((variant) => [variant, []]));
  for (let round = 1; round <= plan.rounds; round++) {
    for (const variant of shuffled(variants)) {
      plan.progress(`campaign opening, round ${round}: ${plan.people} people, ${plan.inFlight} claims in flight, ${describe(variant)}`);
      openings.get(variant)!.push(await openCampaign(plan, variant));
    }
  }
  return variants.map((variant) => {
    const all = openings.get(variant)!;
    return {
      ...variant,
      people: plan.people,
      inFlight: plan.inFlight,
      openings: all.map(({ samples, ...opening }) => opening),
      summary: summarize(all.flatMap((opening) => opening.samples)),
    };
  });
}

/** Every round granted exactly the stock (everyone without one), each claim in the feed once, nothing failed. */
export function campaignExact(row: CampaignRow): boolean {
  const expected = Math.min(row.people, row.stock ?? row.people);
  return row.openings.every((one) => one.granted === expected && one.soldOut === row.people - expected && one.fed === expected && one.errors === 0);
}

const describe = ({ stock, design }: Variant) =>
  stock === null ? 'no stock' : `stock ${stock}, ${design === 'ours' ? 'unit taken last (ours)' : 'before: stock row locked from the first read'}`;

const CLAIM_FUNCTION = readFileSync(new URL('../../db/functions/claim_benefit.sql', import.meta.url), 'utf8');
const UNLOCKED_READ = 'select * into stock from benefit_stock s where s.benefit = p_benefit;';

/**
 * claim_benefit as it is (ours), or as the obvious design would have it: the stock row read FOR
 * UPDATE, so every claim of the benefit, refused ones included, waits for the one before to commit.
 */
function claimFunction(design: Design): string {
  if (!CLAIM_FUNCTION.includes(UNLOCKED_READ)) throw new Error('db/functions/claim_benefit.sql no longer reads the stock row as the bench expects');
  return design === 'ours' ? CLAIM_FUNCTION : CLAIM_FUNCTION.replace(UNLOCKED_READ, UNLOCKED_READ.replace(';', ' for update;'));
}

async function openCampaign(plan: CampaignPlan, { stock, design }: Variant): Promise<Opening> {
  const key = `campaign-${stock ?? 'unlimited'}-${plan.newPerson()}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  const policy = { newWithinDays: null, phoneRequired: false, onePerPhone: false, maxRiskRank: null, riskFailure: 'refuse' as const, stock, dailyStock: null };
  await saveBenefit(key, { title: { zh: '开业礼', en: 'Opening gift' }, active: true, startsAt: null, endsAt: null, policy }, 'admin:bench');
  await query(claimFunction(design));

  const login = plan.handler('/api/login');
  const logins = Array.from({ length: plan.people }, () => loginRequest(plan.appid, plan.newPerson()));
  const tokens: string[] = [];
  await inFlight(plan.inFlight, logins, async (request) => {
    tokens.push(JSON.parse(await expectStatus(await login.fetch(request), 200, '/api/login')).token);
  });

  const claims = plan.handler('/api/claims');
  const statuses: string[] = [];
  const samples: number[] = [];
  let seconds = 0;
  const watcher = watchLockWaits();
  const traffic = await plan.record(async () => {
    const opened = performance.now();
    await inFlight(plan.inFlight, tokens.map((token) => claimRequest(token, key)), async (request) => {
      const started = performance.now();
      const response = await claims.fetch(request);
      const body = (await response.json()) as { code?: string; reason?: string };
      samples.push(performance.now() - started);
      statuses.push(response.status === 201 ? '201' : `${response.status} ${body.code}${body.reason ? ` ${body.reason}` : ''}`);
    });
    seconds = (performance.now() - opened) / 1000;
  });
  const waiting = await watcher.stop();
  const [fed] = await query<{ count: number }>(`select count(*)::int as count from claim_feed where benefit = $1 and kind = 'claim'`, [key]);
  await query(claimFunction('ours'));
  const granted = statuses.filter((status) => status === '201').length;
  const soldOut = statuses.filter((status) => status === '403 claim_refused sold_out').length;
  return {
    granted,
    soldOut,
    errors: plan.people - granted - soldOut,
    firstError: statuses.find((status) => status !== '201' && status !== '403 claim_refused sold_out') ?? null,
    fed: fed!.count,
    claimsPerSecond: plan.people / seconds,
    samples,
    // The watcher's own queries pass the same bridge: one round trip each.
    postgresPerClaim: (traffic.postgres - waiting.queries) / plan.people,
    waiting,
  };
}

/**
 * Counts the bench database's ungranted locks every few milliseconds, on a connection of its own
 * (not the pool's), until stopped: how many claims stand in line behind another's lock.
 */
function watchLockWaits() {
  let stopped = false;
  const counts: number[] = [];
  const watching = withDirectConnection(async (run) => {
    while (!stopped) {
      const [row] = await run<{ waiting: number }>(
        'select count(*)::int as waiting from pg_locks where not granted and database = (select oid from pg_database where datname = current_database())',
      );
      counts.push(row!.waiting);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  return {
    async stop() {
      stopped = true;
      await watching;
      return { most: Math.max(0, ...counts), mean: counts.reduce((sum, n) => sum + n, 0) / Math.max(1, counts.length), queries: counts.length };
    },
  };
}


/** Runs `work` on every item, `count` at a time. */
async function inFlight<T>(count: number, items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: count }, worker));
}

export function campaignTable(rows: CampaignRow[], poolMax: number): string[] {
  const out = [
    `**Campaign opening** (distinct people with live sessions claim one benefit, each once, as fast as the claims in flight allow, ` +
      `in process through api/claims on one instance's Postgres pool of ${poolMax}; variants in shuffled order each round; ` +
      `*exact*: every round granted min(people, stock), answered every other claim \`sold_out\`, fed each claim once)`,
    '',
    '| Benefit | People | In flight | Granted (per round) | sold_out | Other answers | In the feed | Claims/s (per round) | p50 ms | p99 ms | Waiting for a lock: most, mean (per round) | Postgres round trips per claim | Exact |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  const each = (row: CampaignRow, pick: (opening: CampaignRow['openings'][number]) => number) => row.openings.map((one) => Math.round(pick(one))).join(', ');
  for (const row of rows) {
    const firstError = row.openings.find((one) => one.firstError)?.firstError;
    out.push(
      `| ${describe(row)} | ${row.people} | ${row.inFlight} | ${each(row, (one) => one.granted)} | ${each(row, (one) => one.soldOut)} | ` +
        `${each(row, (one) => one.errors)} | ${each(row, (one) => one.fed)} | ${each(row, (one) => one.claimsPerSecond)} | ` +
        `${row.summary.p50.toFixed(1)} | ${row.summary.p99.toFixed(1)} | ${row.openings.map(({ waiting }) => `${waiting.most}, ${waiting.mean.toFixed(1)}`).join('; ')} | ${Math.max(...row.openings.map((one) => one.postgresPerClaim)).toFixed(2)} | ` +
        `${campaignExact(row) ? 'yes' : `**no**${firstError ? ` (e.g. ${firstError})` : ''}`} |`,
    );
  }
  return out;
}
