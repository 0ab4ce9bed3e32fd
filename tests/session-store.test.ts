// The same contract, run against every session store: Upstash (real Redis behind the REST
// gateway) and the in-process store that `npm run dev` uses without Upstash.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upstashClient } from '../lib/redis.js';
import { MemorySessionStore, UpstashSessionStore, type SessionOwner, type SessionStore, type StoredSession } from '../lib/session-store.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const stores: [string, () => SessionStore][] = [
  ['UpstashSessionStore', () => new UpstashSessionStore(upstashClient(stack.gateway.url, stack.gateway.token))],
  ['MemorySessionStore', () => new MemorySessionStore()],
];

const newId = () => randomBytes(32).toString('hex');
const record = (uid: string, extra = {}) => JSON.stringify({ v: 1, uid, ...extra });
/** A store may re-encode a record it rewrites: compare rewritten records as JSON values. */
const parsed = (stored: StoredSession | null) => stored && { record: JSON.parse(stored.record), card: stored.card };
const inAMonth = () => Date.now() + 30 * 24 * 3600_000;
const card = (uid: string, revision = 1) => JSON.stringify({ of: uid, revision });
const ownerOf = (uid: string, revision = 1, foldedUserId: string | null = null): SessionOwner => ({
  userId: uid,
  card: card(uid, revision),
  revision,
  foldedUserId,
});

describe.each(stores)('%s', (_, makeStore) => {
  let store: SessionStore;
  beforeAll(() => {
    store = makeStore();
  });

  it('reads back what it created, byte for byte, and null for unknown ids', async () => {
    const id = newId();
    // JSON that a careless client would turn into a number or an object stays a string.
    const value = record('u1', { n: '123', note: '{"nested":true}' });
    await store.create(id, value, 60, ownerOf('u1'), inAMonth());
    expect(await store.read(id)).toEqual({ record: value, card: card('u1') });
    expect(await store.read(newId())).toBeNull();
  });

  it('renews a live session and never resurrects a deleted one', async () => {
    const id = newId();
    await store.create(id, record('u2'), 60, ownerOf('u2'), inAMonth());
    await store.renew(id, record('u2', { renewed: true }), 120);
    expect((await store.read(id))?.record).toBe(record('u2', { renewed: true }));
    expect(await store.delete(id)).toBe(true);
    await store.renew(id, record('u2', { again: true }), 120);
    expect(await store.read(id)).toBeNull();
  });

  it('deletes once: true, then false', async () => {
    const id = newId();
    await store.create(id, record('u3'), 60, ownerOf('u3'), inAMonth());
    expect(await store.delete(id)).toBe(true);
    expect(await store.delete(id)).toBe(false);
  });

  it('deletes every session of the owner, and only theirs', async () => {
    const owner = `owner-${newId()}`;
    const other = `other-${newId()}`;
    const mine = [newId(), newId(), newId()];
    const theirs = newId();
    for (const id of mine) await store.create(id, record(owner), 60, ownerOf(owner), inAMonth());
    await store.create(theirs, record(other), 60, ownerOf(other), inAMonth());
    expect(await store.deleteAllOfOwner(mine[1]!)).toBe(true);
    for (const id of mine) expect(await store.read(id)).toBeNull();
    expect((await store.read(theirs))?.record).toBe(record(other));
    expect(await store.deleteAllOfOwner(mine[0]!)).toBe(false);
  });

  it('keeps the highest revision of an owner\'s card, whatever order logins write in', async () => {
    const uid = `person-${newId()}`;
    const [first, second, third] = [newId(), newId(), newId()];
    await store.create(first, record(uid), 60, ownerOf(uid, 2), inAMonth());
    // A login that read Postgres earlier but reached the store later.
    await store.create(second, record(uid), 60, ownerOf(uid, 1), inAMonth());
    expect((await store.read(second))?.card).toBe(card(uid, 2));
    await store.create(third, record(uid), 60, ownerOf(uid, 3), inAMonth());
    expect((await store.read(first))?.card).toBe(card(uid, 3));
  });

  it('refreshes a cached card only with a revision at least as new, and caches none for strangers', async () => {
    const owner = `owner-${newId()}`;
    const id = newId();
    await store.create(id, record(owner), 60, ownerOf(owner, 2), inAMonth());
    await store.saveCard(owner, card(owner, 1), 1);
    expect((await store.read(id))?.card).toBe(card(owner, 2));
    await store.saveCard(owner, card(owner, 3), 3);
    expect((await store.read(id))?.card).toBe(card(owner, 3));
    const stranger = `stranger-${newId()}`;
    await store.saveCard(stranger, card(stranger, 9), 9);
    const later = newId();
    await store.create(later, record(stranger), 60, ownerOf(stranger, 1), inAMonth());
    expect((await store.read(later))?.card).toBe(card(stranger, 1));
  });

  it('on a merge moves the folded user\'s sessions to the survivor, and redirects late ones', async () => {
    const survivor = `survivor-${newId()}`;
    const folded = `folded-${newId()}`;
    const [old1, old2, merging, late] = [newId(), newId(), newId(), newId()];
    await store.create(old1, record(folded, { app: 'c' }), 60, ownerOf(folded), inAMonth());
    await store.create(old2, record(folded), 60, ownerOf(folded), inAMonth());
    await store.create(merging, record(survivor), 60, ownerOf(survivor, 4, folded), inAMonth());
    expect(parsed(await store.read(old1))).toEqual({ record: { v: 1, uid: survivor, app: 'c' }, card: card(survivor, 4) });
    // A login of the folded user that read Postgres before the merge and wrote after it.
    await store.create(late, record(folded), 60, ownerOf(folded, 2), inAMonth());
    expect(parsed(await store.read(late))).toEqual({ record: { v: 1, uid: survivor }, card: card(survivor, 4) });
    // One person now: logging out everywhere from a formerly folded session ends them all.
    expect(await store.deleteAllOfOwner(old2)).toBe(true);
    for (const id of [old1, old2, merging, late]) expect(await store.read(id)).toBeNull();
  });

  it('renewing a session read before a merge keeps the survivor as owner', async () => {
    const survivor = `survivor-${newId()}`;
    const folded = `folded-${newId()}`;
    const id = newId();
    await store.create(id, record(folded), 60, ownerOf(folded), inAMonth());
    await store.create(newId(), record(survivor), 60, ownerOf(survivor, 2, folded), inAMonth());
    await store.renew(id, record(folded, { renewed: true }), 120);
    expect(parsed(await store.read(id))?.record).toEqual({ v: 1, uid: survivor });
  });

  it('forgets a session when its TTL runs out', async () => {
    const id = newId();
    await store.create(id, record('u4'), 1, ownerOf('u4'), inAMonth());
    expect(await store.read(id)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.read(id)).toBeNull();
  });
});

