// Once-per-person benefits: the first claim from any mini program wins, every later one is refused.
import { config } from './config.js';
import { query } from './db.js';
import { ApiError, unauthorized } from './errors.js';

export interface Claim {
  benefit: string;
  appid: string;
  claimedAt: string;
}

/** Claims `benefit` for the person, from `appid`, in one round trip (see db/functions/claim_benefit.sql). */
export async function claimBenefit(personId: string, appid: string, benefit: string): Promise<Claim> {
  if (!config().benefits.has(benefit)) {
    throw new ApiError('unknown_benefit', { detail: `Offered: ${[...config().benefits].join(', ')}` });
  }
  const [row] = await query<ClaimRow & { created: boolean }>(
    'select benefit, appid, claimed_at, created from claim_benefit($1, $2, $3)',
    [personId, benefit, appid],
  );
  if (!row) throw unauthorized('The session\'s person no longer exists');
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
export async function listClaims(personId: string): Promise<Claim[]> {
  const rows = await query<ClaimRow>(
    'select benefit, appid, claimed_at from claims where person_id = live_person($1) order by claimed_at, benefit',
    [personId],
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
