// Once-per-person benefits: the first claim from any mini program wins, every later one is refused.
import { config } from './config.js';
import { query } from './db.js';
import { identityHashes, type Identities } from './erasure.js';
import { ApiError, unauthorized } from './errors.js';

export interface Claim {
  benefit: string;
  appid: string;
  claimedAt: string;
}

/**
 * Claims `benefit` for the person, from `appid`, in one round trip (see db/functions/claim_benefit.sql).
 * `identities`: the person's, so a claim made before by a deleted account of theirs counts.
 */
export async function claimBenefit(personId: string, appid: string, benefit: string, identities: Identities): Promise<Claim> {
  if (!config().benefits.has(benefit)) {
    throw new ApiError('unknown_benefit', { detail: `Offered: ${[...config().benefits].join(', ')}` });
  }
  // appid is null for a claim made by a deleted account (erased_claims).
  const [row] = await query<{ benefit: string; appid: string | null; claimed_at: Date; created: boolean }>(
    'select benefit, appid, claimed_at, created from claim_benefit($1, $2, $3, $4)',
    [personId, benefit, appid, identityHashes(identities)],
  );
  if (!row) throw unauthorized('The session\'s person no longer exists');
  const claimedAt = row.claimed_at.toISOString();
  if (!row.created || row.appid === null) {
    throw new ApiError('already_claimed', {
      detail: row.appid === null ? 'Claimed before by an account of this person that was deleted' : `Claimed in ${row.appid} at ${claimedAt}`,
      extensions: { benefit: row.benefit, appid: row.appid, claimedAt },
    });
  }
  return { benefit: row.benefit, appid: row.appid, claimedAt };
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
