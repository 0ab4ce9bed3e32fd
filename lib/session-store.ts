// Where session records live: Upstash Redis in deployments, process memory for local development.
// Records are opaque JSON strings with a top-level "uid" (the owner), keyed by the token's hash.
import type { Redis } from '@upstash/redis';
import { redisCall, sharedRedis } from './redis.js';

/** Whom a new session belongs to, as the login's Postgres write saw them. */
export interface SessionOwner {
  userId: string;
  /** The person's cached facts (opaque JSON), replaced only by an equal or higher revision. */
  card: string;
  revision: number;
  /** A user the login just merged into userId: its sessions move over, later ones are redirected. */
  foldedUserId: string | null;
}

export interface StoredSession {
  record: string;
  /** The card of the record's owner. */
  card: string;
}

export interface SessionStore {
  /**
   * Saves a new session, indexes it under its owner and caches the owner's card, in one atomic
   * step. A session for a user folded meanwhile goes to the survivor (record uid rewritten).
   */
  create(id: string, record: string, ttlSeconds: number, owner: SessionOwner, expiresAtMs: number): Promise<void>;
  /** The session and its owner's card; null if either is gone. */
  read(id: string): Promise<StoredSession | null>;
  /**
   * Replaces a live session's record and TTL; does nothing if it is gone (never resurrects).
   * If a merge changed the owner since the record was read, only the TTL is pushed back.
   */
  renew(id: string, record: string, ttlSeconds: number): Promise<void>;
  /** true if the session existed. */
  delete(id: string): Promise<boolean>;
  /** Deletes every session of the owner of session `id`; false if `id` is unknown. */
  deleteAllOfOwner(id: string): Promise<boolean>;
  /** Replaces a user's cached card unless it holds a newer revision; a user with none cached is left alone. */
  saveCard(userId: string, card: string, revision: number): Promise<void>;
}

const SESSION_PREFIX = 'wxlogin:session:';
const OWNER_INDEX_PREFIX = 'wxlogin:user-sessions:';
/** Hash per person: {rev, card}, or {into: survivor id} once folded by a merge. */
const PERSON_PREFIX = 'wxlogin:person:';
/** Merges fold live users only, so tombstone chains stay short; this just bounds a loop. */
const MAX_TOMBSTONE_HOPS = 8;

// The login's one round trip. Redis writes land in any order relative to Postgres commits: a
// login that read Postgres before a merge can write after it, hence the tombstones and revisions.
const CREATE = `
local sessionPrefix, indexPrefix, personPrefix = ARGV[1], ARGV[2], ARGV[3]
local id, record, ttl, uid, exp = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8])
local card, rev, folded, now, hops = ARGV[9], tonumber(ARGV[10]), ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])

local function ownedBy(raw, owner)
  local decoded = cjson.decode(raw)
  decoded.uid = owner
  return cjson.encode(decoded)
end
local function keepUntil(key, at)
  local left = redis.call('PTTL', key)
  if left ~= -2 and now + left < at then redis.call('PEXPIREAT', key, at) end
end

local owner = uid
for _ = 1, hops do
  local into = redis.call('HGET', personPrefix .. owner, 'into')
  if not into then break end
  owner = into
end

if folded ~= '' then
  local foldedIndex = indexPrefix .. folded
  local entries = redis.call('ZRANGE', foldedIndex, 0, -1, 'WITHSCORES')
  for i = 1, #entries, 2 do
    local key = sessionPrefix .. entries[i]
    local raw = redis.call('GET', key)
    if raw then
      redis.call('SET', key, ownedBy(raw, owner), 'KEEPTTL')
      redis.call('ZADD', indexPrefix .. owner, entries[i + 1], entries[i])
    end
  end
  redis.call('DEL', foldedIndex, personPrefix .. folded)
  redis.call('HSET', personPrefix .. folded, 'into', owner)
  redis.call('PEXPIREAT', personPrefix .. folded, exp)
end

local person = personPrefix .. owner
if owner == uid then
  if (tonumber(redis.call('HGET', person, 'rev')) or 0) <= rev then
    redis.call('HSET', person, 'rev', rev, 'card', card)
  end
else
  record = ownedBy(record, owner)
end
keepUntil(person, exp)
redis.call('SET', sessionPrefix .. id, record, 'EX', ttl)
local index = indexPrefix .. owner
redis.call('ZADD', index, exp, id)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
keepUntil(index, exp)
return 1`;

const READ = `
local record = redis.call('GET', KEYS[1])
if not record then return false end
local card = redis.call('HGET', ARGV[1] .. cjson.decode(record).uid, 'card')
if not card then return false end
return {record, card}`;

const RENEW = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if cjson.decode(current).uid == cjson.decode(ARGV[1]).uid then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1`;

const SAVE_CARD = `
local rev = tonumber(redis.call('HGET', KEYS[1], 'rev'))
if rev and rev <= tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'card', ARGV[1]) end
return 1`;

// One round trip: read the owner from the record, then drop all of the owner's sessions and the index.
const DELETE_ALL_OF_OWNER = `
local record = redis.call('GET', KEYS[1])
if not record then return 0 end
local index = ARGV[2] .. cjson.decode(record).uid
for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
  redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', index, KEYS[1])
