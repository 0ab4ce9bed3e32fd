// Operators' view of the user base and their actions on it (the admin API): find a person, see
// their whole story across the company's mini programs, suspend, lift, end sessions, reveal a
// phone. Every look-up and every action is recorded in the audit trail under the operator's name
// and role; the handle a look-up used is recorded by its kind only, never its value.
import { config } from '../platform/config.js';
import { query } from '../platform/postgres.js';
import type { Role } from '../platform/roles.js';
import { ApiError } from '../platform/errors.js';
import { listConsents, type Consent } from './consents.js';
import { latestEvents, recordEvent, type AuditEvent } from './events.js';
import type { LinkedAccount } from '../sessions/card.js';
import { maskPhone } from './records.js';
import { endAllSessionsOf, listSessions, revokeSessionByHandle, unblockSessions, type OwnSession } from '../sessions/tokens.js';

/** The handles a person is looked up by. */
export type Lookup = { id: string } | { appid: string; openid: string } | { unionid: string } | { phone: string };
export type LookupKind = 'id' | 'account' | 'unionid' | 'phone';

/** Who is signed in to the console, and the mini programs this deployment serves, by name. */
export interface OperatorView {
  name: string;
  role: Role;
  apps: { appid: string; name: string | null }[];
}

export interface Suspension {
  reason: string;
  /** ISO 8601; null: until lifted. */
  until: string | null;
  at: string;
  by: string;
}

export interface Merge {
  foldedPersonId: string;
  survivorPersonId: string;
  /** The login that brought the shared unionid. */
  appid: string;
  openid: string;
  mergedAt: string;
  movedAccounts: LinkedAccount[];
  /** Claims of a benefit both people had claimed: the later one went. */
  droppedClaims: DroppedClaim[];
}

export interface DroppedClaim {
  /** Whose claim it was. */
  personId: string;
  benefit: string;
  appid: string;
  claimedAt: string;
}

export interface PersonView {
  id: string;
  createdAt: string;
  unionid: string | null;
  /** Masked unless revealed (which the audit trail records). */
  phone: string | null;
  phoneVerifiedAt: string | null;
  suspension: Suspension | null;
  accounts: LinkedAccount[];
  claims: { benefit: string; appid: string; claimedAt: string }[];
  /** Merges into this person (folded) and, for a folded id, the one that folded it. */
  merges: Merge[];
  /** Every agreement to a document (隐私保护指引, 用户协议, …) in every mini program, withdrawn ones too. */
  consents: Consent[];
  /** Live sessions, oldest first, each endable by its handle. */
  sessions: OwnSession[];
  /** The latest first. */
  events: AuditEvent[];
}

const LATEST_EVENTS = 20;

export function operatorView(name: string, role: Role): OperatorView {
  const { apps, appNames } = config();
  return { name, role, apps: [...apps.keys()].map((appid) => ({ appid, name: appNames.get(appid) ?? null })) };
}

export function lookupKind(by: Lookup): LookupKind {
  return 'id' in by ? 'id' : 'openid' in by ? 'account' : 'unionid' in by ? 'unionid' : 'phone';
}

/**
 * The person `by` names, as an operator looks them up: recorded (person_viewed) with the kind of
 * handle used, never its value. 404 person_not_found when no live person has it.
 */
export async function lookUp(by: Lookup, actor: string): Promise<PersonView> {
  const personId = await findPerson(by);
  if (personId === null) throw personNotFound();
  await recordEvent(personId, 'person_viewed', actor, { by: lookupKind(by) });
  return personView(personId);
}

/** The person with the number in full; the look is recorded with its stated purpose. */
export async function revealPhone(personId: string, purpose: string, actor: string): Promise<PersonView> {
  if ((await findPerson({ id: personId })) !== personId) throw personNotFound();
  await recordEvent(personId, 'phone_revealed', actor, { purpose });
  return personView(personId, { revealPhone: true });
}

/** The live person a query names (a folded person's id names its survivor); null when none. */
export async function findPerson(by: Lookup): Promise<string | null> {
  const [row] = await query<{ id: string }>(...personLookup(by));
  return row?.id ?? null;
}

function personLookup(by: Lookup): [string, unknown[]] {
  const live = 'p.deleted_at is null';
  if ('id' in by) {
    return [`select coalesce(p.merged_into, p.id) as id from people p where p.id = $1 and ${live}`, [by.id]];
  }
  if ('openid' in by) {
    return [`select p.id from accounts a join people p on p.id = a.person_id where a.appid = $1 and a.openid = $2 and ${live}`, [by.appid, by.openid]];
  }
  if ('unionid' in by) return [`select p.id from people p where p.unionid = $1 and ${live}`, [by.unionid]];
  // +<country code><digits>, or mainland digits; every split of a country code is tried on the index.
  const digits = by.phone.replace(/^\+/, '');
  const splits: [string, string][] = by.phone.startsWith('+') ? [1, 2, 3].map((n) => [digits.slice(0, n), digits.slice(n)]) : [['86', digits]];
  return [
    `select p.id from people p where (p.phone_country_code, p.phone_pure_number) in (select * from unnest($1::text[], $2::text[])) and ${live}`,
    [splits.map(([code]) => code), splits.map(([, rest]) => rest)],
  ];
}

interface PersonRow {
  id: string;
  created_at: Date;
  unionid: string | null;
  phone_number: string | null;
  phone_pure_number: string | null;
  phone_country_code: string | null;
  phone_verified_at: Date | null;
  suspended: boolean;
  suspended_at: Date | null;
  suspended_until: Date | null;
  suspension_reason: string | null;
  suspended_by: string | null;
}

