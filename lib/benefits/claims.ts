// Benefits the company offers (the benefits table, run by operators), and claims of them: once per
// person, whichever mini program they open first, under each benefit's policy (new people only,
// a verified phone, one per phone, WeChat's risk rank, a limited stock). Each claim is one Postgres
// round trip.
import { config } from '../platform/config.js';
import { query } from '../platform/postgres.js';
import { identityHashes } from '../people/deletion.js';
import { ApiError, invalid, unauthorized } from '../platform/errors.js';
import { verifiedMainlandNumber } from '../people/records.js';
import type { RequestContext } from '../platform/request-context.js';
import { riskRankOf } from '../wechat/risk-rank.js';
import type { Authenticated } from '../sessions/tokens.js';

export interface BenefitPolicy {
  /** Only people whose first login, in any of the company's apps, was at most this many days ago. */
  newWithinDays: number | null;
  /** Only people with a verified phone bound. */
  phoneRequired: boolean;
  /** At most one claim per verified phone number (implies phoneRequired). */
  onePerPhone: boolean;
  /** Refuse above this WeChat risk rank (0-4). */
  maxRiskRank: number | null;
  /** When WeChat cannot tell the rank: refuse (503, try later) or allow. */
  riskFailure: 'refuse' | 'allow';
  /** At most this many standing claims in all (限量). */
  stock: number | null;
  /** At most this many claims counted on one calendar day in Asia/Shanghai. */
  dailyStock: number | null;
}

export interface Benefit {
  key: string;
  title: { zh: string; en: string };
  active: boolean;
  startsAt: string | null;
  endsAt: string | null;
  policy: BenefitPolicy;
}

/** A benefit as operators see it: with what is left of its stock (null: no such limit). */
export interface AdminBenefit extends Benefit {
  stock: { remaining: number | null; remainingToday: number | null };
}

export type RefusalReason =
  | 'not_new'
  | 'phone_required'
  | 'phone_already_claimed'
  | 'risk'
  | 'not_started'
  | 'ended'
  | 'inactive'
  | 'sold_out'
  | 'sold_out_today';

export interface Claim {
  benefit: string;
  appid: string;
  claimedAt: string;
}

/** A benefit as one person sees it (GET /api/benefits). */
export interface BenefitStatus {
  key: string;
  title: { zh: string; en: string };
  status: 'available' | 'claimed' | 'ineligible';
  /** Where and when, when claimed; appid null for a claim by a deleted account of theirs. */
  claim?: { appid: string | null; claimedAt: string };
  reason?: RefusalReason;
}

interface BenefitRow {
  key: string;
  title_zh: string;
  title_en: string;
  active: boolean;
  starts_at: Date | null;
  ends_at: Date | null;
  new_within_days: number | null;
  phone_required: boolean;
  one_per_phone: boolean;
  max_risk_rank: number | null;
  risk_failure: 'refuse' | 'allow';
  stock: number | null;
  daily_stock: number | null;
  granted: number | null;
  day: string | null;
  granted_today: number | null;
}

interface ClaimOutcomeRow {
  outcome: 'created' | 'replayed' | 'claimed' | 'refused' | 'unknown_benefit' | 'no_person';
  reason: RefusalReason | 'risk_unknown' | 'risk_unavailable' | null;
  benefit: string;
  appid: string | null;
  claimed_at: Date | null;
}

/** Benefits with their stock rows, oldest first; $1: one key, or null for all. */
const ADMIN_BENEFITS = `
  select b.*, s.stock, s.daily_stock, s.granted, s.day::text, s.granted_today
    from benefits b left join benefit_stock s on s.benefit = b.key
   where $1::text is null or b.key = $1
   order by b.created_at, b.key`;

/** Every benefit, oldest first (operators). */
export async function allBenefits(): Promise<AdminBenefit[]> {
  await bootstrapBenefits();
  return (await query<BenefitRow>(ADMIN_BENEFITS, [null])).map(toBenefit);
}