return 1`;

export class UpstashSessionStore implements SessionStore {
  constructor(private readonly redis: Redis) {}

  async create(id: string, record: string, ttlSeconds: number, owner: SessionOwner, expiresAtMs: number) {
    await this.call(() =>
      this.redis.eval(CREATE, [SESSION_PREFIX + id], [
        SESSION_PREFIX, OWNER_INDEX_PREFIX, PERSON_PREFIX,
        id, record, ttlSeconds, owner.userId, expiresAtMs,
        owner.card, owner.revision, owner.foldedUserId ?? '', Date.now(), MAX_TOMBSTONE_HOPS,
      ]),
    );
  }

  async read(id: string) {
    const found = await this.call(() =>
      this.redis.eval<string[], [string, string] | null>(READ, [SESSION_PREFIX + id], [PERSON_PREFIX]),
    );
    return found ? { record: found[0], card: found[1] } : null;
  }

  async renew(id: string, record: string, ttlSeconds: number) {
    await this.call(() => this.redis.eval(RENEW, [SESSION_PREFIX + id], [record, ttlSeconds]));
  }

  async delete(id: string) {
    return (await this.call(() => this.redis.del(SESSION_PREFIX + id))) === 1;
  }

  async deleteAllOfOwner(id: string) {
    const deleted = await this.call(() =>
      this.redis.eval<string[], number>(DELETE_ALL_OF_OWNER, [SESSION_PREFIX + id], [SESSION_PREFIX, OWNER_INDEX_PREFIX]),
    );
    return deleted === 1;
  }

  async saveCard(userId: string, card: string, revision: number) {
    await this.call(() => this.redis.eval(SAVE_CARD, [PERSON_PREFIX + userId], [card, revision]));
  }

  private call<T>(command: () => Promise<T>): Promise<T> {
    return redisCall(command);
  }
}

/** Single-process stand-in with the same semantics, for `npm run dev` without Upstash. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { record: string; expiresAt: number }>();
  private readonly owners = new Map<string, Set<string>>();
  private readonly people = new Map<string, Person>();

  constructor(private readonly now: () => number = Date.now) {}

  async create(id: string, record: string, ttlSeconds: number, owner: SessionOwner, expiresAtMs: number) {
    let userId = owner.userId;
    for (let hop = 0, person = this.person(userId); hop < MAX_TOMBSTONE_HOPS && person?.into; hop++) {
      userId = person.into;
      person = this.person(userId);
    }
    if (owner.foldedUserId !== null) {
      for (const owned of this.owners.get(owner.foldedUserId) ?? []) {
        const session = this.live(owned);
        if (!session) continue;
        session.record = ownedBy(session.record, userId);
        this.index(userId).add(owned);
      }
      this.owners.delete(owner.foldedUserId);
      this.people.set(owner.foldedUserId, { into: userId, expiresAt: expiresAtMs });
    }
    const current = this.person(userId);
    const expiresAt = Math.max(expiresAtMs, current?.expiresAt ?? 0);
    if (userId !== owner.userId) {
      record = ownedBy(record, userId);
      if (current) current.expiresAt = expiresAt;
    } else if ((current?.rev ?? 0) <= owner.revision) {
      this.people.set(userId, { rev: owner.revision, card: owner.card, expiresAt });
    } else {
      current!.expiresAt = expiresAt;
    }
    this.sessions.set(id, { record, expiresAt: this.now() + ttlSeconds * 1000 });
    const owned = this.index(userId);
    for (const other of owned) if (!this.live(other)) owned.delete(other);
    owned.add(id);
  }

  async read(id: string) {
    const session = this.live(id);
    const card = session && this.person(ownerOf(session.record))?.card;
    return session && card ? { record: session.record, card } : null;
  }

  async renew(id: string, record: string, ttlSeconds: number) {
    const session = this.live(id);
    if (!session) return;
    // A merge may have moved the session to another owner since it was read: keep that owner.
    const kept = ownerOf(session.record) === ownerOf(record) ? record : session.record;
    this.sessions.set(id, { record: kept, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async delete(id: string) {
    const existed = this.live(id) !== undefined;
    this.sessions.delete(id);
    return existed;
  }

  async deleteAllOfOwner(id: string) {
    const session = this.live(id);
    if (!session) return false;
    const userId = ownerOf(session.record);
    for (const owned of this.owners.get(userId) ?? []) this.sessions.delete(owned);
    this.owners.delete(userId);
    this.sessions.delete(id);
    return true;
  }

  async saveCard(userId: string, card: string, revision: number) {
    const current = this.person(userId);
    if (current?.rev !== undefined && current.rev <= revision) {
      this.people.set(userId, { rev: revision, card, expiresAt: current.expiresAt });
    }
  }

  private index(userId: string): Set<string> {
    const owned = this.owners.get(userId) ?? new Set<string>();
    this.owners.set(userId, owned);
    return owned;
  }

  private live(id: string) {
    const session = this.sessions.get(id);
    if (session && session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  private person(userId: string): Person | undefined {
    const person = this.people.get(userId);
    if (person && person.expiresAt <= this.now()) {
      this.people.delete(userId);
      return undefined;
    }
    return person;
  }
}

/** A cached card, or the tombstone of a user folded into `into`. */
type Person = { expiresAt: number } & ({ rev: number; card: string; into?: never } | { into: string; rev?: never; card?: never });

function ownerOf(record: string): string {
  return (JSON.parse(record) as { uid: string }).uid;
}

function ownedBy(record: string, userId: string): string {
  return JSON.stringify({ ...JSON.parse(record), uid: userId });
}

let store: SessionStore | undefined;

/** The configured store: Upstash when its variables are set, else this process's memory. */
export function sessionStore(): SessionStore {
  if (!store) {
    const redis = sharedRedis();
    store = redis ? new UpstashSessionStore(redis) : new MemorySessionStore();
  }
  return store;
}
