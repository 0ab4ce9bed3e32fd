// The scan-to-login ticket stores against one contract: Redis over Upstash's REST API (the real Redis,
// through the gateway) and over TCP, and memory (npm run dev). Each transition from each state, the
// secret, the one-time code.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RedisClient } from '../lib/platform/redis.js';
import { tcpRedis } from '../lib/platform/redis-tcp.js';
import { upstashRedis } from '../lib/platform/upstash.js';
import { MemoryTicketStore } from '../lib/web/memory-tickets.js';
import type { Grant, TicketStore } from '../lib/web/ticket-store.js';
import { RedisTicketStore } from '../lib/web/redis-tickets.js';
import { startUpstashGateway, type UpstashGateway } from '../scripts/local/upstash-gateway.js';

let gateway: UpstashGateway;
let upstash: RedisClient;
let tcp: RedisClient;
beforeAll(async () => {
  gateway = await startUpstashGateway(inject('redisUrl'));
  upstash = upstashRedis(gateway.url, gateway.token);
  tcp = tcpRedis(inject('redisUrl'));
});
afterAll(async () => {
  await tcp.close();
  await gateway.close();
});

const PREFIX = `wxlogin:test-tickets-${randomBytes(3).toString('hex')}:`;
const stores: [string, () => TicketStore][] = [
  ['RedisTicketStore over Upstash', () => new RedisTicketStore(upstash, PREFIX)],
  ['RedisTicketStore over TCP', () => new RedisTicketStore(tcp, PREFIX)],
  ['MemoryTicketStore', () => new MemoryTicketStore()],
];

const scanner = (personId: string): Grant => ({
  personId,
  appid: 'wxa',
  openid: `o-${personId}`,
  card: { unionid: null, createdAt: '2026-01-02T03:04:05.000Z', phone: null, accounts: [] },
  revision: 0,
  foldedPersonId: null,
});
const requester = { site: 'https://www.example.com', address: '198.51.100.7', device: 'Chrome' };

describe.each(stores)('%s', (_name, makeStore) => {
  let store: TicketStore;
  beforeAll(() => {
    store = makeStore();
  });

  async function fresh(lifetimeMs = 120_000): Promise<string> {
    const id = randomBytes(18).toString('base64url');
    const now = Date.now();
    await store.create(id, { secretHash: 'secret-hash', appid: 'wxa', requester, createdAt: now, expiresAt: now + lifetimeMs });
    return id;
  }

  it('goes pending → scanned → confirmed → consumed, handing the scanner over once under the code', async () => {
    const id = await fresh();
    expect(await store.collect(id, 'secret-hash', 'c1', 60_000)).toMatchObject({ outcome: 'ok', ticket: { state: 'pending', requester } });
    expect(await store.scan(id, scanner('p1'))).toMatchObject({ outcome: 'ok', ticket: { state: 'scanned' } });
    expect(await store.scan(id, scanner('p1'))).toMatchObject({ outcome: 'ok', ticket: { state: 'scanned' } });
    expect(await store.scan(id, scanner('p2'))).toMatchObject({ outcome: 'conflict' });
    expect(await store.decide(id, 'p2', 'confirm')).toMatchObject({ outcome: 'conflict' });
    expect(await store.decide(id, 'p1', 'confirm')).toMatchObject({ outcome: 'ok', ticket: { state: 'confirmed' } });
    expect(await store.decide(id, 'p1', 'confirm')).toMatchObject({ outcome: 'conflict', ticket: { state: 'confirmed' } });
    expect(await store.collect(id, 'wrong-hash', 'c2', 60_000)).toEqual({ outcome: 'missing' });
    expect(await store.collect(id, 'secret-hash', 'c3', 60_000)).toMatchObject({ outcome: 'collected', ticket: { state: 'consumed' } });
    expect(await store.collect(id, 'secret-hash', 'c4', 60_000)).toMatchObject({ outcome: 'ok', ticket: { state: 'consumed' } });
    expect(await store.redeem('c2')).toBeNull();
    expect(await store.redeem('c3')).toEqual(scanner('p1'));
    expect(await store.redeem('c3')).toBeNull();
  });

  it('denies only after a scan, by the scanner', async () => {
    const id = await fresh();
    expect(await store.decide(id, 'p1', 'deny')).toMatchObject({ outcome: 'conflict', ticket: { state: 'pending' } });
    await store.scan(id, scanner('p1'));
    expect(await store.decide(id, 'p1', 'deny')).toMatchObject({ outcome: 'ok', ticket: { state: 'denied' } });
    expect(await store.decide(id, 'p1', 'confirm')).toMatchObject({ outcome: 'conflict' });
    expect(await store.collect(id, 'secret-hash', 'c5', 60_000)).toMatchObject({ outcome: 'ok', ticket: { state: 'denied' } });
  });

  it('forgets a ticket past its lifetime and a code past its own', async () => {
    const id = await fresh(50);
    const other = await fresh();
    await store.scan(other, scanner('p1'));
    await store.decide(other, 'p1', 'confirm');
    await store.collect(other, 'secret-hash', 'short', 50);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await store.scan(id, scanner('p1'))).toEqual({ outcome: 'missing' });
    expect(await store.redeem('short')).toBeNull();
  });
});
