// The fulfilment feed: every claim, and every reversal of a claim a merge dropped, for the
// company's coupon system to act on exactly once, read by cursor (at least once: a consumer that
// stops before saving its cursor reads the same entries again, so it keys its work by claim id).
import { query } from '../platform/postgres.js';
import { invalid } from '../platform/errors.js';

export interface FeedEntry {
  /** Pass as `after` to read what follows this entry. */
  cursor: string;
  /** A claim to fulfil, or a reversal of claim `claimId` (dropped by a merge: the same human claimed twice). */
  kind: 'claim' | 'reversal';
  claimId: string;
  personId: string;
  benefit: string;
  appid: string;
  claimedAt: string;
  /** When the entry was recorded. */
  at: string;
}

export interface FeedPage {
  claims: FeedEntry[];
  /** Where the next read starts: the last entry's cursor, or `after` again when nothing was new. */
  next: string;
  /** More entries wait after this page. */
  more: boolean;
}

const START = '0-0';

/**
 * Entries after `after`, oldest first, by (transaction id, position), and only those below the
 * oldest transaction still running: an entry committed later can never land before a cursor a
 * consumer already holds.
 */
export async function readClaimFeed(after = START, limit = 100): Promise<FeedPage> {
  const match = /^(\d{1,20})-(\d{1,19})$/.exec(after);
  if (!match) throw invalid('"after" must be the "next" of an earlier page (or absent, to start at the beginning)');
  const rows = await query<{ txid: string; position: string; kind: 'claim' | 'reversal'; claim_id: string; person_id: string; benefit: string; appid: string; claimed_at: Date; at: Date }>(
    `select txid::text, position::text, kind, claim_id::text, person_id, benefit, appid, claimed_at, at
       from claim_feed
      where (txid, position) > ($1::xid8, $2::bigint) and txid < pg_snapshot_xmin(pg_current_snapshot())
      order by txid, position
      limit $3`,
    [match[1], match[2], limit + 1],
  );
  const claims = rows.slice(0, limit).map((row) => ({
    cursor: `${row.txid}-${row.position}`,
    kind: row.kind,
    claimId: row.claim_id,
    personId: row.person_id,
    benefit: row.benefit,
    appid: row.appid,
    claimedAt: row.claimed_at.toISOString(),
    at: row.at.toISOString(),
  }));
  return { claims, next: claims.at(-1)?.cursor ?? after, more: rows.length > limit };
}

/** A person's claim as their copy of their data shows it: where it stands with fulfilment. */
export interface ClaimRecord {
  benefit: string;
  appid: string;
  claimedAt: string;
  /**
   * handed_over: in the feed for the company's fulfilment system (what that system did with it is
   * its own record); reversed: dropped by a merge (the same human had claimed it twice), its
   * reversal in the feed too.
   */
  fulfilment: 'handed_over' | 'reversed';
  reversedAt: string | null;
}

/** Every claim the feed holds of the person and of those merged into them, oldest first. */
export async function claimRecords(personId: string): Promise<ClaimRecord[]> {
  const rows = await query<{ benefit: string; appid: string; claimed_at: Date; reversed_at: Date | null }>(
    `select f.benefit, f.appid, f.claimed_at, max(f.at) filter (where f.kind = 'reversal') as reversed_at
       from claim_feed f
      where f.person_id = $1 or f.person_id in (select id from people where merged_into = $1)
      group by f.claim_id, f.benefit, f.appid, f.claimed_at
      order by f.claimed_at, f.claim_id`,
    [personId],
  );
  return rows.map((row) => ({
    benefit: row.benefit,
    appid: row.appid,
    claimedAt: row.claimed_at.toISOString(),
    fulfilment: row.reversed_at === null ? 'handed_over' : 'reversed',
    reversedAt: row.reversed_at?.toISOString() ?? null,
  }));
}
