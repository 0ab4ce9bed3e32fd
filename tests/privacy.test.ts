// A person's rights over their data, against the real Redis and Postgres: consent records per mini
// program (recorded, idempotent, withdrawn, listed, audited), and the copy of everything we hold
// (GET /api/me/export for the person, POST /api/admin/people/{id}/export for an operator).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { accessLog, APP_A, APP_B, defaultApps, startStack, type CallResult, type Stack } from './support/stack.js';

/** Starts unbound; binding it later merges two people. */
const APP_D = 'wxd0000000000000d4';
const ADMIN_KEY = randomBytes(32).toString('base64url');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [...defaultApps(), { appid: APP_D, secret: 'secret-d-0123456789', openPlatform: false }],
    env: { ADMIN_KEYS: `alice:${ADMIN_KEY}`, CONSENT_DOCUMENTS: 'marketing', RATE_LIMIT_EXPORT_PER_PERSON: '3/24h' },
  });
});
afterAll(() => stack.close());

const admin = (path: string, method = 'GET', json?: unknown) => stack.call(path, method, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, json });
const consent = (token: string, document: string, version: string) => stack.call('me/consents', 'POST', { token, json: { document, version } });

async function loggedIn(person: string, appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { token: login.body.token as string, id: login.body.user.id as string };
}

function expectProblem(result: CallResult, status: number, code: string) {
  expect([result.status, result.body?.code]).toEqual([status, code]);
}

/** The person's audit trail as "kind appid", oldest first. */
async function trail(personId: string): Promise<string[]> {
  const { events } = (await admin(`admin/events?person=${personId}`)).body;
  return events.map((event: { kind: string; appid: string | null }) => `${event.kind} ${event.appid ?? '-'}`);
}

describe('consent records', () => {
  it('records per mini program, idempotently; a withdrawal is recorded and a later agreement is new', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);

    const first = await consent(inA.token, 'privacy', '2026-06-01');
    expect(first.status).toBe(201);
    expect(first.body.consent).toEqual({ document: 'privacy', version: '2026-06-01', appid: APP_A, agreedAt: expect.any(String), withdrawnAt: null });
    const again = await consent(inA.token, 'privacy', '2026-06-01');
    expect([again.status, again.body]).toEqual([200, first.body]);
    expect((await consent(inB.token, 'terms', 'v3')).status).toBe(201);
    expect((await consent(inB.token, 'marketing', 'v1')).status).toBe(201);

    expect((await stack.call('me/consents/privacy', 'DELETE', { token: inA.token })).status).toBe(204);
    // Withdrawing again, or what was never agreed, changes nothing.
    expect((await stack.call('me/consents/privacy', 'DELETE', { token: inA.token })).status).toBe(204);
    expect((await stack.call('me/consents/terms', 'DELETE', { token: inA.token })).status).toBe(204);
    const renewed = await consent(inA.token, 'privacy', '2026-06-01');
    expect(renewed.status).toBe(201);

    const listed = (await stack.call('me/consents', 'GET', { token: inB.token })).body.consents;
    expect(listed).toEqual([
      { ...first.body.consent, withdrawnAt: expect.any(String) },
      expect.objectContaining({ document: 'terms', version: 'v3', appid: APP_B, withdrawnAt: null }),
      expect.objectContaining({ document: 'marketing', version: 'v1', appid: APP_B, withdrawnAt: null }),
      renewed.body.consent,
    ]);
    expect(Date.parse(listed[0].withdrawnAt)).toBeGreaterThanOrEqual(Date.parse(listed[0].agreedAt));

    expect(await trail(inA.id)).toEqual([
      `first_login ${APP_A}`,
      `login ${APP_B}`,
      `consent_given ${APP_A}`,
      `consent_given ${APP_B}`,
      `consent_given ${APP_B}`,
      `consent_withdrawn ${APP_A}`,
      `consent_given ${APP_A}`,
    ]);
    const { events } = (await admin(`admin/events?person=${inA.id}&kind=consent_withdrawn`)).body;
    expect(events[0]).toMatchObject({ actor: 'self', details: { document: 'privacy', versions: ['2026-06-01'] } });
    // Operators see them on the person's page.
    expect((await admin(`admin/people/${inA.id}`)).body.person.consents).toEqual(listed);
  });

  it('ten racing recordings of one version make one record: one 201, nine 200', async () => {
    const { token } = await loggedIn(stack.person());
    const results = await Promise.all(Array.from({ length: 10 }, () => consent(token, 'terms', '2026-07')));
    expect(results.map((result) => result.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((result) => result.body.consent.agreedAt)).size).toBe(1);
    expect((await stack.call('me/consents', 'GET', { token })).body.consents).toHaveLength(1);
  });

  it('go with the account when the person deletes it; the audit trail keeps the events', async () => {
    const person = stack.person();
    const { token, id } = await loggedIn(person);
    expect((await consent(token, 'privacy', 'v1')).status).toBe(201);
    expect((await stack.call('me', 'DELETE', { token, json: { confirm: 'delete' } })).status).toBe(204);
    const { openid } = stack.wechat.identityOf(APP_A, person);
    expect(await query('select 1 from consents where appid = $1 and openid = $2', [APP_A, openid])).toEqual([]);
    expect(await trail(id)).toContain(`consent_given ${APP_A}`);
  });

  it('refuses documents the deployment does not name, and versions that are not short printable text', async () => {
    const { token } = await loggedIn(stack.person());
    for (const [document, version] of [['cookies', 'v1'], ['Privacy', 'v1'], ['privacy', ''], ['privacy', 'v 1'], ['privacy', 'x'.repeat(65)], ['privacy', 7]]) {
      expectProblem(await stack.call('me/consents', 'POST', { token, json: { document, version } }), 400, 'invalid_request');
    }
    expectProblem(await stack.call('me/consents/cookies', 'DELETE', { token }), 400, 'invalid_request');
    expect((await stack.call('me/consents', 'GET', { token })).body).toEqual({ consents: [] });
  });
});

