// Account deletion (注销) that leaves nothing and makes no one new: after DELETE /api/me or
// DELETE /api/admin/people/{id}, no Redis key or value of the stack holds any of the person's
// identifiers; and the same WeChat identity (or verified number) signing up again is not "new"
// for benefits limited to new people. This file's own Redis prefix and database: every key counts.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { APP_A, APP_B, APP_C, startStack, type Stack } from './support/stack.js';

const ADMIN_KEY = randomBytes(32).toString('base64url');
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    isolated: true,
    env: { ADMIN_KEYS: `ops:${ADMIN_KEY}`, TRUST_PROXY_HEADERS: '1', RATE_LIMIT_LOGIN_PER_ACCOUNT: '50/1m', RATE_LIMIT_PER_SESSION: 'off' },
  });
  for (const [key, policy] of [
    ['risky-gift', { maxRiskRank: 2 }],
    ['newcomer-gift', { newWithinDays: 7 }],
  ] as const) {
    expect((await stack.call(`admin/benefits/${key}`, 'PUT', { headers: admin, json: { title: { zh: '礼', en: 'Gift' }, policy } })).status).toBe(200);
  }
});
afterAll(() => stack.close());

const newNumber = () => `139${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`;

async function signedUp(person: string, appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { token: login.body.token as string, id: login.body.user.id as string, isNew: login.body.user.isNew as boolean };
}

const claim = (token: string, benefit: string) => stack.call('claims', 'POST', { token, json: { benefit }, headers: { 'x-forwarded-for': '203.0.113.21' } });

async function bindPhone(token: string, number: string, appid = APP_A) {
  expect((await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(appid, { purePhoneNumber: number }) } })).status).toBe(200);
}

/** Every key of the stack's prefix with its value, as text. */
async function everythingInRedis(): Promise<string[]> {
  const { redis } = stack.gateway;
  const keys = await redis.keys(`${stack.keyPrefix}*`);
  return Promise.all(
    keys.map(async (key) => {
      const type = await redis.type(key);
      const value =
        type === 'string' ? await redis.get(key) : type === 'hash' ? await redis.hgetall(key) : type === 'zset' ? await redis.zrange(key, 0, -1) : type;
      return `${key} ${JSON.stringify(value)}`;
    }),
  );
}

/** Someone in two mini programs, with a verified number, a claim that asked WeChat's risk rank and a live session. */
async function someoneWithEverything() {
  const person = stack.person();
  const inA = await signedUp(person, APP_A);
  await signedUp(person, APP_B);
  const number = newNumber();
  await bindPhone(inA.token, number);
  const { openid: openidA, unionid } = stack.wechat.identityOf(APP_A, person);
  stack.wechat.setRiskRank(openidA, 0);
  expect((await claim(inA.token, 'risky-gift')).status).toBe(201);
  const identifiers = [
    inA.id,
    unionid!,
    openidA,
    stack.wechat.identityOf(APP_B, person).openid,
    number,
    `${number.slice(0, 3)}****${number.slice(-4)}`,
  ];
  // Before deletion Redis holds them (the card, the risk rank; the number only masked): the search below can find them.
  const before = (await everythingInRedis()).join('\n');
  expect(identifiers.filter((identifier) => !before.includes(identifier))).toEqual([number]);
  return { ...inA, identifiers };
}

/** Nothing of the person is left; the 60 s marker b:<id> that keeps in-flight logins out names the id only, holding nothing. */
async function expectNothingOf(id: string, identifiers: string[]) {
  const left = (await everythingInRedis()).filter((entry) => entry !== `${stack.keyPrefix}b:${id} "1"`);
  for (const identifier of identifiers) expect(left.filter((entry) => entry.includes(identifier)), identifier).toEqual([]);
}

describe('deletion removes every copy in Redis', () => {
  it('DELETE /api/me: no key or value holds the id, unionid, openids or phone', async () => {
    const { token, id, identifiers } = await someoneWithEverything();
    expect((await stack.call('me', 'DELETE', { token, json: { confirm: 'delete' } })).status).toBe(204);
    await expectNothingOf(id, identifiers);
  });

  it('DELETE /api/admin/people/{id}: the same', async () => {
    const { id, identifiers } = await someoneWithEverything();
    expect((await stack.call(`admin/people/${id}`, 'DELETE', { headers: admin })).status).toBe(204);
    await expectNothingOf(id, identifiers);
  });
});

describe('deleting and signing up again makes no one new', () => {
  async function longTimePerson(person: string, appid = APP_A) {
    const first = await signedUp(person, appid);
    await query(`update people set created_at = now() - interval '400 days' where id = $1`, [first.id]);
    return first;
  }

  it('the same WeChat identity: refused not_new as before the deletion; isNew says the person record is new', async () => {
    const person = stack.person();
    const old = await longTimePerson(person);
    expect((await claim(old.token, 'newcomer-gift')).body.reason).toBe('not_new');
    expect((await stack.call('me', 'DELETE', { token: old.token, json: { confirm: 'delete' } })).status).toBe(204);

    const again = await signedUp(person, APP_B);
    expect(again.id).not.toBe(old.id);
    expect(again.isNew).toBe(true);
    const refused = await claim(again.token, 'newcomer-gift');
    expect([refused.status, refused.body.reason]).toEqual([403, 'not_new']);
  });

  it('an app without unionid: its account alone is recognised', async () => {
    const person = stack.person();
    const old = await longTimePerson(person, APP_C);
    expect((await stack.call(`admin/people/${old.id}`, 'DELETE', { headers: admin })).status).toBe(204);
    const again = await signedUp(person, APP_C);
    expect((await claim(again.token, 'newcomer-gift')).body.reason).toBe('not_new');
  });

  it('another WeChat identity binding the deleted person\'s verified number inherits its first sight', async () => {
    const number = newNumber();
    const old = await longTimePerson(stack.person(), APP_C);
    await bindPhone(old.token, number, APP_C);
    expect((await stack.call('me', 'DELETE', { token: old.token, json: { confirm: 'delete' } })).status).toBe(204);

    const stranger = await signedUp(stack.person(), APP_C);
    expect((await claim(stranger.token, 'newcomer-gift')).status).toBe(201);
    const newcomer = await signedUp(stack.person(), APP_C);
    await bindPhone(newcomer.token, number, APP_C);
    expect((await claim(newcomer.token, 'newcomer-gift')).body.reason).toBe('not_new');
  });
});
