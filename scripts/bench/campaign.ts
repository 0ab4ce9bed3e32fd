// A campaign opening: thousands of distinct people, each with a live session, claim one benefit at
// the same instant through api/claims's handler (in process, with one instance's Postgres pool),
// against no stock and against a stock of 100. Reports what was granted (exactly the stock, each in
// the fulfilment feed once), claims per second, latency and Postgres round trips per claim.
import { saveBenefit } from '../../lib/benefits/claims.js';
import { query } from '../../lib/platform/postgres.js';
import type { Traffic } from './backends.js';
import { summarize, type Summary } from './measure.js';
import { claimRequest, expectStatus, loginRequest } from './requests.js';

export interface CampaignPlan {
  /** People claiming at once. */
  people: number;
  stock: number;
  appid: string;
  newPerson: () => string;
  /** The functions, as loaded by scripts/local/server.ts. */
  handler: (path: string) => { fetch(request: Request): Promise<Response> };
  /** What `work` sent to the backends (Postgres round trips counted at the bridge). */
  record: (work: () => Promise<unknown>) => Promise<Traffic>;
  progress: (line: string) => void;
}

export interface CampaignRow {
  /** The benefit's stock; null: none. */
  stock: number | null;
  people: number;
  granted: number;
  soldOut: number;
  /** Any other answer: must be 0. */
  errors: number;
  /** Claims of the benefit in the fulfilment feed. */
  fed: number;
  claimsPerSecond: number;
  summary: Summary;
  postgresPerClaim: number;
}

export async function campaignOpening(plan: CampaignPlan): Promise<CampaignRow[]> {
  const rows: CampaignRow[] = [];
  for (const stock of [null, plan.stock]) {
    plan.progress(`campaign opening: ${plan.people} people claim one benefit at once, ${stock === null ? 'no stock' : `stock ${stock}`}`);
    rows.push(await openCampaign(plan, stock));
  }
  return rows;
}

/** Exactly the stock granted (everyone without one), each claim in the feed once, nothing failed. */
export function campaignExact(row: CampaignRow): boolean {
  const expected = Math.min(row.people, row.stock ?? row.people);
  return row.granted === expected && row.soldOut === row.people - expected && row.fed === expected && row.errors === 0;
}

async function openCampaign(plan: CampaignPlan, stock: number | null): Promise<CampaignRow> {
  const key = `campaign-${stock ?? 'unlimited'}-${plan.newPerson()}`.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  const policy = { newWithinDays: null, phoneRequired: false, onePerPhone: false, maxRiskRank: null, riskFailure: 'refuse' as const, stock, dailyStock: null };
  await saveBenefit(key, { title: { zh: '开业礼', en: 'Opening gift' }, active: true, startsAt: null, endsAt: null, policy }, 'admin:bench');

  const login = plan.handler('/api/login');
  const tokens: string[] = [];
  for (let i = 0; i < plan.people; i++) {
    tokens.push(JSON.parse(await expectStatus(await login.fetch(loginRequest(plan.appid, plan.newPerson())), 200, '/api/login')).token);
  }

  const claims = plan.handler('/api/claims');
  const statuses: string[] = [];
  const samples: number[] = [];
  let seconds = 0;
  const traffic = await plan.record(async () => {
    const requests = tokens.map((token) => claimRequest(token, key));
    const opened = performance.now();
    await Promise.all(
      requests.map(async (request) => {
        const started = performance.now();
        const response = await claims.fetch(request);
        const body = (await response.json()) as { reason?: string };
        samples.push(performance.now() - started);
        statuses.push(response.status === 403 ? `403 ${body.reason}` : String(response.status));
      }),
    );
    seconds = (performance.now() - opened) / 1000;
  });
  const [fed] = await query<{ count: number }>(`select count(*)::int as count from claim_feed where benefit = $1 and kind = 'claim'`, [key]);
  const granted = statuses.filter((status) => status === '201').length;
  const soldOut = statuses.filter((status) => status === '403 sold_out').length;
  return {
    stock,
    people: plan.people,
    granted,
    soldOut,
    errors: plan.people - granted - soldOut,
    fed: fed!.count,
    claimsPerSecond: plan.people / seconds,
    summary: summarize(samples),
    postgresPerClaim: traffic.postgres / plan.people,
  };
}

export function campaignTable(rows: CampaignRow[], poolMax: number): string[] {
  const out = [
    `**Campaign opening** (distinct people with live sessions claim one benefit at the same instant, in process through api/claims, ` +
      `one instance's Postgres pool of ${poolMax}; *exact*: granted = min(people, stock), every other answer \`sold_out\`, each claim in the feed once)`,
    '',
    '| Benefit | People | Granted | sold_out | Other answers | In the feed | Claims/s | p50 ms | p99 ms | Postgres round trips per claim | Exact |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const row of rows) {
    out.push(
      `| ${row.stock === null ? 'no stock' : `stock ${row.stock}`} | ${row.people} | ${row.granted} | ${row.soldOut} | ${row.errors} | ${row.fed} | ` +
        `${Math.round(row.claimsPerSecond)} | ${row.summary.p50.toFixed(1)} | ${row.summary.p99.toFixed(1)} | ${row.postgresPerClaim.toFixed(2)} | ${campaignExact(row) ? 'yes' : '**no**'} |`,
    );
  }
  return out;
}
