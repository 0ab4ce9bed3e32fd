// Running the user base, against the real Redis and Postgres: operators (admin key), the company's
// services (service key) and the person (session token) each reach only their own surface;
// lookup, suspension, session management, account deletion (注销) and the audit trail.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { CREATE_SESSION } from '../lib/sessions/scripts.js';
import { APP_A, APP_B, APP_C, defaultApps, startStack, type CallResult, type Stack } from './support/stack.js';

/** Starts unbound; the audit-trail story binds it to make a merge. */
const APP_D = 'wxd0000000000000d4';

const ADMIN_KEY = randomBytes(32).toString('base64url');
const SERVICE_KEY = randomBytes(32).toString('base64url');
const CRON_SECRET = randomBytes(24).toString('base64url');

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [...defaultApps(), { appid: APP_D, secret: 'secret-d-0123456789', openPlatform: false }],
    env: {
      ADMIN_KEYS: `alice:${ADMIN_KEY}`,
      SERVICE_KEYS: `orders:${SERVICE_KEY}`,
      CRON_SECRET,
      TRUST_PROXY_HEADERS: '1',
      RATE_LIMIT_AUTH_FAILURES_PER_IP: '5/1m',
      // Racing logins of one person are under test here, not the account's login limit.
      RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
      SESSION_MAX_PER_APP: '50',
    },
  });
});
afterAll(() => stack.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const admin = (path: string, method = 'GET', json?: unknown) => stack.call(path, method, { headers: bearer(ADMIN_KEY), json });
const search = (json: unknown) => admin('admin/people/search', 'POST', json);
const service = (json: unknown) => stack.call('introspect', 'POST', { headers: bearer(SERVICE_KEY), json });
const me = (token: string) => stack.call('me', 'GET', { token });

async function loggedIn(person: string, appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { token: login.body.token as string, id: login.body.user.id as string };
}

function expectProblem(result: CallResult, status: number, code: string) {
  expect([result.status, result.body?.code]).toEqual([status, code]);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}

describe('keys open their own doors only', () => {
  const surfaces: { name: string; kind: 'admin' | 'service' | 'person'; call: (headers: Record<string, string>) => Promise<CallResult> }[] = [
    { name: 'POST /api/admin/people/search', kind: 'admin', call: (headers) => stack.call('admin/people/search', 'POST', { headers, json: { unionid: `u${randomBytes(4).toString('hex')}` } }) },
    { name: 'GET /api/admin/events', kind: 'admin', call: (headers) => stack.call('admin/events', 'GET', { headers }) },
    { name: 'POST /api/admin/people/{id}/logout', kind: 'admin', call: (headers) => stack.call(`admin/people/${crypto.randomUUID()}/logout`, 'POST', { headers }) },
    { name: 'POST /api/introspect', kind: 'service', call: (headers) => stack.call('introspect', 'POST', { headers, json: { token: 'x' } }) },
    { name: 'GET /api/me', kind: 'person', call: (headers) => stack.call('me', 'GET', { headers }) },
    { name: 'GET /api/sessions', kind: 'person', call: (headers) => stack.call('sessions', 'GET', { headers }) },
    { name: 'GET /api/claims', kind: 'person', call: (headers) => stack.call('claims', 'GET', { headers }) },
  ];

  it('each kind of credential is refused with 401 on every other surface, and accepted on its own', async () => {
    const { token } = await loggedIn(stack.person());
    const credentials = { admin: ADMIN_KEY, service: SERVICE_KEY, person: token };
    for (const surface of surfaces) {
      for (const [kind, credential] of Object.entries(credentials)) {
        // Each from an address of its own: this test is not about the failure limit.
        const headers = { ...bearer(credential), 'x-forwarded-for': `192.0.2.${randomBytes(1)[0]}` };
        const result = await surface.call(headers);
        if (kind === surface.kind) expect(result.status, `${kind} on ${surface.name}`).not.toBe(401);
        else expectProblem(result, 401, 'unauthorized');
      }
    }
  });

  it('wrong keys count against the address: 401, then 429', async () => {
    const from = { 'x-forwarded-for': '198.51.100.77' };
    const statuses = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await stack.call('admin/events', 'GET', { headers: { ...bearer(randomBytes(32).toString('hex')), ...from } })).status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    // The right key from that address still works: valid credentials are never held back.
    expect((await stack.call('admin/events', 'GET', { headers: { ...bearer(ADMIN_KEY), ...from } })).status).toBe(200);
  });
});