interface MergeRow {
  folded_person_id: string;
  survivor_person_id: string;
  appid: string;
  openid: string;
  merged_at: Date;
  moved_accounts: { appid: string; openid: string; created_at: string }[];
  /** Merges recorded before people were people (migration 0002) name the owner user_id. */
  dropped_claims: { person_id?: string; user_id?: string; benefit: string; appid: string; claimed_at: string }[];
}

/**
 * Everything support needs about a live person on one screen, the phone masked unless
 * `revealPhone`. Records nothing: callers record the look-up or the action that shows it. 404
 * person_not_found when there is no such live person (any more).
 */
export async function personView(personId: string, { revealPhone = false } = {}): Promise<PersonView> {
  const [person] = await query<PersonRow>(
    `select p.id, p.created_at, p.unionid, p.phone_number, p.phone_pure_number, p.phone_country_code, p.phone_verified_at,
            is_suspended(p) as suspended, p.suspended_at, p.suspended_until, p.suspension_reason, p.suspended_by
       from people p where p.id = $1 and p.deleted_at is null and p.merged_into is null`,
    [personId],
  );
  if (!person) throw personNotFound();
  const [accounts, claims, merges, consents, sessions, events] = await Promise.all([
    query<{ appid: string; openid: string; created_at: Date }>(
      'select appid, openid, created_at from accounts where person_id = $1 order by created_at, appid',
      [personId],
    ),
    query<{ benefit: string; appid: string; claimed_at: Date }>(
      'select benefit, appid, claimed_at from claims where person_id = $1 order by claimed_at, benefit',
      [personId],
    ),
    query<MergeRow>(
      `select folded_person_id, survivor_person_id, appid, openid, merged_at, moved_accounts, dropped_claims
         from merges where survivor_person_id = $1 or folded_person_id = $1 order by merged_at`,
      [personId],
    ),
    listConsents(personId),
    listSessions(personId),
    latestEvents(personId, LATEST_EVENTS),
  ]);
  const phone =
    person.phone_pure_number === null
      ? null
      : revealPhone
        ? person.phone_number
        : maskPhone(person.phone_country_code ?? '86', person.phone_pure_number);
  return {
    id: person.id,
    createdAt: person.created_at.toISOString(),
    unionid: person.unionid,
    phone,
    phoneVerifiedAt: person.phone_verified_at?.toISOString() ?? null,
    suspension: person.suspended
      ? {
          reason: person.suspension_reason ?? '',
          until: person.suspended_until?.toISOString() ?? null,
          at: person.suspended_at!.toISOString(),
          by: person.suspended_by ?? '',
        }
      : null,
    accounts: accounts.map((row) => ({ appid: row.appid, openid: row.openid, linkedAt: row.created_at.toISOString() })),
    claims: claims.map((row) => ({ benefit: row.benefit, appid: row.appid, claimedAt: row.claimed_at.toISOString() })),
    merges: merges.map((row) => ({
      foldedPersonId: row.folded_person_id,
      survivorPersonId: row.survivor_person_id,
      appid: row.appid,
      openid: row.openid,
      mergedAt: row.merged_at.toISOString(),
      movedAccounts: row.moved_accounts.map((account) => ({ appid: account.appid, openid: account.openid, linkedAt: new Date(account.created_at).toISOString() })),
      droppedClaims: row.dropped_claims.map((claim) => ({
        personId: (claim.person_id ?? claim.user_id)!,
        benefit: claim.benefit,
        appid: claim.appid,
        claimedAt: new Date(claim.claimed_at).toISOString(),
      })),
    })),
    consents,
    sessions,
    events,
  };
}

/**
 * Suspends the person: every session ends at once and no login of any of their accounts gets one
 * until it is lifted or `until` passes. Postgres first, then Redis: a login that read Postgres
 * before the suspension committed is kept out by the block the session store sets.
 */
export async function suspendPerson(personId: string, { reason, until }: { reason: string; until?: Date | undefined }, actor: string): Promise<void> {
  if (until !== undefined && until.getTime() <= Date.now()) throw new ApiError('invalid_request', { detail: '"until" must be in the future' });
  const [row] = await query<{ suspended: boolean }>('select suspend_person($1, $2, $3, $4) as suspended', [personId, reason, until ?? null, actor]);
  if (!row?.suspended) throw personNotFound();
  await endAllSessionsOf(personId, { block: true, until });
}

export async function liftSuspension(personId: string, actor: string): Promise<void> {
  const [row] = await query<{ lifted: boolean }>('select lift_suspension($1, $2) as lifted', [personId, actor]);
  if (!row?.lifted) throw new ApiError('person_not_found', { detail: 'No live person with this id is suspended' });
  await unblockSessions(personId);
}

/** Ends every session of the person; returns how many ended. */
export async function endPersonSessions(personId: string, actor: string): Promise<number> {
  if ((await findPerson({ id: personId })) !== personId) throw personNotFound();
  const ended = await endAllSessionsOf(personId, { block: false });
  await recordEvent(personId, 'sessions_revoked', actor, { ended });
  return ended;
}

/** Ends one session of the person (another device, say). */
export async function endPersonSession(personId: string, handle: string, actor: string): Promise<void> {
  if ((await findPerson({ id: personId })) !== personId) throw personNotFound();
  if (!(await revokeSessionByHandle(personId, handle))) throw new ApiError('session_not_found', { detail: 'No live session of this person has this handle' });
  await recordEvent(personId, 'sessions_revoked', actor, { ended: 1 });
}

export function personNotFound(): ApiError {
  return new ApiError('person_not_found');
}