describe('the copy of everything we hold', () => {
  it('holds two apps, a claim, the full phone, a consent and a merge, and no credential', async () => {
    const person = stack.person();
    // D is unbound: its account is a person of its own until D brings the unionid, then the merge.
    const survivor = await loggedIn(person, APP_D);
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    const number = `137${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`;
    expect((await stack.call('phone', 'POST', { token: inA.token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: number }) } })).status).toBe(200);
    expect((await stack.call('claims', 'POST', { token: inA.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
    expect((await consent(inB.token, 'privacy', '2026-06-01')).status).toBe(201);
    stack.wechat.bindOpenPlatform(APP_D);
    const inD = await loggedIn(person, APP_D);
    expect(inD.id).toBe(survivor.id);

    const result = await stack.call('me/export', 'GET', { token: inA.token });
    expect(result.status).toBe(200);
    const copy = result.body.export;
    const identity = (appid: string) => stack.wechat.identityOf(appid, person);
    expect(copy.person).toEqual({ id: survivor.id, createdAt: expect.any(String), unionid: identity(APP_A).unionid, phone: number, phoneVerifiedAt: expect.any(String), suspension: null });
    expect(copy.accounts.map((account: { appid: string; openid: string }) => [account.appid, account.openid])).toEqual(
      [APP_D, APP_A, APP_B].map((appid) => [appid, identity(appid).openid]),
    );
    expect(copy.sessions.map((session: { appid: string }) => session.appid).sort()).toEqual([APP_A, APP_B, APP_D, APP_D].sort());
    expect(copy.claims).toEqual([{ benefit: 'welcome-gift', appid: APP_A, claimedAt: expect.any(String), fulfilment: 'handed_over', reversedAt: null }]);
    expect(copy.consents).toEqual([{ document: 'privacy', version: '2026-06-01', appid: APP_B, agreedAt: expect.any(String), withdrawnAt: null }]);
    expect(copy.merges).toEqual([expect.objectContaining({ foldedPersonId: inA.id, survivorPersonId: survivor.id, appid: APP_D })]);
    expect(copy.profile).toBeNull();
    expect(copy.eventsTruncated).toBe(false);
    expect(copy.events.map((event: { kind: string }) => event.kind)).toEqual([
      'first_login', 'first_login', 'login', 'phone_bound', 'benefit_claimed', 'consent_given', 'merge', 'login', 'data_exported',
    ]);
    const given = copy.events.find((event: { kind: string }) => event.kind === 'consent_given');
    expect(given.text).toEqual({ zh: `你在 ${APP_B} 同意了《隐私保护指引》（版本 2026-06-01）`, en: `You agreed to the privacy guide (version 2026-06-01) in ${APP_B}` });
    expect(copy.events.at(-1).text).toEqual({ zh: '你导出了个人信息副本', en: 'You exported a copy of your personal data' });

    // No credential: no token, no session id, no session_key, no sealed value, no handle.
    const text = JSON.stringify(result.body);
    const ids = await stack.gateway.redis.zrange(`${stack.keyPrefix}ps:${survivor.id}`, 0, -1);
    expect(ids).toHaveLength(4);
    const sealed = await Promise.all(ids.map((id) => stack.gateway.redis.hget(`${stack.keyPrefix}s:${id}`, 'sk')));
    const handles = (await stack.call('sessions', 'GET', { token: inA.token })).body.sessions.map((session: { handle: string }) => session.handle);
    const credentials = [survivor.token, inA.token, inB.token, inD.token, ...ids, ...sealed, ...handles, ...stack.wechat.credentialsHandedOut().filter((value) => value !== number)];
    for (const credential of credentials) {
      expect(credential, 'a credential to look for').toEqual(expect.any(String));
      expect(text.includes(credential!), `the copy holds ${credential!.slice(0, 6)}…`).toBe(false);
    }
    // The access log says a copy was made, not what it held.
    const line = accessLog.map((entry) => JSON.parse(entry)).find((entry) => entry.route === '/api/me/export' && entry.requestId === result.headers.get('x-request-id'));
    expect(line).toMatchObject({ status: 200, exported: 'self', personId: survivor.id });
    for (const value of [number, identity(APP_A).unionid!, identity(APP_A).openid]) expect(JSON.stringify(line)).not.toContain(value);

    // An operator naming the folded person's id gets the survivor's copy, as the lookup does.
    expect((await admin(`admin/people/${inA.id}/export`, 'POST', { purpose: 'ticket 7' })).body.export.person.id).toBe(survivor.id);
  });

  it('holds the newest 10,000 events of a very long trail and says the oldest were left out', async () => {
    const { token, id } = await loggedIn(stack.person());
    await query(`insert into events (person_id, kind, actor, at) select $1, 'login', 'self', now() - interval '1 day' from generate_series(1, 10000)`, [id]);
    const started = performance.now();
    const result = await stack.call('me/export', 'GET', { token });
    console.info(`a copy with 10,000 events: ${JSON.stringify(result.body).length} bytes in ${Math.round(performance.now() - started)} ms`);
    const copy = result.body.export;
    expect(copy.eventsTruncated).toBe(true);
    expect(copy.events).toHaveLength(10_000);
    expect(copy.events.at(-1).kind).toBe('data_exported');
    expect(copy.events.some((event: { kind: string }) => event.kind === 'first_login')).toBe(false);
  });

  it('is 401 with a logged-out token', async () => {
    const { token } = await loggedIn(stack.person());
    expect((await stack.call('logout', 'POST', { token })).status).toBe(204);
    expectProblem(await stack.call('me/export', 'GET', { token }), 401, 'unauthorized');
  });

  it('is a few a day per person: the fourth is 429 with Retry-After, in any of their mini programs', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    const statuses = [];
    for (const token of [inA.token, inB.token, inA.token]) statuses.push((await stack.call('me/export', 'GET', { token })).status);
    const refused = await stack.call('me/export', 'GET', { token: inB.token });
    expect([...statuses, refused.status]).toEqual([200, 200, 200, 429]);
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(24 * 3600);
    expect(refused.headers.get('ratelimit-policy')).toBe('3;w=86400');
    // Someone else is not held back by it.
    expect((await stack.call('me/export', 'GET', { token: (await loggedIn(stack.person())).token })).status).toBe(200);
  });

  it('by an operator: needs a purpose, is audited with it, and the person sees it in their next copy', async () => {
    const { token, id } = await loggedIn(stack.person());
    await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: '13511112222' }) } });
    expectProblem(await admin(`admin/people/${id}/export`, 'POST', {}), 400, 'invalid_request');
    expectProblem(await admin(`admin/people/${id}/export`, 'POST', { purpose: 'x'.repeat(201) }), 400, 'invalid_request');
    expectProblem(await admin(`admin/people/${crypto.randomUUID()}/export`, 'POST', { purpose: 'ticket 42' }), 404, 'person_not_found');
    expectProblem(await stack.call(`admin/people/${id}/export`, 'POST', { token, json: { purpose: 'ticket 42' } }), 401, 'unauthorized');

    const made = await admin(`admin/people/${id}/export`, 'POST', { purpose: 'ticket 42' });
    expect(made.status).toBe(200);
    expect(made.body.export.person).toMatchObject({ id, phone: '13511112222' });
    const { events } = (await admin(`admin/events?person=${id}`)).body;
    expect(events.slice(-2)).toEqual([
      expect.objectContaining({ kind: 'phone_revealed', actor: 'admin:alice' }),
      expect.objectContaining({ kind: 'data_exported', actor: 'admin:alice', details: { purpose: 'ticket 42' } }),
    ]);
    const own = (await stack.call('me/export', 'GET', { token })).body.export;
    expect(own.events.find((event: { actor: string; kind: string }) => event.kind === 'data_exported' && event.actor === 'admin:alice').text).toEqual({
      zh: '运营人员导出了你的个人信息副本（用途：ticket 42）',
      en: 'An operator exported a copy of your personal data (purpose: ticket 42)',
    });
    // The person's own copy reveals their number to no one else: no phone_revealed for it.
    expect((await trail(id)).filter((entry) => entry.startsWith('phone_revealed'))).toHaveLength(1);
  });
});
