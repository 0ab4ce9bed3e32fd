// People and their mini program accounts, in Postgres.
import { query } from './db.js';

export interface LoggedInUser {
  id: string;
  /** true only on the very first login of this person, in any mini program. */
  isNew: boolean;
  /** What the session store caches about the person, as of `revision`. */
  card: PersonCardVersion;
  /** The user this login merged into this one (a late unionid), if it did. */
  foldedUserId: string | null;
}

/** The person_card() JSON (see db/) and the users.revision it reflects. */
export interface PersonCardVersion {
  userId: string;
  /** Grows whenever the card changes: cached copies keep the highest they were given. */
  revision: number;
  json: string;
}

export interface VerifiedPhone {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

interface CardRow {
  user_id: string;
  revision: number;
  card: unknown;
}

const cardOf = (row: CardRow): PersonCardVersion => ({
  userId: row.user_id,
  revision: row.revision,
  json: JSON.stringify(row.card),
});

/** Finds or creates the account and its person, merging on a late unionid, in one round trip (see record_login in db/). */
export async function recordLogin(appid: string, openid: string, unionid: string | null): Promise<LoggedInUser> {
  const [row] = await query<CardRow & { is_new: boolean; folded_user_id: string | null }>(
    'select user_id, is_new, revision, card, folded_user_id from record_login($1, $2, $3)',
    [appid, openid, unionid],
  );
  if (!row) throw new Error('record_login returned no row');
  return { id: row.user_id, isNew: row.is_new, card: cardOf(row), foldedUserId: row.folded_user_id };
}

/**
 * Gives a WeChat-verified number to this person, in one round trip. A number belongs to one person:
 * the latest verification wins. Returns the new cards of everyone it changed (see assign_phone).
 */
export async function assignPhone(userId: string, phone: VerifiedPhone): Promise<PersonCardVersion[]> {
  const rows = await query<CardRow>('select user_id, revision, card from assign_phone($1, $2, $3, $4)', [
    userId,
    phone.phoneNumber,
    phone.purePhoneNumber,
    phone.countryCode,
  ]);
  return rows.map(cardOf);
}
