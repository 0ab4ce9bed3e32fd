// Where sessions live: the contract, with typed records. Redis in deployments (redis-store.ts,
// over Upstash or TCP), process memory for local development (memory-store.ts); all
// pass one contract test. Ids are keyed hashes of tokens (lib/sessions/tokens.ts): a store never sees a token.
import type { Channel } from '../platform/config.js';
import type { PersonCard, PersonCardVersion } from './card.js';
import type { Limit, LimitResult } from './rate-limit.js';

export interface SessionRecord {
  /** The owner: after a merge, the survivor. */
  personId: string;
  appid: string;
  openid: string;
  /** Epoch ms. */
  createdAt: number;
  expiresAt: number;
  /** When the idle expiry was last pushed back. */
  lastSeenAt: number;
  /** WeChat's session_key, sealed (lib/platform/sealing.ts); '' when there is none (云托管 identity, the web). */
  sealedSessionKey: string;
  channel: Channel;
  /** This session's idle lifetime (its channel's when it was created). */
  idleTtlMs: number;
}

export interface CreateOptions {
  /** The owner's card as the login's Postgres write saw it. */
  person: PersonCardVersion;
  /** A person the login just merged into the owner: their sessions move over, later ones are redirected. */
  foldedPersonId: string | null;
  /** Live sessions per person and mini program (per person on the web); the oldest beyond it end. */
  maxSessions: number;
  /**
   * Logins per account (appid + openid), counted under `account`: a keyed hash of it, so no Redis
   * key names an openid and a deletion leaves none behind. null: no limit.
   */
  loginLimit: { limit: Limit; account: string } | null;
}

export type CreateOutcome =
  | { outcome: 'created'; evicted: number }
  /** The owner is suspended or being deleted: nothing was written. */
  | { outcome: 'blocked' }
  | { outcome: 'limited'; limit: number; retryMs: number };

export interface AuthenticateOptions {
  now: number;
  /** 'use' counts the request and keeps the session alive; 'peek' (introspection) writes nothing. */
  mode: 'use' | 'peek';
  /** The idle lifetime of sessions stored before each carried its own. */
  idleTtlMs: number;
  /** Pushes the idle expiry back at most this often (and at least every half idle lifetime). */
  renewIntervalMs: number;
  /** Requests per session; null: no limit. */
  limit: Limit | null;
}

export interface Authenticated {
  /** Which of the candidate ids the session was found under. */
  id: string;
  record: SessionRecord;
  card: PersonCard;
  /** With a limit in 'use' mode; `allowed: false` means this request was refused and not counted. */
  limit: LimitResult | null;
}

export interface ListedSession {
  id: string;
  appid: string;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number;
  /** When it ends unless used before. */
  idleExpiresAt: number;
  channel: Channel;
}

export interface SessionStore {
  /** Saves a new session, indexes it under its owner and caches the owner's card, in one atomic step. */
  create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateOutcome>;
  /** The live session under the first candidate id that holds one, with its owner's card; null otherwise. */
  authenticate(ids: string[], options: AuthenticateOptions): Promise<Authenticated | null>;
  /** Ends the session under any of the ids; false if there was none. */
  end(ids: string[]): Promise<boolean>;
  /** Ends every session of the owner of the session under ids; false if there was none. */
  endAllOfOwner(ids: string[]): Promise<boolean>;
  /**
   * Ends every session of a person and, with blockMs > 0, refuses new ones that long (until
   * unblock). Returns how many ended.
   */
  endAllOfPerson(personId: string, blockMs: number): Promise<number>;
  unblock(personId: string): Promise<void>;
  /** The person's live sessions, oldest first. */
  list(personId: string, now: number): Promise<ListedSession[]>;
  /** Ends the session `id` if the person holds it. */
  endOfPerson(personId: string, id: string): Promise<boolean>;
  /** Drops the person's cached card (deletion); their sessions must be ended first. */
  forget(personId: string): Promise<void>;
  /** Replaces a person's cached card unless it holds a newer revision; a person with none cached is left alone. */
  saveCard(version: PersonCardVersion): Promise<void>;
}
