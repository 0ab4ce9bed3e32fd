// Our login state: opaque bearer tokens. A session is stored under a keyed hash of its token
// (HMAC-SHA-256 under a key derived from SESSION_ENCRYPTION_KEY), so a token is valid only in the
// deployment that issued it, a record written into Redis by someone without the secret is never
// found by any token, and a leaked store yields no usable token. session_key is sealed at rest.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { config, type Channel, type SessionPolicy } from '../platform/config.js';
import { ApiError, unauthorized } from '../platform/errors.js';
import type { PersonCard, PersonCardVersion } from './card.js';
import { applyLimit, authFailure, limitOf } from './rate-limit.js';
import { sharedRedis } from '../platform/redis.js';
import type { RequestContext } from '../platform/request-context.js';
import { identityHash, seal, unseal } from '../platform/sealing.js';
import { MemorySessionStore } from './memory-store.js';
import { RedisSessionStore } from './redis-store.js';
import type { CreateOptions, SessionRecord, SessionStore } from './store.js';

export interface NewSession {
  /** The person as the login's Postgres write saw them. */
  person: PersonCardVersion & { foldedPersonId: string | null };
  appid: string;
  openid: string;
  channel: Channel;
  /** WeChat's session_key for a mini program login; null on the web, or when WeChat's 云托管 gateway proved the identity. */
  sessionKey: string | null;
}

export interface Session extends SessionRecord {
  /** The storage id (a keyed hash of the token): never a credential, logged only salted. */
  id: string;
}

export interface Person {
  id: string;
  card: PersonCard;
}

/** A live session and the person it belongs to. */
export interface Authenticated {
  session: Session;
  person: Person;
}

/** Time source; tests move it to exercise expiry. */
export const sessionClock = { now: (): number => Date.now() };

const TOKEN_PREFIX = 'wxl_';
const TOKEN_PATTERN = /^wxl_[A-Za-z0-9_-]{43}$/;
/** How often an active session's idle expiry is pushed back (at most; never less often than half the idle TTL). */
const RENEW_INTERVAL_MS = 5 * 60_000;
/** How long a suspension or deletion keeps new sessions out: longer than any login in flight. */
const BLOCK_IN_FLIGHT_LOGINS_MS = 60_000;

/** Creates the session; refused while the person is suspended, or past the account's login limit. */
export async function createSession(input: NewSession, context: RequestContext): Promise<{ token: string; expiresAt: Date }> {
  const policy = policyOf(input.channel);
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const [id] = candidateIds(token);
  const now = sessionClock.now();
  const record: SessionRecord = {
    personId: input.person.personId,
    appid: input.appid,
    openid: input.openid,
    createdAt: now,
    expiresAt: now + policy.maxAgeSeconds * 1000,
    lastSeenAt: now,
    sealedSessionKey: input.sessionKey === null ? '' : seal(input.sessionKey, sessionKeyPlace(id!, input.appid, input.openid)),
    channel: input.channel,
    idleTtlMs: policy.idleTtlSeconds * 1000,
  };
  const created = await sessionStore().create(id!, record, {
    person: input.person,
    foldedPersonId: input.person.foldedPersonId,
    maxSessions: policy.maxSessions,
    loginLimit: loginLimitOf(input.appid, input.openid),
  });
  if (created.outcome === 'blocked') throw new ApiError('user_suspended');
  if (created.outcome === 'limited') {
    applyLimit({ allowed: false, limit: created.limit, remaining: 0, resetMs: created.retryMs }, 'loginPerAccount', context);
  }
  context.log.session = logIdOf(id!);
  return { token, expiresAt: new Date(record.expiresAt) };
}

/** A channel's lifetimes and cap: SESSION_* for mini programs, SESSION_WEB_* for the web. */
function policyOf(channel: Channel): SessionPolicy {
  const settings = config();
  if (channel === 'web') return settings.webSessions;
  return { idleTtlSeconds: settings.sessionIdleTtlSeconds, maxAgeSeconds: settings.sessionMaxAgeSeconds, maxSessions: settings.sessionMaxPerApp };
}

