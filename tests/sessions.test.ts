// lib/sessions.ts over the real Redis: what is stored, expiry with a moved clock, sealing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSession, openSessionKey, requireSession, sessionClock, type NewSession } from '../lib/sessions.js';
import { APP_A, startStack, type Stack } from './support/stack.js';
import { apiErrorOf } from './support/api-error.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { SESSION_IDLE_TTL: String(7 * 24 * 3600), SESSION_MAX_AGE: String(30 * 24 * 3600) } });
});
afterAll(() => stack.close());
afterEach(() => {
  sessionClock.now = () => Date.now();
});

const HOUR = 3600_000;
const newSession = (overrides: Partial<NewSession> = {}): NewSession => ({
  person: {
    personId: `person-${Math.random().toString(36).slice(2)}`,
    revision: 1,
    card: { unionid: null, createdAt: '2026-01-02T03:04:05.000Z', phone: null, accounts: [] },
    isNew: true,
    foldedPersonId: null,
  },
  appid: APP_A,
  openid: `openid-${Math.random().toString(36).slice(2)}`,
  sessionKey: 'tiihtNczf5v6AKRyjwEUhQ==',
  ...overrides,
});

async function unauthorized(token: string) {
  expect((await apiErrorOf(requireSession(token))).code).toBe('unauthorized');
}

function moveClock(byMs: number) {
  const at = Date.now() + byMs;
  sessionClock.now = () => at;
}

const storedKeys = () => stack.gateway.redis.keys('wxlogin:session:*');

describe('what is stored', () => {
  it('keeps only the token\'s hash and a sealed session_key: Redis holds nothing usable', async () => {
    const input = newSession();
    const { token } = await createSession(input);
    const keys = await storedKeys();
    const values = await Promise.all(keys.map((key) => stack.gateway.redis.get(key)));
    const everything = keys.join('\n') + values.join('\n');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(4));
    expect(everything).not.toContain(input.sessionKey);
    expect(everything).not.toContain(Buffer.from(input.sessionKey, 'base64').toString('hex'));
  });

  it('opens the sealed session_key of a live session', async () => {
    const input = newSession();
    const { token } = await createSession(input);
    expect(openSessionKey(await requireSession(token))).toBe(input.sessionKey);
  });

  it('rejects a tampered envelope, and one moved into another session', async () => {
    const session = await requireSession((await createSession(newSession())).token);
    const other = await requireSession((await createSession(newSession())).token);
    const [version, keyId, iv, sealed] = session.sealedSessionKey.split('.');
    const flipped = Buffer.from(sealed!, 'base64url');
    flipped[0]! ^= 1;
    const tampered = [version, keyId, iv, flipped.toString('base64url')].join('.');
    expect(() => openSessionKey({ ...session, sealedSessionKey: tampered })).toThrow();
    expect(() => openSessionKey({ ...other, sealedSessionKey: session.sealedSessionKey })).toThrow();
    expect(() => openSessionKey({ ...session, sealedSessionKey: `v1.00000000.${iv}.${sealed}` })).toThrow();
  });

  it('sets the Redis TTL to the idle timeout', async () => {
    const { id } = await requireSession((await createSession(newSession())).token);
    const ttl = await stack.gateway.redis.ttl(`wxlogin:session:${id}`);
    expect(ttl).toBeGreaterThan(7 * 24 * 3600 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600);
  });
});

describe('expiry', () => {
  it('refuses a session past its absolute expiry even while Redis still holds it', async () => {
    const { token, expiresAt } = await createSession(newSession());
    expect(expiresAt.getTime() - Date.now()).toBeGreaterThan(30 * 24 * HOUR - 60_000);
    moveClock(30 * 24 * HOUR + 1000);
    await unauthorized(token);
  });

  it('pushes idle expiry back at most once an hour, with one extra write', async () => {
    const { token } = await createSession(newSession());
    stack.gateway.resetCounts();
    await requireSession(token);
    expect(stack.gateway.counts().byCommand).toEqual({ eval: 1 });

    moveClock(HOUR + 1000);
    stack.gateway.resetCounts();
    await requireSession(token);
    expect(stack.gateway.counts().byCommand).toEqual({ eval: 2 });

    stack.gateway.resetCounts();
    await requireSession(token);
    await requireSession(token);
    expect(stack.gateway.counts().byCommand).toEqual({ eval: 2 });
  });

  it('never lets the idle TTL outlive the absolute expiry', async () => {
    const { token } = await createSession(newSession());
    const { id } = await requireSession(token);
    moveClock(30 * 24 * HOUR - 2 * HOUR);
    await requireSession(token);
    const ttl = await stack.gateway.redis.ttl(`wxlogin:session:${id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * 3600);
  });
});
