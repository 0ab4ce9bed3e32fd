// People and their mini program accounts, in Postgres; the person card (sessions/card.ts) is built
// here from the typed rows the database returns.
import { appKindOf } from '../platform/config.js';
import { query } from '../platform/postgres.js';
import { identityHashes } from './deletion.js';
import { identityHashKeyHex } from '../platform/sealing.js';
import type { PersonCard, PersonCardVersion } from '../sessions/card.js';

export interface LoggedInPerson extends PersonCardVersion {
  /**
   * true when this login created the person: the first in any mini program, or the first after the
   * person deleted their account (newWithinDays still counts from the identity's first sight).
   */
  isNew: boolean;
  /** Suspended by an operator: no session may be created. */
  suspended: boolean;
  /** The person this login merged into this one (a late unionid), if it did. */
  foldedPersonId: string | null;
}

export interface VerifiedPhone {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string;
}

/** A person_facts row (db/migrations/0004_people.sql). */
interface PersonFactsRow {
  person_id: string;
  revision: number;
  unionid: string | null;
  created_at: Date;
  phone_country_code: string | null;
  phone_pure_number: string | null;
  accounts: { appid: string; openid: string; linkedAt: string }[];
  nickname: string | null;
  avatar_hash: string | null;
}

const FACTS = 'person_id, revision, unionid, created_at, phone_country_code, phone_pure_number, accounts, nickname, avatar_hash';

/** Finds or creates the account and its person, merging on a late unionid, in one round trip (see record_login in db/). */
export async function recordLogin(appid: string, openid: string, unionid: string | null): Promise<LoggedInPerson> {
  const [row] = await query<PersonFactsRow & { is_new: boolean; suspended: boolean; folded_person_id: string | null }>(
    `select is_new, suspended, folded_person_id, ${FACTS} from record_login($1, $2, $3, $4)`,
    [appid, openid, unionid, identityHashes({ unionid, accounts: [{ appid, openid }] })],
  );
  if (!row) throw new Error('record_login returned no row');
  return { ...cardVersionOf(row), isNew: row.is_new, suspended: row.suspended, foldedPersonId: row.folded_person_id };
}

/** Whether this account (appid + openid) is known: a silent 公众号 sign-in may only find people, never make them. */
export async function accountExists(appid: string, openid: string): Promise<boolean> {
  const [row] = await query<{ found: boolean }>('select exists (select 1 from accounts where appid = $1 and openid = $2) as found', [appid, openid]);
  return row?.found === true;
}

/**
 * Gives a WeChat-verified number to this person, in one round trip. A number belongs to one person:
 * the latest verification wins. Returns the new cards of everyone it changed (see assign_phone).
 */
export async function assignPhone(personId: string, phone: VerifiedPhone): Promise<PersonCardVersion[]> {
  const rows = await query<PersonFactsRow>(`select ${FACTS} from assign_phone($1, $2, $3, $4, $5)`, [
    personId,
    phone.phoneNumber,
    phone.purePhoneNumber,
    phone.countryCode,
    identityHashKeyHex(),
  ]);
  return rows.map(cardVersionOf);
}

/** The cards a SQL function returning setof person_facts gives back: `call` is its call, e.g. set_nickname($1, $2). */
export async function cardsFrom(call: string, values: unknown[]): Promise<PersonCardVersion[]> {
  return (await query<PersonFactsRow>(`select ${FACTS} from ${call}`, values)).map(cardVersionOf);
}

/** Whether the person (or whoever they were merged into) exists. */
export async function personExists(personId: string): Promise<boolean> {
  const [row] = await query<{ live: string | null }>('select live_person($1) as live', [personId]);
  return row?.live != null;
}

function cardVersionOf(row: PersonFactsRow): PersonCardVersion {
  return {
    personId: row.person_id,
    revision: row.revision,
    card: {
      unionid: row.unionid,
      createdAt: row.created_at.toISOString(),
      phone: row.phone_pure_number === null ? null : maskPhone(row.phone_country_code ?? '86', row.phone_pure_number),
      accounts: row.accounts.map((account) => ({
        appid: account.appid,
        openid: account.openid,
        kind: appKindOf(account.appid),
        linkedAt: new Date(account.linkedAt).toISOString(),
      })),
      nickname: row.nickname,
      avatarHash: row.avatar_hash,
    },
  };
}

/** 138****0000: the first 3 and last 4 digits (1 and 2 of short numbers); +code outside mainland China. */
export function maskPhone(countryCode: string, digits: string): string {
  const [head, tail] = digits.length >= 9 ? [3, 4] : [1, 2];
  const hidden = Math.max(0, digits.length - head - tail);
  const masked = digits.slice(0, digits.length - hidden - tail) + '*'.repeat(hidden) + digits.slice(digits.length - tail);
  return countryCode === '86' ? masked : `+${countryCode} ${masked}`;
}
