// The session store on Redis (Upstash's REST API or a server over TCP): each operation one script
// (lib/sessions/scripts.ts), one request.
import type { PersonCard, PersonCardVersion } from './card.js';
import type { Limit, LimitResult } from './rate-limit.js';
import * as scripts from './scripts.js';
import { runScript, type RedisClient } from '../platform/redis.js';
import type { AuthenticateOptions, Authenticated, CreateOptions, CreateOutcome, ListedSession, SessionRecord, SessionStore } from './store.js';

/** AUTHENTICATE's reply: the record with its owner as `person`, the candidate it was found under (1-based), the card as stored. */
type FoundSession = Omit<SessionRecord, 'personId'> & {
  key: number;
  person: string;
  card: string;
  limit?: Omit<LimitResult, 'allowed'>;
  limited?: boolean;
};

export class RedisSessionStore implements SessionStore {
  /** `prefix` namespaces every key (REDIS_KEY_PREFIX). */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async create(id: string, record: SessionRecord, options: CreateOptions): Promise<CreateOutcome> {
    const { person, loginLimit } = options;
    const logins = this.counterKeys(`rl:login:${loginLimit?.account}`, loginLimit?.limit ?? null, record.createdAt);
    return this.run<CreateOutcome>(scripts.CREATE_SESSION, [this.sessionKey(id), ...logins], [
      this.prefix,
      id,
      record.personId,
      record.appid,
      record.openid,
      record.createdAt,
      record.expiresAt,
      record.idleTtlMs,
      record.sealedSessionKey,
      JSON.stringify(person.card),
      person.revision,
      options.foldedPersonId ?? '',
      options.maxSessions,
      loginLimit?.limit.tokens ?? 0,
      loginLimit?.limit.windowMs ?? 1,
      record.channel,
    ]);
  }

  async authenticate(ids: string[], options: AuthenticateOptions): Promise<Authenticated | null> {
    const found = await this.run<FoundSession | null>(scripts.AUTHENTICATE, ids.map((id) => this.sessionKey(id)), [
      this.prefix,
      options.now,
      options.mode,
      options.idleTtlMs,
      options.renewIntervalMs,
      options.limit?.tokens ?? 0,
      options.limit?.windowMs ?? 1,
    ]);
    if (!found) return null;
    const { key, person, card, limit, limited, ...record } = found;
    return {
      id: ids[key - 1]!,
      record: { ...record, personId: person },
      card: JSON.parse(card) as PersonCard,
      limit: limit ? { ...limit, allowed: !limited } : null,
    };
  }

  async end(ids: string[]): Promise<boolean> {
    return (await this.run<number>(scripts.END_SESSION, ids.map((id) => this.sessionKey(id)), [this.prefix])) === 1;
  }

  async endAllOfOwner(ids: string[]): Promise<boolean> {
    return (await this.run<number>(scripts.END_ALL_OF_TOKEN, ids.map((id) => this.sessionKey(id)), [this.prefix])) >= 0;
  }

  endAllOfPerson(personId: string, blockMs: number): Promise<number> {
    return this.run<number>(scripts.END_ALL_OF_PERSON, [this.blockKey(personId)], [this.prefix, personId, blockMs]);
  }

  async unblock(personId: string): Promise<void> {
    await this.run(scripts.UNBLOCK, [this.blockKey(personId)], []);
  }

  async list(personId: string, now: number): Promise<ListedSession[]> {
    const listed = await this.run<(Omit<ListedSession, 'idleExpiresAt'> & { idleExpiresIn: number })[]>(
      scripts.LIST_SESSIONS,
      [`${this.prefix}ps:${personId}`],
      [this.prefix],
    );
    return listed.map(({ idleExpiresIn, ...session }) => ({ ...session, idleExpiresAt: now + idleExpiresIn }));
  }

  async endOfPerson(personId: string, id: string): Promise<boolean> {
    return (await this.run<number>(scripts.END_SESSION_OF_PERSON, [`${this.prefix}ps:${personId}`, this.sessionKey(id)], [id])) === 1;
  }

  async forget(personId: string): Promise<void> {
    await this.run(scripts.FORGET_PERSON, [`${this.prefix}p:${personId}`], []);
  }

  async saveCard({ personId, card, revision }: PersonCardVersion): Promise<void> {
    await this.run(scripts.SAVE_CARD, [`${this.prefix}p:${personId}`], [JSON.stringify(card), revision]);
  }

  private run<T>(script: string, keys: string[], args: (string | number)[]): Promise<T> {
    return runScript<T>(this.redis, script, keys, args);
  }

  private sessionKey(id: string): string {
    return `${this.prefix}s:${id}`;
  }

  private blockKey(personId: string): string {
    return `${this.prefix}b:${personId}`;
  }

  /** A sliding window's current and previous counters (none when there is no limit). */
  private counterKeys(name: string, limit: Limit | null, now: number): string[] {
    if (!limit) return [`${this.prefix}${name}:off`, `${this.prefix}${name}:off`];
    const window = Math.floor(now / limit.windowMs);
    return [`${this.prefix}${name}:${window}`, `${this.prefix}${name}:${window - 1}`];
  }
}
