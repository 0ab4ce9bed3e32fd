// Where session records live: Upstash Redis in deployments, process memory for local development.
// Records are opaque JSON strings with a top-level "uid" (the owner), keyed by the token's hash.
import { Redis } from '@upstash/redis';
import { config } from './config.js';
import { DependencyError } from './errors.js';

export interface SessionStore {
  /** Saves a new session and indexes it under its owner, in one atomic step. */
  create(id: string, record: string, ttlSeconds: number, userId: string, expiresAtMs: number): Promise<void>;
  read(id: string): Promise<string | null>;
  /** Replaces a live session's record and TTL; does nothing if it is gone (never resurrects). */
  renew(id: string, record: string, ttlSeconds: number): Promise<void>;
  /** true if the session existed. */
  delete(id: string): Promise<boolean>;
  /** Deletes every session of the owner of session `id`; false if `id` is unknown. */
  deleteAllOfOwner(id: string): Promise<boolean>;
}

const SESSION_PREFIX = 'wxlogin:session:';
const OWNER_INDEX_PREFIX = 'wxlogin:user-sessions:';
const REQUEST_TIMEOUT_MS = 1500;

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
  private readonly redis: Redis;

  constructor(url: string, token: string) {
    this.redis = new Redis({
      url,
      token,
      // Records are our own JSON strings; don't let the client turn "123" into 123.
      automaticDeserialization: false,
      // One command per request, so round trips are what the code says.
      enableAutoPipelining: false,
      enableTelemetry: false,
      // The default (5 retries over ~4 s) would eat a serverless function's budget.
      retry: { retries: 1, backoff: () => 50 },
      signal: () => AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }

  async create(id: string, record: string, ttlSeconds: number, userId: string, expiresAtMs: number) {
    const index = OWNER_INDEX_PREFIX + userId;
    await this.call(() =>
      this.redis
        .multi()
        .set(SESSION_PREFIX + id, record, { ex: ttlSeconds })
        .zadd(index, { score: expiresAtMs, member: id })
        .zremrangebyscore(index, '-inf', Date.now())
        .pexpireat(index, expiresAtMs)
        .exec(),
    );
  }

  async read(id: string) {
    return this.call(() => this.redis.get<string>(SESSION_PREFIX + id));
  }

  async renew(id: string, record: string, ttlSeconds: number) {
    await this.call(() => this.redis.set(SESSION_PREFIX + id, record, { ex: ttlSeconds, xx: true }));
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

  private async call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (error) {
      throw new DependencyError('redis', error);
    }
  }
}

/** Single-process stand-in with the same semantics, for `npm run dev` without Upstash. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { record: string; expiresAt: number }>();
  private readonly owners = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  async create(id: string, record: string, ttlSeconds: number, userId: string) {
    this.sessions.set(id, { record, expiresAt: this.now() + ttlSeconds * 1000 });
    const owned = this.owners.get(userId) ?? new Set<string>();
    for (const other of owned) if (!this.live(other)) owned.delete(other);
    this.owners.set(userId, owned.add(id));
  }

  async read(id: string) {
    return this.live(id)?.record ?? null;
  }

  async renew(id: string, record: string, ttlSeconds: number) {
    if (this.live(id)) this.sessions.set(id, { record, expiresAt: this.now() + ttlSeconds * 1000 });
  }

  async delete(id: string) {
    const existed = this.live(id) !== undefined;
    this.sessions.delete(id);
    return existed;
  }

  async deleteAllOfOwner(id: string) {
    const session = this.live(id);
    if (!session) return false;
    const userId = (JSON.parse(session.record) as { uid: string }).uid;
    for (const owned of this.owners.get(userId) ?? []) this.sessions.delete(owned);
    this.owners.delete(userId);
    this.sessions.delete(id);
    return true;
  }

  private live(id: string) {
    const session = this.sessions.get(id);
    if (session && session.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }
}

let store: SessionStore | undefined;

/** The configured store: Upstash when its variables are set, else this process's memory. */
export function sessionStore(): SessionStore {
  if (!store) {
    const { redis } = config();
    store = redis ? new UpstashSessionStore(redis.url, redis.token) : new MemorySessionStore();
  }
  return store;
}
