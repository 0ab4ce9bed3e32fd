// The session store contract, run against every store: Redis through Upstash's REST API (the real
// Redis behind the REST gateway), Redis over TCP (node-redis, through a counting pipe), and the
// in-process store that `npm run dev` uses without Redis. Both Redis transports run on either stack.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PersonCard } from '../lib/sessions/card.js';
import type { RedisClient } from '../lib/platform/redis.js';
import { tcpRedis } from '../lib/platform/redis-tcp.js';
import { upstashRedis } from '../lib/platform/upstash.js';
import { MemorySessionStore } from '../lib/sessions/memory-store.js';
import { RedisSessionStore } from '../lib/sessions/redis-store.js';
import type { AuthenticateOptions, CreateOptions, SessionRecord, SessionStore } from '../lib/sessions/store.js';
import { startRedisPipe, type RedisPipe } from '../scripts/local/redis-pipe.js';
import { startUpstashGateway, type UpstashGateway } from '../scripts/local/upstash-gateway.js';

let gateway: UpstashGateway;
let pipe: RedisPipe;
let upstash: RedisClient;
let tcp: RedisClient;
beforeAll(async () => {
  [gateway, pipe] = await Promise.all([startUpstashGateway(inject('redisUrl')), startRedisPipe(inject('redisUrl'))]);
  upstash = upstashRedis(gateway.url, gateway.token);
  tcp = tcpRedis(pipe.url);
});
afterAll(async () => {
  await tcp.close();
  await Promise.all([gateway.close(), pipe.close()]);
});

const PREFIX = `wxlogin:contract-${randomBytes(3).toString('hex')}:`;
const stores: [string, () => SessionStore][] = [
  ['RedisSessionStore over Upstash', () => new RedisSessionStore(upstash, PREFIX)],
  ['RedisSessionStore over TCP', () => new RedisSessionStore(tcp, PREFIX)],
  ['MemorySessionStore', () => new MemorySessionStore()],
];

const MINUTE = 60_000;
const newId = () => randomBytes(32).toString('base64url');
const newPerson = (label = 'person') => `${label}-${randomBytes(6).toString('hex')}`;
const cardOf = (personId: string, revision = 1): PersonCard => ({
  unionid: null,
  createdAt: '2026-01-02T03:04:05.000Z',
  phone: `rev-${revision}`,
  accounts: [{ appid: 'wxa', openid: `o-${personId}`, kind: 'miniprogram', linkedAt: '2026-01-02T03:04:05.000Z' }],
});
const record = (personId: string, overrides: Partial<SessionRecord> = {}): SessionRecord => {
  const now = Date.now();
  return { personId, appid: 'wxa', openid: `o-${personId}`, createdAt: now, expiresAt: now + 30 * 24 * 60 * MINUTE, lastSeenAt: now, sealedSessionKey: 'v1.sealed', channel: 'miniprogram', idleTtlMs: 10 * MINUTE, ...overrides };
};
const options = (personId: string, overrides: Partial<CreateOptions> = {}): CreateOptions => ({
  person: { personId, revision: 1, card: cardOf(personId) },
  foldedPersonId: null,
  maxSessions: 10,
  loginLimit: null,
  ...overrides,
});
const use = (overrides: Partial<AuthenticateOptions> = {}): AuthenticateOptions => ({
  now: Date.now(),
  mode: 'use',
  idleTtlMs: 10 * MINUTE,
  renewIntervalMs: MINUTE,
  limit: null,
  ...overrides,
});

