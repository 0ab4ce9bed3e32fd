// A person's copy of everything we hold about them (PIPL Art. 45: 查阅、复制), for the person
// (GET /api/me/export) and for an operator answering a request that came another way (a ticket).
// One JSON document; no credential in it: no token, session id, session_key or sealed value.
import { claimRecords, type ClaimRecord } from '../benefits/feed.js';
import type { Consent } from '../people/consents.js';
import { latestEvents, recordEvent, type EventKind } from '../people/events.js';
import { findPerson, personNotFound, personView, type Merge, type PersonView } from '../people/operators.js';
import type { RequestContext } from '../platform/request-context.js';
import type { LinkedAccount } from '../sessions/card.js';
import { applyLimit, hitExportPerPerson } from '../sessions/rate-limit.js';
import { listSessions, type Authenticated } from '../sessions/tokens.js';
import { describe, type Sentence } from './story.js';

export interface PersonalDataCopy {
  /** The shape of this document, for whoever reads it later. */
  format: 'wxlogin-personal-data/1';
  generatedAt: string;
  /** As operators see them, the phone number in full: it is theirs. */
  person: Pick<PersonView, 'id' | 'createdAt' | 'unionid' | 'phone' | 'phoneVerifiedAt' | 'suspension'>;
  accounts: LinkedAccount[];
  /** Live sessions; no device is recorded at login. */
  sessions: { appid: string; createdAt: string; lastSeenAt: string; expiresAt: string; idleExpiresAt: string }[];
  claims: ClaimRecord[];
  consents: Consent[];
  merges: Merge[];
  /** The audit trail about them (EVENTS_RETENTION_DAYS), oldest first, each with a sentence. */
  events: StoryEvent[];
  /** More events than the copy holds exist: the oldest were left out. */
  eventsTruncated: boolean;
  /** The profile (nickname, avatar) once it exists; null until then. */
  profile: null;
}

export interface StoryEvent {
  at: string;
  kind: EventKind;
  appid: string | null;
  /** self, admin:<name>, service:<name> or system. */
  actor: string;
  text: Sentence;
  details: Record<string, unknown>;
}

/** Far more than a person's trail holds in a retention period; the copy stays a few MB at most. */
const MAX_EVENTS = 10_000;

/** The person's own copy, a few a day (RATE_LIMIT_EXPORT_PER_PERSON). */
export async function ownCopy({ person }: Authenticated, context: RequestContext): Promise<PersonalDataCopy> {
  applyLimit(await hitExportPerPerson(person.id), 'exportPerPerson', context);
  return personalDataCopy(person.id, 'self', undefined, context);
}

/**
 * The same copy for an operator answering a request received another way, with its purpose. A
 * folded person's id names its survivor, as in the operators' lookup.
 */
export async function operatorCopy(personId: string, actor: string, purpose: string, context: RequestContext): Promise<PersonalDataCopy> {
  return personalDataCopy(await findPerson({ id: personId }), actor, purpose, context);
}

/**
 * The copy, recorded in the audit trail first (actor self, or the operator with their purpose, which
 * the copy then shows). The access log says a copy was made, never what it held. 404
 * person_not_found for no live person.
 */
async function personalDataCopy(found: string | null, actor: string, purpose: string | undefined, context: RequestContext): Promise<PersonalDataCopy> {
  context.log.exported = actor === 'self' ? 'self' : 'operator';
  if (found === null) throw personNotFound();
  const view = await personView(found, { revealPhone: true });
  const personId = view.id;
  // An operator's copy shows the number in full: recorded as a reveal, with the same purpose.
  if (actor !== 'self' && view.phone !== null) await recordEvent(personId, 'phone_revealed', actor, { purpose });
  await recordEvent(personId, 'data_exported', actor, purpose === undefined ? {} : { purpose });
  const [sessions, claims, events] = await Promise.all([listSessions(personId), claimRecords(personId), latestEvents(personId, MAX_EVENTS + 1, { merged: true })]);
  return {
    format: 'wxlogin-personal-data/1',
    generatedAt: new Date().toISOString(),
    person: {
      id: view.id,
      createdAt: view.createdAt,
      unionid: view.unionid,
      phone: view.phone,
      phoneVerifiedAt: view.phoneVerifiedAt,
      suspension: view.suspension,
    },
    accounts: view.accounts,
    // The handle names a session to its person's own calls: nothing the copy needs.
    sessions: sessions.map(({ appid, createdAt, lastSeenAt, expiresAt, idleExpiresAt }) => ({ appid, createdAt, lastSeenAt, expiresAt, idleExpiresAt })),
    claims,
    consents: view.consents,
    merges: view.merges,
    events: events
      .slice(0, MAX_EVENTS)
      .reverse()
      .map((event) => ({ at: event.at, kind: event.kind, appid: event.appid, actor: event.actor, text: describe(event), details: event.details })),
    eventsTruncated: events.length > MAX_EVENTS,
    profile: null,
  };
}