describe('token introspection (RFC 7662)', () => {
  it('describes a live session in one Redis request, form-encoded or JSON', async () => {
    const person = stack.person();
    const { token, id } = await loggedIn(person, APP_A);
    stack.gateway.resetCounts();
    const form = await stack.call('introspect', 'POST', {
      headers: { ...bearer(SERVICE_KEY), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    });
    expect(stack.gateway.counts().requests).toBe(1);
    const { openid, unionid } = stack.wechat.identityOf(APP_A, person);
    expect(form.body).toEqual({ active: true, token_type: 'Bearer', sub: id, appid: APP_A, openid, unionid, iat: expect.any(Number), exp: expect.any(Number) });
    expect(form.body.exp).toBeGreaterThan(Date.now() / 1000);
    expect((await service({ token })).body).toEqual(form.body);
  });

  it('answers only { active: false } for revoked, foreign, garbage and suspended-away tokens', async () => {
    const { token } = await loggedIn(stack.person());
    await stack.call('logout', 'POST', { token });
    for (const candidate of [token, `wxl_${randomBytes(32).toString('base64url')}`, 'garbage', 'x'.repeat(500)]) {
      const result = await service({ token: candidate });
      expect([result.status, result.body]).toEqual([200, { active: false }]);
    }
  });

  it('needs the token parameter', async () => {
    expectProblem(await service({}), 400, 'invalid_request');
  });
});

describe('the person\'s own sessions', () => {
  it('lists every mini program\'s sessions, ends one by handle, and 404s for anyone else\'s', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    const listed = await stack.call('sessions', 'GET', { token: inA.token });
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toEqual([
      { handle: expect.any(String), appid: APP_A, channel: 'miniprogram', createdAt: expect.any(String), expiresAt: expect.any(String), lastSeenAt: expect.any(String), idleExpiresAt: expect.any(String), current: true },
      { handle: expect.any(String), appid: APP_B, channel: 'miniprogram', createdAt: expect.any(String), expiresAt: expect.any(String), lastSeenAt: expect.any(String), idleExpiresAt: expect.any(String), current: false },
    ]);
    const other = listed.body.sessions[1].handle;
    expect(JSON.stringify(listed.body)).not.toContain(inB.token);

    const stranger = await loggedIn(stack.person());
    expectProblem(await stack.call(`sessions/${other}`, 'DELETE', { token: stranger.token }), 404, 'session_not_found');
    expect((await me(inB.token)).status).toBe(200);
    expect((await stack.call(`sessions/${other}`, 'DELETE', { token: inA.token })).status).toBe(204);
    expect((await me(inB.token)).status).toBe(401);
    expect((await me(inA.token)).status).toBe(200);
    expectProblem(await stack.call(`sessions/${other}`, 'DELETE', { token: inA.token }), 404, 'session_not_found');
  });
});

