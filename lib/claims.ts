// Once-per-person benefits: the first claim from any mini program wins, every later one is refused.
import { config } from './config.js';
import { query } from './db.js';
import { ApiError } from './errors.js';
import { invalid } from './http.js';

export interface Claim {
  benefit: string;
  appid: string;
  claimedAt: string;
}

export const CLAIM_FIELDS = ['benefit'] as const;

/** Claims `body.benefit` for the person, from `appid`, in one round trip (see claim_benefit in db/). */
export async function claimBenefit(userId: string, appid: string, body: Record<string, unknown>): Promise<Claim> {
  const { benefit } = body;
  if (typeof benefit !== 'string') throw invalid('"benefit" must be a string');
  if (!config().benefits.has(benefit)) {
    throw new ApiError('unknown_benefit', { detail: `Offered: ${[...config().benefits].join(', ')}` });
  }
  const [row] = await query<ClaimRow & { created: boolean }>(
    'select benefit, appid, claimed_at, created from claim_benefit($1, $2, $3)',
    [userId, benefit, appid],
  );
  if (!row) throw new Error('claim_benefit returned no row');
  const claim = toClaim(row);
  if (!row.created) {
    throw new ApiError('already_claimed', {
      detail: `Claimed in ${claim.appid} at ${claim.claimedAt}`,
      extensions: { benefit: claim.benefit, appid: claim.appid, claimedAt: claim.claimedAt },
    });
  }
  return claim;
}

/** Everything the person has claimed, oldest first (merged people included). */
export async function listClaims(userId: string): Promise<Claim[]> {
  const rows = await query<ClaimRow>(
    `select c.benefit, c.appid, c.claimed_at from claims c
      where c.user_id = (select coalesce(u.merged_into, u.id) from users u where u.id = $1)
      order by c.claimed_at, c.benefit`,
    [userId],
  );
  return rows.map(toClaim);
}

interface ClaimRow {
  benefit: string;
  appid: string;
  claimed_at: Date;
}

function toClaim(row: ClaimRow): Claim {
  return { benefit: row.benefit, appid: row.appid, claimedAt: row.claimed_at.toISOString() };
}