/**
 * The live session for a bearer token and its person, in one Redis request that also counts the
 * request against the session's limit and keeps the session alive. An unknown token writes nothing
 * and counts against its address's failure limit (in memory).
 */
export async function requireSession(token: string, context: RequestContext): Promise<Authenticated> {
  const ids = parseToken(token, context);
  context.log.session = logIdOf(ids[0]!);
  const found = await sessionStore().authenticate(ids, {
    now: sessionClock.now(),
    mode: 'use',
    idleTtlMs: policyOf('miniprogram').idleTtlSeconds * 1000,
    renewIntervalMs: RENEW_INTERVAL_MS,
    limit: limitOf('perSession'),
  });
  if (!found) throw authFailure(context.clientIp, context, unauthorized('The token is unknown, expired or revoked'));
  Object.assign(context.log, { appid: found.record.appid, personId: found.record.personId });
  applyLimit(found.limit, 'perSession', context);
  return authenticated(found.id, found.record, found.card);
}

/** RFC 7662's answer for a token: who a live session belongs to, else only { active: false }. */
export type Introspection =
  | { active: true; token_type: 'Bearer'; sub: string; appid: string; openid: string; unionid: string | null; iat: number; exp: number }
  | { active: false };

/** Reads a token's session without using it (no renewal, no rate limit), in one Redis request. */
export async function introspect(token: string): Promise<Introspection> {
  if (!TOKEN_PATTERN.test(token)) return { active: false };
  const found = await sessionStore().authenticate(candidateIds(token), {
    now: sessionClock.now(),
    mode: 'peek',
    idleTtlMs: policyOf('miniprogram').idleTtlSeconds * 1000,
    renewIntervalMs: RENEW_INTERVAL_MS,
    limit: null,
  });
  if (!found) return { active: false };
  const { record, card } = found;
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return {
    active: true,
    token_type: 'Bearer',
    sub: record.personId,
    appid: record.appid,
    openid: record.openid,
    unionid: card.unionid,
    iat: seconds(record.createdAt),
    // Whichever comes first: the absolute expiry, or the idle one unless the session is used again.
    exp: seconds(Math.min(record.expiresAt, record.lastSeenAt + record.idleTtlMs)),
  };
}

/** The salted hash that stands for a session in logs: correlates requests, opens nothing. */
export function sessionLogId(token: string): string {
  return TOKEN_PATTERN.test(token) ? logIdOf(candidateIds(token)[0]!) : 'malformed';
}

/** Shows a person's changed facts (a bound phone, say) on every live session of theirs. */
export async function refreshCards(cards: PersonCardVersion[]): Promise<void> {
  for (const card of cards) await sessionStore().saveCard(card);
}

export async function revokeSession(token: string, context: RequestContext): Promise<void> {
  if (!(await sessionStore().end(parseToken(token, context)))) {
    throw authFailure(context.clientIp, context, unauthorized('The token is unknown, expired or revoked'));
  }
}

/** Revokes every session of the token's owner, the token's own included. */
export async function revokeAllSessions(token: string, context: RequestContext): Promise<void> {
  if (!(await sessionStore().endAllOfOwner(parseToken(token, context)))) {
    throw authFailure(context.clientIp, context, unauthorized('The token is unknown, expired or revoked'));
  }
}

/** One of a person's sessions as they and operators see it (times ISO 8601). */
export interface OwnSession {
  handle: string;
  appid: string;
  channel: Channel;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
  /** When it ends unless used before. */
  idleExpiresAt: string;
}

/** The per-account login limit, counted under a keyed hash of the account (no openid in Redis). */
function loginLimitOf(appid: string, openid: string): CreateOptions['loginLimit'] {
  const limit = limitOf('loginPerAccount');
  return limit && { limit, account: identityHash(`account:${appid}:${openid}`) };
}

/** The person's live sessions, oldest first, named by handle. */
export async function listSessions(personId: string): Promise<OwnSession[]> {
  const listed = await sessionStore().list(personId, sessionClock.now());
  const iso = (ms: number) => new Date(ms).toISOString();
  return listed.map((session) => ({
    handle: handleOf(session.id),
    appid: session.appid,
    channel: session.channel,
    createdAt: iso(session.createdAt),
    expiresAt: iso(session.expiresAt),
    lastSeenAt: iso(session.lastSeenAt),
    idleExpiresAt: iso(session.idleExpiresAt),
  }));
}