describe('operators: look up', () => {
  it('finds a person by id, appid + openid, unionid and phone, with their whole story', async () => {
    const person = stack.person();
    const first = await loggedIn(person, APP_A);
    await loggedIn(person, APP_B);
    const number = `139${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`;
    expect((await stack.call('phone', 'POST', { token: first.token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: number }) } })).status).toBe(200);
    expect((await stack.call('claims', 'POST', { token: first.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);

    const { openid, unionid } = stack.wechat.identityOf(APP_B, person);
    for (const by of [{ id: first.id }, { appid: APP_B, openid }, { unionid }, { phone: number }, { phone: `+86${number}` }]) {
      const found = await search(by);
      expect(found.status, JSON.stringify(by)).toBe(200);
      expect(found.body.person.id).toBe(first.id);
    }
    const { person: view } = (await admin(`admin/people/${first.id}`)).body;
    expect(view).toMatchObject({
      id: first.id,
      unionid,
      phone: `${number.slice(0, 3)}****${number.slice(7)}`,
      suspension: null,
      claims: [{ benefit: 'welcome-gift', appid: APP_A, claimedAt: expect.any(String) }],
      merges: [],
    });
    expect(view.sessions).toEqual([APP_A, APP_B].map((appid) => ({ handle: expect.any(String), appid, channel: 'miniprogram', createdAt: expect.any(String), expiresAt: expect.any(String), lastSeenAt: expect.any(String), idleExpiresAt: expect.any(String) })));
    expect(view.accounts.map((account: { appid: string }) => account.appid)).toEqual([APP_A, APP_B]);
    // Every look-up is in the trail, by the kind of handle it used.
    const lookUps = view.events.filter((event: { kind: string }) => event.kind === 'person_viewed').map((event: { details: { by: string } }) => event.details.by);
    expect(lookUps).toEqual(['id', 'phone', 'phone', 'unionid', 'account', 'id']);
    expect(view.events.filter((event: { kind: string }) => event.kind !== 'person_viewed').map((event: { kind: string }) => event.kind)).toEqual(['benefit_claimed', 'phone_bound', 'login', 'first_login']);
  });

  it('reveals a phone number only with a stated purpose, and records who asked and why', async () => {
    const { token, id } = await loggedIn(stack.person());
    await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: '13700001111' }) } });
    expectProblem(await admin(`admin/people/${id}/reveal`, 'POST', {}), 400, 'invalid_request');
    expectProblem(await admin(`admin/people/${id}/reveal`, 'POST', { purpose: '' }), 400, 'invalid_request');
    expectProblem(await admin(`admin/people/${id}/reveal`, 'POST', { purpose: 'x'.repeat(201) }), 400, 'invalid_request');
    expectProblem(await admin(`admin/people/${id}?reveal=phone`), 400, 'invalid_request');
    const revealed = await admin(`admin/people/${id}/reveal`, 'POST', { purpose: 'ticket T-1024' });
    expect(revealed.body.person.phone).toBe('13700001111');
    expect(revealed.body.person.events[0]).toMatchObject({ kind: 'phone_revealed', actor: 'admin:alice', details: { purpose: 'ticket T-1024' } });
    expectProblem(await admin(`admin/people/${crypto.randomUUID()}/reveal`, 'POST', { purpose: 'T-1' }), 404, 'person_not_found');
  });

  it('404 for nobody, 400 for a query naming no one or two ways', async () => {
    expectProblem(await search({ unionid: `u${randomBytes(8).toString('hex')}` }), 404, 'person_not_found');
    expectProblem(await admin(`admin/people/${crypto.randomUUID()}`), 404, 'person_not_found');
    expectProblem(await search({}), 400, 'invalid_request');
    expectProblem(await search({ unionid: 'u1', phone: '13800000000' }), 400, 'invalid_request');
    expectProblem(await search({ appid: APP_A }), 400, 'invalid_request');
    expectProblem(await admin('admin/people/not-a-uuid'), 400, 'invalid_request');
  });
});

describe('operators: suspend, lift, end sessions', () => {
  it('suspension racing 20 concurrent logins leaves no live session; logins are 403 until lifted', async () => {
    const person = stack.person();
    const { id, token } = await loggedIn(person, APP_A);
    // Logins spread across the suspension: some finish before it, some start after, and — with each
    // session write held 40 ms at Redis — some read Postgres before it committed but write Redis after.
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    stack.gateway.delayScript(CREATE_SESSION, 40);
    const logins = Array.from({ length: 20 }, async (_, i) => {
      await pause(i * 4);
      return stack.login(person, i % 2 ? APP_A : APP_B);
    });
    await pause(30);
    const suspended = await admin(`admin/people/${id}/suspend`, 'POST', { reason: 'chargeback fraud' });
    const results = await Promise.all(logins);
    stack.gateway.delayScript(CREATE_SESSION, 0);
    expect(suspended.status).toBe(200);
    expect(suspended.body.person.suspension).toMatchObject({ reason: 'chargeback fraud', until: null, by: 'admin:alice' });

    // Whatever each login answered, none of their tokens works, nor the old one.
    for (const result of [...results.filter((r) => r.status === 200).map((r) => r.body.token), token]) {
      expect((await me(result)).status).toBe(401);
    }
    for (const result of results) expect([200, 403]).toContain(result.status);
    expect(await stack.gateway.redis.zcard(`${stack.keyPrefix}ps:${id}`)).toBe(0);
    console.info(`suspension race: ${results.filter((r) => r.status === 200).length} logins answered before, ${results.filter((r) => r.status === 403).length} refused`);

    expectProblem(await stack.login(person, APP_B), 403, 'user_suspended');
    expect((await admin(`admin/people/${id}/suspension`, 'DELETE')).body.person.suspension).toBeNull();
    expect((await stack.login(person, APP_B)).status).toBe(200);
    expectProblem(await admin(`admin/people/${id}/suspension`, 'DELETE'), 404, 'person_not_found');
  });

  it('a suspension with an end lets logins back in once it passes', async () => {
    const person = stack.person();
    const { id } = await loggedIn(person);
    expectProblem(await admin(`admin/people/${id}/suspend`, 'POST', { reason: 'x', until: '2020-01-01T00:00:00Z' }), 400, 'invalid_request');
    const until = new Date(Date.now() + 1500).toISOString();
    expect((await admin(`admin/people/${id}/suspend`, 'POST', { reason: 'cool down', until })).body.person.suspension.until).toBe(until);
    expectProblem(await stack.login(person), 403, 'user_suspended');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await stack.login(person)).status).toBe(200);
  });

  it('ends every session of a person at once', async () => {
    const person = stack.person();
    const sessions = [await loggedIn(person, APP_A), await loggedIn(person, APP_B)];
    const ended = await admin(`admin/people/${sessions[0]!.id}/logout`, 'POST');
    expect(ended.body).toMatchObject({ ended: 2, person: { id: sessions[0]!.id, sessions: [] } });
    for (const { token } of sessions) expect((await me(token)).status).toBe(401);
    expect((await stack.login(person)).status).toBe(200);
    expectProblem(await admin(`admin/people/${crypto.randomUUID()}/logout`, 'POST'), 404, 'person_not_found');
  });
});

