// Our login state: opaque bearer tokens whose SHA-256 keys a record in the session store.
// A leaked store yields no usable token, and session_key is sealed with AES-256-GCM.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { config } from './config.js';
import { ApiError } from './errors.js';
import type { RequestContext } from './request-context.js';
import { enforceLimits, type OnRedisFailure } from './rate-limit.js';
import { seal, unseal } from './sealing.js';
import { sessionStore, type StoredSession } from './session-store.js';
import type { LinkedAccount, LoggedInPerson, PersonCard, PersonCardVersion } from './people.js';

export interface NewSession {
  person: LoggedInPerson;
  appid: string;
  openid: string;
  sessionKey: string;
}

export interface Session {
  /** SHA-256 of the token, hex: safe to log after salting, useless as a credential. */
  id: string;
  userId: string;
  appid: string;
  openid: string;
  unionid: string | null;
  userCreatedAt: Date;
  /** Every mini program account of the person, this one included. */
  accounts: LinkedAccount[];
  /** The person's phone number, masked (138****0000); null until one is bound. */
  maskedPhone: string | null;
  createdAt: Date;
  expiresAt: Date;
  sealedSessionKey: string;
}

/**
 * Stored shape; short names keep every Redis read small. `uid` is what the store indexes by (and
 * rewrites when a merge folds the owner). Person facts live in the owner's card, not here.
 */
interface SessionRecord {
  v: 2;
  uid: string;
  app: string;
  oid: string;
  iat: number;
  exp: number;
  /** Last time the idle expiry was pushed back. */
  rnw: number;
  sk: string;
}

/** Time source; tests move it to exercise expiry. */
export const sessionClock = { now: (): number => Date.now() };

const TOKEN_PREFIX = 'wxl_';
const TOKEN_PATTERN = /^wxl_[A-Za-z0-9_-]{43}$/;
const RENEW_INTERVAL_MS = 3600_000;

export async function createSession(input: NewSession): Promise<{ token: string; expiresAt: Date }> {
  const { sessionIdleTtlSeconds, sessionMaxAgeSeconds } = config();
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = sessionIdOf(token);
  const now = sessionClock.now();
  const { person } = input;
  const record: SessionRecord = {
    v: 2,
    uid: person.personId,
    app: input.appid,
    oid: input.openid,
    iat: now,
    exp: now + sessionMaxAgeSeconds * 1000,
    rnw: now,
    sk: seal(input.sessionKey, associatedData(id, input.appid, input.openid)),
  };
  await sessionStore().create(
    id,
    JSON.stringify(record),
    sessionIdleTtlSeconds,
    { userId: person.personId, card: JSON.stringify(person.card), revision: person.revision, foldedUserId: person.foldedPersonId },
    record.exp,
  );
  return { token, expiresAt: new Date(record.exp) };
}

/** The live session for a bearer token; pushes idle expiry back at most once an hour. */
export async function requireSession(token: string): Promise<Session> {
  const id = parseToken(token);
  return liveSession(id, await sessionStore().read(id));
}

/**
 * requireSession, counted against the per-session rate limit. Both leave in the same tick, so they
 * share one Redis request. Fails open by default: the limiter alone failing does not lock users
 * out; endpoints that spend WeChat quota fail closed.
 */
export async function requireSessionWithinLimit(
  token: string,
  context: RequestContext,
  onRedisFailure: OnRedisFailure = 'fail-open',
): Promise<Session> {
  const id = parseToken(token);
  context.log.session = logIdOf(id);
  const [read, limit] = await Promise.allSettled([
    sessionStore().read(id),
    enforceLimits([['perSession', id]], onRedisFailure, context),
  ]);
  if (read.status === 'rejected') throw read.reason;
  // An unknown token is a 401 whatever the limiter said.
  const session = await liveSession(id, read.value);
  Object.assign(context.log, { appid: session.appid, personId: session.userId });
  if (limit.status === 'rejected') throw limit.reason;
  return session;
}

/** The salted hash that stands for a session in logs: correlates requests, opens nothing. */
export function sessionLogId(token: string): string {
  return TOKEN_PATTERN.test(token) ? logIdOf(sessionIdOf(token)) : 'malformed';
}

async function liveSession(id: string, stored: StoredSession | null): Promise<Session> {
  const record = stored && parseJson<SessionRecord>(stored.record);
  const card = stored && parseJson<PersonCard>(stored.card);
  const now = sessionClock.now();
  if (!record || record.v !== 2 || !card || record.exp <= now) throw unauthorized('The token is unknown, expired or revoked');
  if (now - record.rnw >= RENEW_INTERVAL_MS) {
    const renewed: SessionRecord = { ...record, rnw: now };
    await sessionStore().renew(id, JSON.stringify(renewed), idleTtlSeconds(renewed, now));
  }
  return {
    id,
    userId: record.uid,
    appid: record.app,
    openid: record.oid,
    unionid: card.unionid,
    userCreatedAt: new Date(card.createdAt),
    accounts: card.accounts,
    maskedPhone: card.phone ?? null,
    createdAt: new Date(record.iat),
    expiresAt: new Date(record.exp),
    sealedSessionKey: record.sk,
  };
}

/** Shows a person's changed facts (a bound phone, say) on every live session of theirs. */
export async function refreshCards(cards: PersonCardVersion[]): Promise<void> {
  for (const { personId, card, revision } of cards) await sessionStore().saveCard(personId, JSON.stringify(card), revision);
}

export async function revokeSession(token: string): Promise<void> {
  if (!(await sessionStore().delete(parseToken(token)))) throw unauthorized('The token is unknown, expired or revoked');
}

/** Revokes every session of the token's owner, the token's own included. */
export async function revokeAllSessions(token: string): Promise<void> {
  if (!(await sessionStore().deleteAllOfOwner(parseToken(token)))) {
    throw unauthorized('The token is unknown, expired or revoked');
  }
}

/** WeChat's session_key for this session (for decrypting user data); throws if tampered with. */
export function openSessionKey(session: Session): string {
  const sessionKey = unseal(session.sealedSessionKey, associatedData(session.id, session.appid, session.openid));
  if (sessionKey === null) throw new Error('Unreadable session key envelope');
  return sessionKey;
}

/** Binds a sealed session_key to its session: it cannot be replayed into another record. */
function associatedData(id: string, appid: string, openid: string): string {
  return JSON.stringify([id, appid, openid]);
}

function logIdOf(id: string): string {
  return createHmac('sha256', config().logSalt).update(id).digest('hex').slice(0, 16);
}

function sessionIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function parseToken(token: string): string {
  if (!TOKEN_PATTERN.test(token)) throw unauthorized('The token is malformed');
  return sessionIdOf(token);
}

function parseJson<T>(raw: string): T | null {
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

/** Idle TTL, cut short so Redis also drops the record at its absolute expiry. */
function idleTtlSeconds(record: SessionRecord, now: number): number {
  return Math.max(1, Math.min(config().sessionIdleTtlSeconds, Math.ceil((record.exp - now) / 1000)));
}

function unauthorized(detail: string): ApiError {
  return new ApiError('unauthorized', { detail, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
}
