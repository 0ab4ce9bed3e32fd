// One rule for every text a request carries (body fields, query values, path segments, the
// Idempotency-Key and Authorization headers): no NUL or other C0/C1 control (free text keeps tab
// and newline), no lone surrogate, no bidi control; 400 invalid_request naming the field. Exact
// identifier patterns, and numbers checked against what the database holds, before any SQL.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type CallResult, type Stack } from './support/stack.js';

const ADMIN_KEY = randomBytes(32).toString('base64url');
const SERVICE_KEY = randomBytes(32).toString('base64url');
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const service = { authorization: `Bearer ${SERVICE_KEY}` };

let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startStack({ env: { ADMIN_KEYS: `ops:${ADMIN_KEY}`, SERVICE_KEYS: `coupons:${SERVICE_KEY}`, RATE_LIMIT_PER_SESSION: 'off' } });
  token = (await stack.login(stack.person())).body.token;
});
afterAll(() => stack.close());

function expectInvalid(result: CallResult, field: string) {
  expect([result.status, result.body.code], JSON.stringify(result.body)).toEqual([400, 'invalid_request']);
  expect(result.body.detail).toContain(`"${field}"`);
}

/** What the rule refuses, each as a JS string (JSON carries them all). */
const REFUSED = {
  nul: 'a\u0000b',
  c0: 'a\u0001b',
  del: 'a\u007fb',
  c1: 'a\u0085b',
  carriageReturn: 'a\rb',
  loneHigh: 'a\ud800b',
  loneLow: 'a\udc00b',
  bidiOverride: 'a\u202eb',
  bidiIsolate: 'a\u2066b',
};

describe('text fields refuse controls, lone surrogates and bidi controls', () => {
  it.each(Object.entries(REFUSED))('%s in a claim\'s benefit, a suspension reason and a benefit title: 400 naming the field', async (_, bad) => {
    expectInvalid(await stack.call('claims', 'POST', { token, json: { benefit: bad } }), 'benefit');
    // An unknown person: the input is judged first, never a 500.
    expectInvalid(await stack.call(`admin/people/${randomUUID()}/suspend`, 'POST', { headers: admin, json: { reason: bad } }), 'reason');
    expectInvalid(
      await stack.call('admin/benefits/gift', 'PUT', { headers: admin, json: { title: { zh: bad, en: 'Gift' } } }),
      'title.zh',
    );
  });

  it('free text keeps tab and newline: an unknown person is then 404', async () => {
    const result = await stack.call(`admin/people/${randomUUID()}/suspend`, 'POST', { headers: admin, json: { reason: 'spam\twave\nsecond line' } });
    expect([result.status, result.body.code]).toEqual([404, 'person_not_found']);
  });

  it('titles keep 4-byte characters and CJK', async () => {
    const result = await stack.call('admin/benefits/emoji-gift', 'PUT', { headers: admin, json: { title: { zh: '新人礼 🎁', en: 'Gift 𠀀' } } });
    expect(result.status).toBe(200);
  });

  it('query values and search handles: a NUL or a bidi control is 400 naming it, a well-formed unknown account finds nobody (404)', async () => {
    expectInvalid(await stack.call('admin/events?person=%00', 'GET', { headers: admin }), 'person');
    expectInvalid(await stack.call('admin/events?operator=a%E2%80%AEb', 'GET', { headers: admin }), 'operator');
    expectInvalid(await stack.call('admin/people/search', 'POST', { headers: admin, json: { appid: '\u0000', openid: 'o1' } }), 'appid');
    expectInvalid(await stack.call('admin/people/search', 'POST', { headers: admin, json: { appid: 'wx1', openid: 'o\u202e1' } }), 'openid');
    const nobody = await stack.call('admin/people/search', 'POST', { headers: admin, json: { appid: 'wx0000000000000000', openid: 'o1' } });
    expect([nobody.status, nobody.body.code]).toEqual([404, 'person_not_found']);
  });

  it('path segments: controls are 400 naming the segment; a well-formed unknown handle is 404', async () => {
    expectInvalid(await stack.call('sessions/a%00b', 'DELETE', { token }), 'handle');
    expectInvalid(await stack.call('admin/benefits/a%E2%80%AEb', 'PUT', { headers: admin, json: { title: { zh: 'x', en: 'x' } } }), 'key');
    const unknown = await stack.call(`sessions/${'A'.repeat(22)}`, 'DELETE', { token });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'session_not_found']);
    expectInvalid(await stack.call('sessions/not-a-handle', 'DELETE', { token }), 'handle');
  });

  it('headers we read: Idempotency-Key and Authorization', async () => {
    expectInvalid(await stack.call('claims', 'POST', { token, json: { benefit: 'welcome-gift' }, headers: { 'idempotency-key': 'a\u0085b' } }), 'Idempotency-Key');
    expectInvalid(await stack.call('me', 'GET', { headers: { authorization: `Bearer wxl_\u0001${'a'.repeat(40)}` } }), 'Authorization');
  });

  it('benefit keys have the operators\' pattern: ill-formed 400 invalid_request, well-formed unknown 400 unknown_benefit', async () => {
    expectInvalid(await stack.call('claims', 'POST', { token, json: { benefit: 'Welcome Gift' } }), 'benefit');
    const unknown = await stack.call('claims', 'POST', { token, json: { benefit: 'no-such-gift' } });
    expect([unknown.status, unknown.body.code]).toEqual([400, 'unknown_benefit']);
  });

  it('an unknown field\'s name is not echoed when it breaks the rule', async () => {
    const result = await stack.call('claims', 'POST', { token, json: { benefit: 'welcome-gift', 'x\u202ey': 1 } });
    expect([result.status, result.body.code]).toEqual([400, 'invalid_request']);
    expect(result.body.detail).not.toContain('\u202e');
  });
});

describe('numbers are checked against what the database holds', () => {
  it.each([
    ['1-9999999999999999999', 'a position past bigint'],
    ['99999999999999999999-1', 'a transaction id past xid8'],
    ['18446744073709551616-0', 'one past the largest xid8'],
  ])('feed cursor %s (%s): 400 naming "after"', async (after) => {
    expectInvalid(await stack.call(`service/claims?after=${after}`, 'GET', { headers: service }), 'after');
  });

  it('the int64 edges that fit are read, not refused', async () => {
    const result = await stack.call('service/claims?after=18446744073709551615-9223372036854775807', 'GET', { headers: service });
    expect(result.status).toBe(200);
    expect(result.body.next).toBe('18446744073709551615-9223372036854775807');
  });

  it('the audit trail\'s cursor is a bigint too', async () => {
    expectInvalid(await stack.call('admin/events?after=9223372036854775808', 'GET', { headers: admin }), 'after');
    expect((await stack.call('admin/events?after=9223372036854775807', 'GET', { headers: admin })).status).toBe(200);
  });
});
