// The session store in this process's memory, for `npm run dev` without Redis: the same semantics
// as the Redis scripts (scripts.ts), checked by the same contract test. Each operation names the
// script it mirrors, and the private helpers are the scripts' shared fragments (LIVE_PERSON,
// FIND_SESSION, END_ALL), so the two read side by side.
import type { PersonCard, PersonCardVersion } from './card.js';
import { SlidingWindows } from './rate-limit.js';
import type { AuthenticateOptions, Authenticated, CreateOptions, CreateOutcome, ListedSession, SessionRecord, SessionStore } from './store.js';

type CachedPerson = { expiresAt: number } & ({ revision: number; card: PersonCard; into?: never } | { into: string });

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { record: SessionRecord; idleExpiresAt: number }>();
  /** Person → their session ids, with when each was created. */
  private readonly indexes = new Map<string, Map<string, number>>();
  private readonly people = new Map<string, CachedPerson>();
  private readonly blocks = new Map<string, number>();
  private readonly logins = new SlidingWindows();
  private readonly requests = new SlidingWindows();

  /** `clock` stands in for Redis's own clock (TTLs); operations get their `now` from the caller. */
  constructor(private readonly clock: () => number = Date.now) {}

  /** CREATE_SESSION */
  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateOutcome> {
    const now = record.createdAt;
    const owner = this.livePerson(record.personId);
    if (this.blocked(record.personId) || this.blocked(owner)) return { outcome: 'blocked' };
    if (options.loginLimit) {
      const hit = this.logins.hit(options.loginLimit.account, options.loginLimit.limit, now);
      if (!hit.allowed) return { outcome: 'limited', limit: hit.limit, retryMs: hit.resetMs };
    }
    if (options.foldedPersonId !== null) this.fold(options.foldedPersonId, owner, record.expiresAt);

    const cached = this.cached(owner);
    const expiresAt = Math.max(record.expiresAt, cached?.expiresAt ?? 0);
    const cachedRevision = cached && cached.into === undefined ? cached.revision : 0;
    if (owner === record.personId && cachedRevision <= options.person.revision) {
      this.people.set(owner, { revision: options.person.revision, card: options.person.card, expiresAt });
    } else if (cached) {
      cached.expiresAt = expiresAt;
    }

    this.sessions.set(id, {
      record: { ...record, personId: owner },
      idleExpiresAt: this.clock() + Math.min(record.idleTtlMs, record.expiresAt - now),
    });
    const index = this.index(owner);
    index.set(id, now);
    const sameGroup = [...index.keys()].filter((member) => {
      const session = this.live(member);
      if (!session) index.delete(member);
      return session !== undefined && session.record.channel === record.channel && (record.channel === 'web' || session.record.appid === record.appid);
    });
    const evicted = sameGroup.slice(0, Math.max(0, sameGroup.length - options.maxSessions));
    for (const member of evicted) {
      this.sessions.delete(member);
      index.delete(member);
    }
    return { outcome: 'created', evicted: evicted.length };
  }

  /** AUTHENTICATE */
  async authenticate(ids: string[], options: AuthenticateOptions): Promise<Authenticated | null> {
    const found = this.findSession(ids);
    if (!found || found.session.record.expiresAt <= options.now) return null;
    const { id, session } = found;
    const personId = this.livePerson(session.record.personId);
    const cached = this.cached(personId);
    if (this.blocked(personId) || !cached || cached.into !== undefined) return null;
    const record = { ...session.record, personId };
    let limit = null;
    if (options.mode === 'use') {
      if (options.limit) {
        limit = this.requests.hit(id, options.limit, options.now);
        if (!limit.allowed) return { id, record, card: cached.card, limit };
      }
      if (options.now - record.lastSeenAt >= Math.min(options.renewIntervalMs, record.idleTtlMs / 2)) {
        record.lastSeenAt = options.now;
        session.record.lastSeenAt = options.now;
        session.idleExpiresAt = this.clock() + Math.min(record.idleTtlMs, record.expiresAt - options.now);
      }
    }
    return { id, record, card: cached.card, limit };
  }

  /** END_SESSION */
  async end(ids: string[]): Promise<boolean> {
    const found = this.findSession(ids);
    if (!found) return false;
    const { id, session } = found;
    this.sessions.delete(id);
    this.indexes.get(session.record.personId)?.delete(id);
    return true;
  }

  /** END_ALL_OF_TOKEN */
  async endAllOfOwner(ids: string[]): Promise<boolean> {
    const found = this.findSession(ids);
    if (!found) return false;
    for (const id of ids) this.sessions.delete(id);
    this.endAll(found.session.record.personId);
    return true;
  }

  /** END_ALL_OF_PERSON */
  async endAllOfPerson(personId: string, blockMs: number): Promise<number> {
    if (blockMs > 0) this.blocks.set(personId, this.clock() + blockMs);
    return this.endAll(personId);
  }

  /** UNBLOCK */
  async unblock(personId: string): Promise<void> {
    this.blocks.delete(personId);
  }

  /** FORGET_PERSON */
  async forget(personId: string): Promise<void> {
    this.people.delete(personId);
  }

  /** LIST_SESSIONS */
  async list(personId: string, now: number): Promise<ListedSession[]> {
    const listed: ListedSession[] = [];
    for (const id of this.indexes.get(personId)?.keys() ?? []) {
      const session = this.live(id);
      if (!session) {
        this.indexes.get(personId)!.delete(id);
        continue;
      }
      const { appid, createdAt, expiresAt, lastSeenAt, channel } = session.record;
      listed.push({ id, appid, createdAt, expiresAt, lastSeenAt, channel, idleExpiresAt: now + (session.idleExpiresAt - this.clock()) });
    }
    return listed;
  }

  /** END_SESSION_OF_PERSON */
  async endOfPerson(personId: string, id: string): Promise<boolean> {
    if (!this.indexes.get(personId)?.delete(id)) return false;
    return this.sessions.delete(id);
  }

  /** SAVE_CARD */
  async saveCard({ personId, card, revision }: PersonCardVersion): Promise<void> {
    const cached = this.cached(personId);
    if (cached && cached.into === undefined && cached.revision <= revision) {
      this.people.set(personId, { revision, card, expiresAt: cached.expiresAt });
    }
  }

  /** FIND_SESSION: the first of the candidate ids (one per session key) that holds a live session. */
  private findSession(ids: string[]) {
    for (const id of ids) {
      const session = this.live(id);
      if (session) return { id, session };
    }
    return undefined;
  }

  /** CREATE_SESSION's fold: moves a merged person's sessions to the survivor and leaves a tombstone pointing there. */
  private fold(folded: string, owner: string, expiresAt: number): void {
    for (const [id, createdAt] of this.indexes.get(folded) ?? []) {
      const session = this.live(id);
      if (!session) continue;
      session.record.personId = owner;
      this.index(owner).set(id, createdAt);
    }
    this.indexes.delete(folded);
    this.people.set(folded, { into: owner, expiresAt });
  }

  /** END_ALL */
  private endAll(personId: string): number {
    let ended = 0;
    for (const id of this.indexes.get(personId)?.keys() ?? []) if (this.sessions.delete(id)) ended += 1;
    this.indexes.delete(personId);
    return ended;
  }

  /** LIVE_PERSON: follows merge tombstones to the surviving person. */
  private livePerson(personId: string): string {
    let current = personId;
    for (let hop = 0; hop < 8; hop++) {
      const into = this.cached(current)?.into;
      if (into === undefined) break;
      current = into;
    }
    return current;
  }

  private blocked(personId: string): boolean {
    const until = this.blocks.get(personId);
    if (until !== undefined && until <= this.clock()) this.blocks.delete(personId);
    return this.blocks.has(personId);
  }

  private index(personId: string): Map<string, number> {
    let index = this.indexes.get(personId);
    if (!index) this.indexes.set(personId, (index = new Map()));
    return index;
  }

  private live(id: string) {
    const session = this.sessions.get(id);
    if (session && session.idleExpiresAt <= this.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  private cached(personId: string): CachedPerson | undefined {
    const person = this.people.get(personId);
    if (person && person.expiresAt <= this.clock()) {
      this.people.delete(personId);
      return undefined;
    }
    return person;
  }
}
