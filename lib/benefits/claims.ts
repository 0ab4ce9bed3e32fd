// Benefits the company offers (the benefits table, run by operators), and claims of them: once per
// person, whichever mini program they open first, under each benefit's policy (new people only,
// a verified phone, one per phone, WeChat's risk rank). Each claim is one Postgres round trip; a
// risk-limited one two, around WeChat's rank.
import { config } from '../platform/config.js';
import { query } from '../platform/postgres.js';
import { identityHashes } from '../people/deletion.js';
import { ApiError, invalid, unauthorized } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { riskRankOf } from '../wechat/risk-rank.js';
import { identityHashKeyHex } from '../platform/sealing.js';
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
}

export interface Benefit {
  key: string;
  title: { zh: string; en: string };
  active: boolean;
  startsAt: string | null;
  endsAt: string | null;
  policy: BenefitPolicy;
}

export type RefusalReason = 'not_new' | 'phone_required' | 'phone_already_claimed' | 'risk' | 'not_started' | 'ended' | 'inactive';

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
}

interface ClaimOutcomeRow {
  outcome: 'created' | 'replayed' | 'claimed' | 'refused' | 'unknown_benefit' | 'no_person';
  reason: RefusalReason | 'risk_unknown' | 'risk_unavailable' | null;
  benefit: string;
  appid: string | null;
  claimed_at: Date | null;
  /** With risk_unknown: the person's verified mainland number, for WeChat's risk rank. */
  mobile_no: string | null;
}

/** Every benefit, oldest first (operators). */
export async function allBenefits(): Promise<Benefit[]> {
  await bootstrapBenefits();
  return (await query<BenefitRow>('select * from benefits order by created_at, key')).map(toBenefit);
}

/** Creates or changes a benefit (operators). */
export async function saveBenefit(key: string, benefit: Omit<Benefit, 'key'>): Promise<Benefit> {
  if (benefit.startsAt !== null && benefit.endsAt !== null && benefit.endsAt <= benefit.startsAt) {
    throw invalid('"endsAt" must come after "startsAt"');
  }
  const [row] = await query<BenefitRow>(`select * from save_benefit(${params(11)})`, saveArguments(key, benefit));
  return toBenefit(row!);
}

/**
 * Claims `benefit` for the session's person from the session's mini program, in one Postgres
 * round trip (db/functions/claim_benefit.sql). A benefit with a risk limit answers that it needs
 * WeChat's rank, with the bound mainland number to ask it with: asked for (or remembered), the
 * claim is tried once more with it, a second round trip. A repeat with the same `idempotencyKey`
 * answers the original claim again.
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
      `select outcome, reason, benefit, appid, claimed_at, mobile_no from claim_benefit(${params(8)})`,
      [person.id, benefit, session.appid, identityHashes(person.card), idempotencyKey, risk?.rank ?? null, risk?.rank === null, identityHashKeyHex()],
    );
    return row!;
  };
  const row = await attempt(null);
  if (row.reason !== 'risk_unknown') return outcomeOf(row);
  const rank = await riskRankOf(session.appid, person.id, { openid: session.openid, clientIp: context.clientAddress, mobileNo: row.mobile_no }, context.deadline);
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
};

/** Every active benefit with its status for the person, in one round trip. */
export async function benefitStatuses({ person }: Authenticated): Promise<BenefitStatus[]> {
  await bootstrapBenefits();
  const rows = await query<{ key: string; title_zh: string; title_en: string; status: BenefitStatus['status']; reason: RefusalReason | null; appid: string | null; claimed_at: Date | null }>(
    'select key, title_zh, title_en, status, reason, appid, claimed_at from benefit_statuses($1, $2, $3)',
    [person.id, identityHashes(person.card), identityHashKeyHex()],
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
    const noPolicy = { newWithinDays: null, phoneRequired: false, onePerPhone: false, maxRiskRank: null, riskFailure: 'refuse' as const };
    for (const key of config().benefits) {
      const benefit = { title: { zh: key, en: key }, active: true, startsAt: null, endsAt: null, policy: noPolicy };
      await query(`select * from save_benefit(${params(12)})`, [...saveArguments(key, benefit), true]);
    }
  })().catch((error: unknown) => {
    bootstrapped = undefined;
    throw error;
  });
  return bootstrapped;
}

function saveArguments(key: string, { title, active, startsAt, endsAt, policy }: Omit<Benefit, 'key'>): unknown[] {
  return [key, title.zh, title.en, active, startsAt, endsAt, policy.newWithinDays, policy.phoneRequired, policy.onePerPhone, policy.maxRiskRank, policy.riskFailure];
}

function params(count: number): string {
  return Array.from({ length: count }, (_, i) => `$${i + 1}`).join(', ');
}

function toBenefit(row: BenefitRow): Benefit {
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
    },
  };
}