/** Creates or changes a benefit (operators); a change of its stock is audited under `actor`. */
export async function saveBenefit(key: string, benefit: Omit<Benefit, 'key'>, actor: string): Promise<AdminBenefit> {
  if (benefit.startsAt !== null && benefit.endsAt !== null && benefit.endsAt <= benefit.startsAt) {
    throw invalid('"endsAt" must come after "startsAt"');
  }
  await query(`select save_benefit(${params(15)})`, saveArguments(key, benefit, actor));
  const [row] = await query<BenefitRow>(ADMIN_BENEFITS, [key]);
  return toBenefit(row!);
}

/**
 * Claims `benefit` for the session's person from the session's mini program, in one Postgres
 * round trip (db/functions/claim_benefit.sql). A benefit with a risk limit answers that it needs
 * WeChat's rank: asked for, the claim is tried once more with it. A repeat with the same
 * `idempotencyKey` answers the original claim again.
 */
export async function claimBenefit(
  { session, person }: Authenticated,
  benefit: string,
  idempotencyKey: string | null,
  context: RequestContext,
): Promise<Claim> {
  await bootstrapBenefits();
  const attempt = async (risk: { rank: number | null } | null) => {
    const [row] = await query<ClaimOutcomeRow>(
      `select outcome, reason, benefit, appid, claimed_at from claim_benefit(${params(9)})`,
      [person.id, benefit, session.appid, identityHashes(person.card), idempotencyKey, risk?.rank ?? null, risk?.rank === null, hashKey(), shanghaiDay()],
    );
    return row!;
  };
  const row = await attempt(null);
  if (row.reason !== 'risk_unknown') return outcomeOf(row);
  const mobileNo = person.card.phone === null ? null : await verifiedMainlandNumber(person.id);
  const rank = await riskRankOf(session.appid, person.id, { openid: session.openid, clientIp: context.clientAddress, mobileNo }, context.deadline);
  return outcomeOf(await attempt({ rank }));
}

function outcomeOf(row: ClaimOutcomeRow): Claim {
  switch (row.outcome) {
    case 'created':
    case 'replayed':
      return { benefit: row.benefit, appid: row.appid!, claimedAt: row.claimed_at!.toISOString() };
    case 'claimed': {
      const claimedAt = row.claimed_at!.toISOString();
      throw new ApiError('already_claimed', {
        detail: row.appid === null ? 'Claimed before by an account of this person that was deleted' : `Claimed in ${row.appid} at ${claimedAt}`,
        extensions: { benefit: row.benefit, appid: row.appid, claimedAt },
      });
    }
    case 'refused':
      if (row.reason === 'risk_unavailable') {
        throw new ApiError('wechat_unavailable', { detail: 'WeChat could not rate this person\'s risk now', retryAfterSeconds: 30, logFields: { risk: 'unavailable' } });
      }
      throw new ApiError('claim_refused', { detail: refusalDetails[row.reason as RefusalReason], extensions: { reason: row.reason }, logFields: { refusal: row.reason! } });
    case 'unknown_benefit':
      throw new ApiError('unknown_benefit', { detail: 'No benefit has this key' });
    case 'no_person':
      throw unauthorized('The session\'s person no longer exists');
  }
}

const refusalDetails: Record<RefusalReason, string> = {
  not_new: 'Only for people new to the company\'s mini programs',
  phone_required: 'Bind a verified phone number first',
  phone_already_claimed: 'Already claimed with this phone number',
  risk: 'Refused by WeChat\'s risk control',
  not_started: 'Not offered yet',
  ended: 'No longer offered',
  inactive: 'Not offered at the moment',
  sold_out: 'All claimed: none left',
  sold_out_today: 'All of today\'s claimed: come back tomorrow',
};

