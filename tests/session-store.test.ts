// The same contract, run against every session store: Upstash (real Redis behind the REST
// gateway) and the in-process store that `npm run dev` uses without Upstash.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemorySessionStore, UpstashSessionStore, type SessionStore } from '../lib/session-store.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

const stores: [string, () => SessionStore][] = [
  ['UpstashSessionStore', () => new UpstashSessionStore(stack.gateway.url, stack.gateway.token)],
  ['MemorySessionStore', () => new MemorySessionStore()],
];

const newId = () => randomBytes(32).toString('hex');
const record = (uid: string, extra = {}) => JSON.stringify({ v: 1, uid, ...extra });
const inAMonth = () => Date.now() + 30 * 24 * 3600_000;

describe.each(stores)('%s', (_, makeStore) => {
  let store: SessionStore;
  beforeAll(() => {
    store = makeStore();
  });

  it('reads back what it created, byte for byte, and null for unknown ids', async () => {
    const id = newId();
    // JSON that a careless client would turn into a number or an object stays a string.
    const value = record('u1', { n: '123', note: '{"nested":true}' });
    await store.create(id, value, 60, 'u1', inAMonth());
    expect(await store.read(id)).toBe(value);
    expect(await store.read(newId())).toBeNull();
  });

  it('renews a live session and never resurrects a deleted one', async () => {
    const id = newId();
    await store.create(id, record('u2'), 60, 'u2', inAMonth());
    await store.renew(id, record('u2', { renewed: true }), 120);
    expect(await store.read(id)).toBe(record('u2', { renewed: true }));
    expect(await store.delete(id)).toBe(true);
    await store.renew(id, record('u2', { again: true }), 120);
    expect(await store.read(id)).toBeNull();
  });

  it('deletes once: true, then false', async () => {
    const id = newId();
    await store.create(id, record('u3'), 60, 'u3', inAMonth());
    expect(await store.delete(id)).toBe(true);
    expect(await store.delete(id)).toBe(false);
  });

  it('deletes every session of the owner, and only theirs', async () => {
    const owner = `owner-${newId()}`;
    const other = `other-${newId()}`;
    const mine = [newId(), newId(), newId()];
    const theirs = newId();
    for (const id of mine) await store.create(id, record(owner), 60, owner, inAMonth());
    await store.create(theirs, record(other), 60, other, inAMonth());
    expect(await store.deleteAllOfOwner(mine[1]!)).toBe(true);
    for (const id of mine) expect(await store.read(id)).toBeNull();
    expect(await store.read(theirs)).toBe(record(other));
    expect(await store.deleteAllOfOwner(mine[0]!)).toBe(false);
  });

  it('forgets a session when its TTL runs out', async () => {
    const id = newId();
    await store.create(id, record('u4'), 1, 'u4', inAMonth());
    expect(await store.read(id)).not.toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.read(id)).toBeNull();
  });
});

describe('UpstashSessionStore round trips', () => {
  it('creates in one MULTI, reads and deletes in one request each, logs out everywhere in one EVAL', async () => {
    const store = new UpstashSessionStore(stack.gateway.url, stack.gateway.token);
    const id = newId();
    const counted = async (work: () => Promise<unknown>) => {
      stack.gateway.resetCounts();
      await work();
      return stack.gateway.counts();
    };
    const created = await counted(() => store.create(id, record('u5'), 60, 'u5', inAMonth()));
    expect(created.requests).toBe(1);
    expect(created.byCommand).toMatchObject({ set: 1, zadd: 1 });
    expect((await counted(() => store.read(id))).requests).toBe(1);
    expect((await counted(() => store.deleteAllOfOwner(id))).byCommand).toEqual({ eval: 1 });
  });

  it('indexes sessions under their owner with the absolute expiry, and trims expired entries', async () => {
    const store = new UpstashSessionStore(stack.gateway.url, stack.gateway.token);
    const owner = `owner-${newId()}`;
    const index = `wxlogin:user-sessions:${owner}`;
    await stack.gateway.redis.zadd(index, Date.now() - 1000, 'long-gone');
    const id = newId();
    const expiresAt = inAMonth();
    await store.create(id, record(owner), 60, owner, expiresAt);
    expect(await stack.gateway.redis.zrange(index, 0, -1, 'WITHSCORES')).toEqual([id, String(expiresAt)]);
    expect(await stack.gateway.redis.pttl(index)).toBeGreaterThan(expiresAt - Date.now() - 5000);
  });
});