describe('account deletion (注销)', () => {
  it('by the person: confirmed, every session ends, a later login is a new person who cannot claim the gift again', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    expect((await stack.call('claims', 'POST', { token: inA.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);

    expectProblem(await stack.call('me', 'DELETE', { token: inA.token, json: {} }), 400, 'invalid_request');
    expectProblem(await stack.call('me', 'DELETE', { token: inA.token, json: { confirm: 'yes' } }), 400, 'invalid_request');
    expect((await stack.call('me', 'DELETE', { token: inA.token, json: { confirm: 'delete' } })).status).toBe(204);
    for (const { token } of [inA, inB]) expect((await me(token)).status).toBe(401);

    const [row] = await query<Record<string, unknown>>('select unionid, phone_pure_number, deleted_at from people where id = $1', [inA.id]);
    expect(row).toMatchObject({ unionid: null, phone_pure_number: null, deleted_at: expect.any(Date) });
    expect(await query('select 1 from accounts where person_id = $1', [inA.id])).toEqual([]);

    const again = await stack.login(person, APP_B);
    expect(again.body.user).toEqual({ id: expect.any(String), isNew: true });
    expect(again.body.user.id).not.toBe(inA.id);
    const claim = await stack.call('claims', 'POST', { token: again.body.token, json: { benefit: 'welcome-gift' } });
    expectProblem(claim, 409, 'already_claimed');
    expect(claim.body.appid).toBeNull();
  });

  it('by an operator: the search finds nothing afterwards; an app without unionid is recognised by its account', async () => {
    const person = stack.person();
    const { id, token } = await loggedIn(person, APP_C);
    expect((await stack.call('claims', 'POST', { token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
    expect((await admin(`admin/people/${id}`, 'DELETE')).status).toBe(204);
    expectProblem(await admin(`admin/people/${id}`, 'DELETE'), 404, 'person_not_found');
    const { openid } = stack.wechat.identityOf(APP_C, person);
    expectProblem(await search({ appid: APP_C, openid }), 404, 'person_not_found');
    expectProblem(await search({ id }), 404, 'person_not_found');
    const again = await loggedIn(person, APP_C);
    expectProblem(await stack.call('claims', 'POST', { token: again.token, json: { benefit: 'welcome-gift' } }), 409, 'already_claimed');
  });
});

describe('the audit trail', () => {
  it('records a full story: two apps, a merge, a claim, a phone, a suspension, a deletion', async () => {
    const person = stack.person();
    // D starts unbound: its account is a person of its own until D brings the unionid.
    const survivor = await loggedIn(person, APP_D);
    const inA = await loggedIn(person, APP_A);
    await loggedIn(person, APP_B);
    await stack.call('claims', 'POST', { token: inA.token, json: { benefit: 'welcome-gift' } });
    await stack.call('phone', 'POST', { token: inA.token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: '13600002222' }) } });
    stack.wechat.bindOpenPlatform(APP_D);
    expect((await loggedIn(person, APP_D)).id).toBe(survivor.id);
    const { merges } = (await admin(`admin/people/${survivor.id}`)).body.person;
    expect(merges).toEqual([
      {
        foldedPersonId: inA.id,
        survivorPersonId: survivor.id,
        appid: APP_D,
        openid: stack.wechat.identityOf(APP_D, person).openid,
        mergedAt: expect.any(String),
        movedAccounts: [APP_A, APP_B].map((appid) => ({ appid, openid: stack.wechat.identityOf(appid, person).openid, kind: 'miniprogram', linkedAt: expect.any(String) })),
        droppedClaims: [],
      },
    ]);
    await admin(`admin/people/${survivor.id}/suspend`, 'POST', { reason: 'test' });
    await admin(`admin/people/${survivor.id}/suspension`, 'DELETE');
    await admin(`admin/people/${survivor.id}/logout`, 'POST');
    const again = await loggedIn(person, APP_A);
    await stack.call('me', 'DELETE', { token: again.token, json: { confirm: 'delete' } });

    // The survivor's trail includes the person folded into it.
    const trail = (await admin(`admin/events?person=${survivor.id}`)).body;
    // kind, actor, app, and whose: the survivor's own (S) or the folded person's (F).
    const story = trail.events.map((event: { kind: string; actor: string; appid: string | null; personId: string }) =>
      [event.kind, event.actor, event.appid ?? '-', event.personId === survivor.id ? 'S' : 'F'].join(' '),
    );
    expect(story).toEqual([
      `first_login self ${APP_D} S`,
      `first_login self ${APP_A} F`,
      `login self ${APP_B} F`,
      `benefit_claimed self ${APP_A} F`,
      'phone_bound self - F',
      `merge system ${APP_D} S`,
      `login self ${APP_D} S`,
      'person_viewed admin:alice - S',
      'suspended admin:alice - S',
      'suspension_lifted admin:alice - S',
      'sessions_revoked admin:alice - S',
      `login self ${APP_A} S`,
      'deleted self - S',
    ]);
    expect(trail.events[5].details).toEqual({ folded: inA.id, droppedClaims: 0 });
    expect(trail.events[7].details).toEqual({ by: 'id' });
    const text = JSON.stringify(trail);
    for (const secret of ['13600002222', stack.wechat.identityOf(APP_A, person).openid, stack.wechat.identityOf(APP_A, person).unionid!]) {
      expect(text).not.toContain(secret);
    }
  });

  it('pages with a cursor, each event once, and filters by kind', async () => {
    const person = stack.person();
    const { id } = await loggedIn(person, APP_A);
    for (let i = 0; i < 4; i++) await loggedIn(person, APP_A);
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const page = (await admin(`admin/events?person=${id}&limit=2${after && `&after=${after}`}`)).body;
      expect(page.events.length).toBeLessThanOrEqual(2);
      seen.push(...page.events.map((event: { id: string }) => event.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => a - b));
    const firsts = (await admin(`admin/events?person=${id}&kind=first_login`)).body;
    expect(firsts).toEqual({ events: [expect.objectContaining({ kind: 'first_login', personId: id })], next: null });
    expectProblem(await admin('admin/events?after=abc'), 400, 'invalid_request');
    expectProblem(await admin('admin/events?limit=0'), 400, 'invalid_request');
  });

  it('prunes events past the retention on the cron\'s secret or an admin key, and no other', async () => {
    const { id } = await loggedIn(stack.person());
    await query(`insert into events (person_id, kind, actor, at) values ($1, 'login', 'self', now() - interval '181 days')`, [id]);
    const cron = await stack.call('cron/prune-events', 'GET', { headers: bearer(CRON_SECRET) });
    expect(cron.status).toBe(200);
    expect(cron.body).toMatchObject({ pruned: expect.any(Number), done: true });
    expect(cron.body.pruned).toBeGreaterThanOrEqual(1);
    expect(await query(`select 1 from events where at < now() - interval '180 days'`)).toEqual([]);
    expect((await stack.call('cron/prune-events', 'GET', { headers: bearer(ADMIN_KEY) })).status).toBe(200);
    expectProblem(await stack.call('cron/prune-events', 'GET', { headers: bearer(SERVICE_KEY) }), 401, 'unauthorized');
  });
});