describe('UpstashSessionStore round trips', () => {
  it('creates, reads and renews in one EVAL each, deletes in one request, logs out everywhere in one EVAL', async () => {
    const store = new UpstashSessionStore(upstashClient(stack.gateway.url, stack.gateway.token));
    const id = newId();
    const counted = async (work: () => Promise<unknown>) => {
      stack.gateway.resetCounts();
      await work();
      return stack.gateway.counts();
    };
    const created = await counted(() => store.create(id, record('u5'), 60, ownerOf('u5'), inAMonth()));
    expect(created.byCommand).toEqual({ eval: 1 });
    expect((await counted(() => store.read(id))).byCommand).toEqual({ eval: 1 });
    expect((await counted(() => store.renew(id, record('u5'), 60))).byCommand).toEqual({ eval: 1 });
    expect((await counted(() => store.deleteAllOfOwner(id))).byCommand).toEqual({ eval: 1 });
  });

  it('indexes sessions under their owner with the absolute expiry, and trims expired entries', async () => {
    const store = new UpstashSessionStore(upstashClient(stack.gateway.url, stack.gateway.token));
    const owner = `owner-${newId()}`;
    const index = `wxlogin:user-sessions:${owner}`;
    await stack.gateway.redis.zadd(index, Date.now() - 1000, 'long-gone');
    const id = newId();
    const expiresAt = inAMonth();
    await store.create(id, record(owner), 60, ownerOf(owner), expiresAt);
    expect(await stack.gateway.redis.zrange(index, 0, -1, 'WITHSCORES')).toEqual([id, String(expiresAt)]);
    expect(await stack.gateway.redis.pttl(index)).toBeGreaterThan(expiresAt - Date.now() - 5000);
  });
});