/** Ends the person's session with this handle; false if they hold none. */
export async function revokeSessionByHandle(personId: string, handle: string): Promise<boolean> {
  const session = (await sessionStore().list(personId, sessionClock.now())).find(({ id }) => handleOf(id) === handle);
  return session !== undefined && sessionStore().endOfPerson(personId, session.id);
}

/**
 * Ends every session of a person at once. With `block`, new sessions are refused for a while too
 * (never past `until`), so a login that read Postgres before a suspension or deletion committed
 * leaves nothing behind.
 */
export function endAllSessionsOf(personId: string, { block, until }: { block: boolean; until?: Date | undefined }): Promise<number> {
  const blockMs = block ? Math.min(BLOCK_IN_FLIGHT_LOGINS_MS, until ? until.getTime() - Date.now() : Infinity) : 0;
  return sessionStore().endAllOfPerson(personId, Math.max(0, Math.ceil(blockMs)));
}

/** Drops what the session store keeps of a deleted person beyond their sessions (the card). */
export function forgetPerson(personId: string): Promise<void> {
  return sessionStore().forget(personId);
}

/** Lets the person hold sessions again at once (a lifted suspension). */
export function unblockSessions(personId: string): Promise<void> {
  return sessionStore().unblock(personId);
}

/**
 * WeChat's session_key for this session (for decrypting user data); null for a login WeChat's
 * 云托管 gateway proved, which has none. Throws if tampered with.
 */
export function openSessionKey(session: Session): string | null {
  if (session.sealedSessionKey === '') return null;
  const sessionKey = unseal(session.sealedSessionKey, sessionKeyPlace(session.id, session.appid, session.openid));
  if (sessionKey === null) throw new Error('Unreadable session key envelope');
  return sessionKey;
}

function authenticated(id: string, record: SessionRecord, card: PersonCard): Authenticated {
  return { session: { ...record, id }, person: { id: record.personId, card } };
}

/** Binds a sealed session_key to its session: it cannot be replayed into another record. */
function sessionKeyPlace(id: string, appid: string, openid: string): string {
  return JSON.stringify(['session_key', id, appid, openid]);
}

/** The token's storage id under each configured key, the current key first (rotation: one request finds either). */
function candidateIds(token: string): string[] {
  return derivedKeys('wxlogin session id').map((key) => createHmac('sha256', key).update(token).digest('base64url'));
}

/** Names a session to its person (GET /api/sessions) without revealing anything. */
export function sessionHandle(session: Session): string {
  return handleOf(session.id);
}

function handleOf(id: string): string {
  return createHmac('sha256', derivedKeys('wxlogin session handle')[0]!).update(id).digest('base64url').slice(0, 22);
}

const derived = new WeakMap<readonly Buffer[], Map<string, Buffer[]>>();

/** Keys for one purpose, derived from each SESSION_ENCRYPTION_KEY (HKDF), so purposes never share a key. */
function derivedKeys(purpose: string): Buffer[] {
  const keys = config().sessionKeys;
  let byPurpose = derived.get(keys);
  if (!byPurpose) derived.set(keys, (byPurpose = new Map()));
  let found = byPurpose.get(purpose);
  if (!found) {
    found = keys.map((key) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), purpose, 32)));
    byPurpose.set(purpose, found);
  }
  return found;
}

function logIdOf(id: string): string {
  return createHmac('sha256', config().logSalt).update(id).digest('hex').slice(0, 16);
}

function parseToken(token: string, context: RequestContext): string[] {
  if (!TOKEN_PATTERN.test(token)) throw authFailure(context.clientIp, context, unauthorized('The token is malformed'));
  return candidateIds(token);
}

let store: SessionStore | undefined;

/** The configured store: Redis when configured (Upstash or REDIS_URL), else this process's memory. */
function sessionStore(): SessionStore {
  if (!store) {
    const redis = sharedRedis();
    store = redis ? new RedisSessionStore(redis, config().redisKeyPrefix) : new MemorySessionStore();
  }
  return store;
}
