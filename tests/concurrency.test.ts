// Races that real people create: many first logins of one person at once, one code sent twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { APP_A, APP_B, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  // 50 logins of one person in a second: far past the per-account limit, which is not under test here.
  stack = await startStack({ env: { RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off' } });
});
afterAll(() => stack.close());

it('50 simultaneous first logins of one person across two apps make exactly one user', async () => {
  const person = stack.person();
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => stack.login(person, i % 2 === 0 ? APP_A : APP_B)),
  );
  expect(results.map((result) => result.status)).toEqual(Array(50).fill(200));
  expect(new Set(results.map((result) => result.body.user.id)).size).toBe(1);
  expect(results.filter((result) => result.body.user.isNew)).toHaveLength(1);
  expect(new Set(results.map((result) => result.body.token)).size).toBe(50);

  const { unionid } = stack.wechat.identityOf(APP_A, person);
  const people = await query<{ id: string }>('select id from people where unionid = $1', [unionid]);
  expect(people).toHaveLength(1);
  const accounts = await query<{ appid: string }>('select appid from accounts where person_id = $1 order by appid', [people[0]!.id]);
  expect(accounts.map((account) => account.appid)).toEqual([APP_A, APP_B]);
});

it('one code sent twice at once logs in once; the other gets code_used', async () => {
  const code = stack.wechat.issueCode(APP_A, stack.person());
  const results = await Promise.all([1, 2].map(() => stack.call('login', 'POST', { json: { code, appid: APP_A } })));
  expect(results.map((result) => result.status).sort()).toEqual([200, 400]);
  expect(results.find((result) => result.status === 400)!.body.code).toBe('code_used');
});
