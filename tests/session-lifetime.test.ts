// Idle expiry in real time with a 2 s idle TTL: renewal keeps an active session alive whatever the
// TTL, an unused one lapses, and the per-person index drops what lapsed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { newRequestContext } from '../lib/platform/request-context.js';
import { requireSession } from '../lib/sessions/tokens.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { SESSION_IDLE_TTL: '2', SESSION_MAX_AGE: '3600' } });
});
afterAll(() => stack.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const me = (token: string) => stack.call('me', 'GET', { token });

it('keeps a session used every 0.4 s alive for 10 s, and lets an unused one lapse after 2 s', async () => {
  const person = stack.person();
  const active = (await stack.login(person)).body.token;
  const idle = (await stack.login(person)).body.token;
  const started = Date.now();
  while (Date.now() - started < 10_000) {
    expect((await me(active)).status).toBe(200);
    await sleep(400);
  }
  expect((await me(idle)).status).toBe(401);
});

it('a login drops the ids that lapsed from the person\'s index', async () => {
  const person = stack.person();
  await stack.login(person);
  await stack.login(person);
  await sleep(2100);
  const { token } = (await stack.login(person)).body;
  const { person: owner } = await requireSession(token, newRequestContext('test', Date.now() + 9000));
  expect(await stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${owner.id}`)).toBe(1);
});