/** Every active benefit with its status for the person, in one round trip. */
export async function benefitStatuses({ person }: Authenticated): Promise<BenefitStatus[]> {
  await bootstrapBenefits();
  const rows = await query<{ key: string; title_zh: string; title_en: string; status: BenefitStatus['status']; reason: RefusalReason | null; appid: string | null; claimed_at: Date | null }>(
    'select key, title_zh, title_en, status, reason, appid, claimed_at from benefit_statuses($1, $2, $3, $4)',
    [person.id, identityHashes(person.card), hashKey(), shanghaiDay()],
  );
  return rows.map((row) => ({
    key: row.key,
    title: { zh: row.title_zh, en: row.title_en },
    status: row.status,
    ...(row.claimed_at ? { claim: { appid: row.appid, claimedAt: row.claimed_at.toISOString() } } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
  }));
}

/** Everything the person has claimed, oldest first (merged people included). */
export async function listClaims(personId: string): Promise<Claim[]> {
  const rows = await query<{ benefit: string; appid: string; claimed_at: Date }>(
    'select benefit, appid, claimed_at from claims where person_id = live_person($1) order by claimed_at, benefit',
    [personId],
  );
  return rows.map((row) => ({ benefit: row.benefit, appid: row.appid, claimedAt: row.claimed_at.toISOString() }));
}

let bootstrapped: Promise<void> | undefined;

/**
 * BENEFITS in the environment, once per process: keys missing from the table are added with no
 * policy (today's behaviour); existing ones are left as operators set them.
 */
function bootstrapBenefits(): Promise<void> {
  bootstrapped ??= (async () => {
    const noPolicy = { newWithinDays: null, phoneRequired: false, onePerPhone: false, maxRiskRank: null, riskFailure: 'refuse' as const, stock: null, dailyStock: null };
    for (const key of config().benefits) {
      const benefit = { title: { zh: key, en: key }, active: true, startsAt: null, endsAt: null, policy: noPolicy };
      await query(`select save_benefit(${params(16)})`, [...saveArguments(key, benefit, 'system'), true]);
    }
  })().catch((error: unknown) => {
    bootstrapped = undefined;
    throw error;
  });
  return bootstrapped;
}

function saveArguments(key: string, { title, active, startsAt, endsAt, policy }: Omit<Benefit, 'key'>, actor: string): unknown[] {
  const { newWithinDays, phoneRequired, onePerPhone, maxRiskRank, riskFailure, stock, dailyStock } = policy;
  return [key, title.zh, title.en, active, startsAt, endsAt, newWithinDays, phoneRequired, onePerPhone, maxRiskRank, riskFailure, stock, dailyStock, actor, shanghaiDay()];
}

/**
 * Today in Asia/Shanghai as YYYY-MM-DD: the day a daily stock counts on. China keeps UTC+8 all
 * year (no daylight saving time since 1991), so the offset is a constant.
 */
export function shanghaiDay(): string {
  return new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10);
}

/** The key claims hash verified numbers with (claims.phone_key), as hex. */
function hashKey(): string {
  return config().identityHashKey.toString('hex');
}

function params(count: number): string {
  return Array.from({ length: count }, (_, i) => `$${i + 1}`).join(', ');
}

function toBenefit(row: BenefitRow): AdminBenefit {
  const today = row.day !== null && row.day >= shanghaiDay() ? row.granted_today! : 0;
  const left = (limit: number | null, used: number) => (limit === null ? null : Math.max(0, limit - used));
  return {
    key: row.key,
    title: { zh: row.title_zh, en: row.title_en },
    active: row.active,
    startsAt: row.starts_at?.toISOString() ?? null,
    endsAt: row.ends_at?.toISOString() ?? null,
    policy: {
      newWithinDays: row.new_within_days,
      phoneRequired: row.phone_required,
      onePerPhone: row.one_per_phone,
      maxRiskRank: row.max_risk_rank,
      riskFailure: row.risk_failure,
      stock: row.stock,
      dailyStock: row.daily_stock,
    },
    stock: { remaining: left(row.stock, row.granted ?? 0), remainingToday: left(row.daily_stock, today) },
  };
}