describe.each(stores)('%s', (_, makeStore) => {
  let store: SessionStore;
  beforeAll(() => {
    store = makeStore();
  });

  async function createFor(personId: string, overrides: Partial<SessionRecord> = {}, createOptions: Partial<CreateOptions> = {}) {
    const id = newId();
    expect(await store.create(id, record(personId, overrides), options(personId, createOptions))).toMatchObject({ outcome: 'created' });
    return id;
  }
  const personOf = async (id: string) => (await store.authenticate([id], use()))?.record.personId ?? null;

  it('reads back the typed record and the owner\'s card, and null for unknown ids', async () => {
    const person = newPerson();
    const id = newId();
    const saved = record(person, { openid: '12345' });
    await store.create(id, saved, options(person));
    expect(await store.authenticate([id], use({ now: saved.createdAt }))).toEqual({ id, record: saved, card: cardOf(person), limit: null });
    expect(await store.authenticate([newId()], use())).toBeNull();
  });

  it('finds a session under any candidate id (key rotation), in order', async () => {
    const id = await createFor(newPerson());
    expect((await store.authenticate([newId(), id], use()))?.id).toBe(id);
  });

  it('refuses a session past its absolute expiry even while the store still holds it', async () => {
    const now = Date.now();
    const id = await createFor(newPerson(), { createdAt: now, expiresAt: now + 60 * MINUTE });
    expect(await store.authenticate([id], use({ now: now + 60 * MINUTE }))).toBeNull();
  });

  it('ends one session once: true, then false', async () => {
    const id = await createFor(newPerson());
    expect(await store.end([id])).toBe(true);
    expect(await store.end([id])).toBe(false);
    expect(await store.authenticate([id], use())).toBeNull();
  });

  it('ends every session of the owner, and only theirs', async () => {
    const owner = newPerson();
    const mine = [await createFor(owner), await createFor(owner, { appid: 'wxb' }), await createFor(owner)];
    const theirs = await createFor(newPerson());
    expect(await store.endAllOfOwner([mine[1]!])).toBe(true);
    for (const id of mine) expect(await store.authenticate([id], use())).toBeNull();
    expect(await store.authenticate([theirs], use())).not.toBeNull();
    expect(await store.endAllOfOwner([mine[0]!])).toBe(false);
  });

  it('keeps at most maxSessions sessions per person and app: a new one ends the oldest of that app only', async () => {
    const person = newPerson();
    const start = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await createFor(person, { createdAt: start + i }, { maxSessions: 3 }));
    const otherApp = await createFor(person, { appid: 'wxb', createdAt: start - 1 }, { maxSessions: 3 });
    expect(await store.create(newId(), record(person, { createdAt: start + 10 }), options(person, { maxSessions: 3 }))).toEqual({
      outcome: 'created',
      evicted: 1,
    });
    expect(await store.authenticate([ids[0]!], use())).toBeNull();
    for (const id of [ids[1]!, ids[2]!, otherApp]) expect(await store.authenticate([id], use())).not.toBeNull();
    expect((await store.list(person, Date.now())).map((session) => session.appid).sort()).toEqual(['wxa', 'wxa', 'wxa', 'wxb']);
  });

  it('lists a person\'s live sessions, oldest first, with their times', async () => {
    const person = newPerson();
    const now = Date.now();
    const first = await createFor(person, { createdAt: now - 2, lastSeenAt: now - 2 });
    const second = await createFor(person, { appid: 'wxb', createdAt: now - 1, lastSeenAt: now - 1 });
    const listed = await store.list(person, now);
    expect(listed.map((session) => session.id)).toEqual([first, second]);
    expect(listed[1]).toMatchObject({ appid: 'wxb', createdAt: now - 1, lastSeenAt: now - 1 });
    expect(listed[1]!.idleExpiresAt).toBeGreaterThan(now + 9 * MINUTE);
    expect(await store.endOfPerson(newPerson(), first)).toBe(false);
    expect(await store.endOfPerson(person, first)).toBe(true);
    expect((await store.list(person, now)).map((session) => session.id)).toEqual([second]);
  });

  it('counts requests per session in a sliding window and refuses past the limit without counting', async () => {
    const id = await createFor(newPerson());
    const limit = { tokens: 2, windowMs: 10 * MINUTE };
    const at = Math.floor(Date.now() / limit.windowMs) * limit.windowMs + 1;
    expect((await store.authenticate([id], use({ now: at, limit })))?.limit).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    expect((await store.authenticate([id], use({ now: at, limit })))?.limit).toMatchObject({ allowed: true, remaining: 0 });
    expect((await store.authenticate([id], use({ now: at, limit })))?.limit).toMatchObject({ allowed: false, remaining: 0 });
    // Reading without using (introspection) neither counts nor is refused.
    expect((await store.authenticate([id], use({ now: at, limit, mode: 'peek' })))?.limit).toBeNull();
    // Two windows later the past is forgotten.
    expect((await store.authenticate([id], use({ now: at + 2 * limit.windowMs, limit })))?.limit).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('counts logins per account and refuses past the limit, writing no session', async () => {
    const person = newPerson();
    const loginLimit = { limit: { tokens: 2, windowMs: 10 * MINUTE }, account: `account-${randomBytes(6).toString('hex')}` };
    const now = Date.now();
    for (let i = 0; i < 2; i++) await createFor(person, { createdAt: now }, { loginLimit });
    const refused = newId();
    expect(await store.create(refused, record(person, { createdAt: now }), options(person, { loginLimit }))).toMatchObject({ outcome: 'limited', limit: 2 });
    expect(await store.authenticate([refused], use())).toBeNull();
    expect(await store.list(person, now)).toHaveLength(2);
  });

  it('pushes the idle expiry back once renewIntervalMs has passed, and only in use', async () => {
    const person = newPerson();
    const now = Date.now();
    const id = await createFor(person, { createdAt: now, lastSeenAt: now });
    expect((await store.authenticate([id], use({ now: now + 10 })))?.record.lastSeenAt).toBe(now);
    expect((await store.authenticate([id], use({ now: now + MINUTE, mode: 'peek' })))?.record.lastSeenAt).toBe(now);
    expect((await store.authenticate([id], use({ now: now + MINUTE })))?.record.lastSeenAt).toBe(now + MINUTE);
    expect((await store.list(person, now))[0]?.lastSeenAt).toBe(now + MINUTE);
  });

  it('keeps the highest revision of an owner\'s card, whatever order logins write in', async () => {
    const person = newPerson();
    const first = await createFor(person, {}, { person: { personId: person, revision: 2, card: cardOf(person, 2) } });
    // A login that read Postgres earlier but reached the store later.
    const second = await createFor(person, {}, { person: { personId: person, revision: 1, card: cardOf(person, 1) } });
    expect((await store.authenticate([second], use()))?.card).toEqual(cardOf(person, 2));
    await store.saveCard({ personId: person, revision: 1, card: cardOf(person, 1) });
    expect((await store.authenticate([first], use()))?.card).toEqual(cardOf(person, 2));
    await store.saveCard({ personId: person, revision: 3, card: cardOf(person, 3) });
    expect((await store.authenticate([first], use()))?.card).toEqual(cardOf(person, 3));
    // Nobody caches a card for a person without sessions.
    const stranger = newPerson();
    await store.saveCard({ personId: stranger, revision: 9, card: cardOf(stranger, 9) });
    const later = await createFor(stranger);
    expect((await store.authenticate([later], use()))?.card).toEqual(cardOf(stranger, 1));
  });

  it('on a merge moves the folded person\'s sessions to the survivor, and redirects late ones', async () => {
    const survivor = newPerson('survivor');
    const folded = newPerson('folded');
    const old = [await createFor(folded, { appid: 'wxc' }), await createFor(folded)];
    const merging = await createFor(survivor, {}, { person: { personId: survivor, revision: 4, card: cardOf(survivor, 4) }, foldedPersonId: folded });
    for (const id of old) {
      expect(await store.authenticate([id], use())).toMatchObject({ record: { personId: survivor }, card: cardOf(survivor, 4) });
    }
    // A login of the folded person that read Postgres before the merge and wrote after it.
    const late = await createFor(folded, {}, { person: { personId: folded, revision: 2, card: cardOf(folded, 2) } });
    expect(await store.authenticate([late], use())).toMatchObject({ record: { personId: survivor }, card: cardOf(survivor, 4) });
    expect((await store.list(survivor, Date.now())).map((session) => session.id).sort()).toEqual([...old, merging, late].sort());
    // One person now: logging out everywhere from a formerly folded session ends them all.
    expect(await store.endAllOfOwner([old[1]!])).toBe(true);
    for (const id of [...old, merging, late]) expect(await personOf(id)).toBeNull();
  });

  it('ends every session of a person at once and, when told to, keeps new ones out until unblocked', async () => {
    const person = newPerson();
    const ids = [await createFor(person), await createFor(person, { appid: 'wxb' })];
    expect(await store.endAllOfPerson(person, MINUTE)).toBe(2);
    for (const id of ids) expect(await store.authenticate([id], use())).toBeNull();
    expect(await store.create(newId(), record(person), options(person))).toEqual({ outcome: 'blocked' });
    await store.unblock(person);
    await createFor(person);
    expect(await store.endAllOfPerson(person, 0)).toBe(1);
    await createFor(person);
  });

  it('forgets a session when its idle TTL runs out, and a later login drops it from the index', async () => {
    const person = newPerson();
    const id = await createFor(person, { idleTtlMs: 1000 });
    expect(await store.authenticate([id], use())).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.authenticate([id], use())).toBeNull();
    const next = await createFor(person);
    expect((await store.list(person, Date.now())).map((session) => session.id)).toEqual([next]);
  });
});

describe.each([
  ['Upstash', () => gateway, () => upstash],
  ['TCP', () => pipe, () => tcp],
] as const)('RedisSessionStore over %s, on the wire', (_transport, front, client) => {
  const store = () => new RedisSessionStore(client(), PREFIX);
  const counted = async (work: () => Promise<unknown>) => {
    front().resetCounts();
    await work();
    return front().counts();
  };

  it('runs every operation as one script request, by hash once Redis holds the script', async () => {
    const sessions = store();
    const person = newPerson();
    const id = newId();
    await sessions.create(newId(), record(person), options(person));
    expect((await counted(() => sessions.create(id, record(person), options(person)))).byCommand).toEqual({ evalsha: 1 });
    expect((await counted(() => sessions.authenticate([id], use())))).toMatchObject({ requests: 1, byCommand: { evalsha: 1 } });
  });

  it('falls back to the script text when Redis answers NOSCRIPT', async () => {
    const sessions = store();
    const person = newPerson();
    const id = newId();
    await sessions.create(id, record(person), options(person));
    // As if Redis had lost its scripts (a restart, an eviction), without flushing the Redis other test files share.
    front().forgetScripts();
    const counts = await counted(() => sessions.authenticate([id], use()));
    expect(counts.byCommand).toEqual({ evalsha: 1, eval: 1 });
    expect((await counted(() => sessions.authenticate([id], use()))).byCommand).toEqual({ evalsha: 1 });
  });

  it('stores no JSON record: the owner is a field of the session hash', async () => {
    const person = newPerson();
    const id = newId();
    await store().create(id, record(person), options(person));
    expect(await front().redis.hget(`${PREFIX}s:${id}`, 'person')).toBe(person);
    expect(await front().redis.zrange(`${PREFIX}ps:${person}`, 0, -1)).toEqual([id]);
  });
});
