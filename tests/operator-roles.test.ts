// Operators' roles against the real stack: each role tried on every operator endpoint of the
// contract (allowed or 403 forbidden), and the audit trail and access log naming who looked whom up,
// with which role and why, never the handle they used nor the key.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spec, METHODS } from './support/contract.js';
import { accessLog, APP_A, APP_B, startStack, type CallResult, type Stack } from './support/stack.js';

const KEYS = {
  viewer: `viewer-${randomBytes(24).toString('base64url')}`,
  support: `support-${randomBytes(24).toString('base64url')}`,
  admin: `admin-${randomBytes(24).toString('base64url')}`,
};
type Role = keyof typeof KEYS;
const NAMES: Record<Role, string> = { viewer: 'zhao', support: 'wang', admin: 'li' };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      // The admin as before roles (name:key), the others with theirs.
      ADMIN_KEYS: `zhao:viewer:${KEYS.viewer},wang:support:${KEYS.support},li:${KEYS.admin}`,
      WECHAT_APP_NAMES: `${APP_A}:会员商城`,
    },
  });
});
afterAll(() => stack.close());

const as = (role: Role, path: string, method = 'GET', json?: unknown) => stack.call(path, method, { headers: { authorization: `Bearer ${KEYS[role]}` }, json });

async function loggedIn(person: string, appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { token: login.body.token as string, id: login.body.user.id as string };
}

/** Every operator call, with the least role it needs; person ids name nobody, so nothing is harmed. */
const nobody = crypto.randomUUID();
const CALLS: { operation: string; path: string; needs: Role; json?: unknown }[] = [
  { operation: 'GET /api/admin/me', path: 'admin/me', needs: 'viewer' },
  { operation: 'POST /api/admin/people/search', path: 'admin/people/search', needs: 'viewer', json: { unionid: 'u-nobody' } },
  { operation: 'GET /api/admin/people/{id}', path: `admin/people/${nobody}`, needs: 'viewer' },
  { operation: 'POST /api/admin/people/{id}/reveal', path: `admin/people/${nobody}/reveal`, needs: 'support', json: { purpose: 'T-1' } },
  { operation: 'POST /api/admin/people/{id}/suspend', path: `admin/people/${nobody}/suspend`, needs: 'support', json: { reason: 'T-1' } },
  { operation: 'DELETE /api/admin/people/{id}/suspension', path: `admin/people/${nobody}/suspension`, needs: 'support' },
  { operation: 'POST /api/admin/people/{id}/logout', path: `admin/people/${nobody}/logout`, needs: 'support' },
  { operation: 'DELETE /api/admin/people/{id}/sessions/{handle}', path: `admin/people/${nobody}/sessions/h`, needs: 'support' },
  { operation: 'POST /api/admin/people/{id}/export', path: `admin/people/${nobody}/export`, needs: 'support', json: { purpose: 'T-1' } },
  { operation: 'DELETE /api/admin/people/{id}', path: `admin/people/${nobody}`, needs: 'admin' },
  { operation: 'GET /api/admin/events', path: 'admin/events?limit=1', needs: 'viewer' },
  { operation: 'GET /api/admin/benefits', path: 'admin/benefits', needs: 'viewer' },
  { operation: 'PUT /api/admin/benefits/{key}', path: 'admin/benefits/role-test', needs: 'admin', json: { title: { zh: '测试', en: 'Test' }, active: false } },
  { operation: 'GET /api/cron/prune-events', path: 'cron/prune-events', needs: 'admin' },
];
const ORDER: Role[] = ['viewer', 'support', 'admin'];

describe('roles', () => {
  it('the table covers every operation an operator key opens', () => {
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]?.security?.some((requirement) => 'adminKey' in requirement)).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(CALLS.map((call) => call.operation).sort()).toEqual(operations.sort());
  });

  it.each(ORDER)('%s: allowed what the role allows, 403 forbidden beyond it', async (role) => {
    const outcomes: string[] = [];
    for (const call of CALLS) {
      const method = call.operation.split(' ')[0]!;
      const result: CallResult = await as(role, call.path, method, call.json);
      const allowed = ORDER.indexOf(role) >= ORDER.indexOf(call.needs);
      if (allowed) {
        expect([401, 403], `${role} ${call.operation}: ${result.status} ${result.body?.code}`).not.toContain(result.status);
      } else {
        expect([result.status, result.body?.code], `${role} ${call.operation}`).toEqual([403, 'forbidden']);
        expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
      outcomes.push(`${call.operation} ${allowed ? 'allowed' : 'forbidden'}`);
    }
    expect(outcomes.filter((outcome) => outcome.endsWith('forbidden')).length).toBe(CALLS.filter((call) => ORDER.indexOf(role) < ORDER.indexOf(call.needs)).length);
  });

  it('says who the key belongs to, its role, and the mini programs by name', async () => {
    const me = await as('support', 'admin/me');
    expect(me.body).toEqual({
      name: 'wang',
      role: 'support',
      apps: expect.arrayContaining([
        { appid: APP_A, name: '会员商城' },
        { appid: APP_B, name: null },
      ]),
    });
  });
});

describe('every look-up audited', () => {
  it('a viewer\'s look-up and a support reveal are in the trail with actor, role and purpose, never the handle or the key', async () => {
    const person = stack.person();
    const { token, id } = await loggedIn(person);
    const number = `137${String(randomBytes(4).readUInt32BE() % 1e8).padStart(8, '0')}`;
    await stack.call('phone', 'POST', { token, json: { code: stack.wechat.issuePhoneCode(APP_A, { purePhoneNumber: number }) } });
    const { openid, unionid } = stack.wechat.identityOf(APP_A, person);
    const logFrom = accessLog.length;

    const viewed = await as('viewer', 'admin/people/search', 'POST', { phone: number });
    expect(viewed.body.person.phone).toBe(`${number.slice(0, 3)}****${number.slice(7)}`);
    expect((await as('viewer', 'admin/people/search', 'POST', { unionid })).status).toBe(200);
    expect((await as('viewer', 'admin/people/search', 'POST', { appid: APP_A, openid })).status).toBe(200);
    expect([(await as('viewer', `admin/people/${id}/reveal`, 'POST', { purpose: 'T-1' })).status]).toEqual([403]);
    const revealed = await as('support', `admin/people/${id}/reveal`, 'POST', { purpose: '工单 T-2048 用户来电核实' });
    expect(revealed.body.person.phone).toBe(number);

    const trail = await as('viewer', `admin/events?person=${id}&order=desc`);
    const operatorEvents = trail.body.events.filter((event: { actor: string }) => event.actor !== 'self');
    expect(operatorEvents.map(({ kind, actor, details }: { kind: string; actor: string; details: unknown }) => ({ kind, actor, details }))).toEqual([
      { kind: 'phone_revealed', actor: 'support:wang', details: { purpose: '工单 T-2048 用户来电核实' } },
      { kind: 'person_viewed', actor: 'viewer:zhao', details: { by: 'account' } },
      { kind: 'person_viewed', actor: 'viewer:zhao', details: { by: 'unionid' } },
      { kind: 'person_viewed', actor: 'viewer:zhao', details: { by: 'phone' } },
    ]);
    const text = JSON.stringify(trail.body);
    for (const handle of [number, openid, unionid!]) expect(text).not.toContain(handle);

    // The access log names the operator and the role; no handle, no key.
    const lines = accessLog.slice(logFrom).map((line) => JSON.parse(line) as Record<string, unknown>);
    const searches = lines.filter((line) => line.route === '/api/admin/people/search');
    expect(searches.map((line) => [line.actor, line.role, line.status])).toEqual([
      ['viewer:zhao', 'viewer', 200],
      ['viewer:zhao', 'viewer', 200],
      ['viewer:zhao', 'viewer', 200],
    ]);
    expect(lines.find((line) => line.route === '/api/admin/people/[id]/reveal' && line.status === 403)).toMatchObject({ actor: 'viewer:zhao', role: 'viewer', code: 'forbidden' });
    const logged = accessLog.slice(logFrom).join('\n');
    for (const secret of [number, openid, unionid!, ...Object.values(KEYS)]) expect(logged).not.toContain(secret);
  });

  it('the trail filters by operator, kind and time, newest first, a page at a time', async () => {
    const { id } = await loggedIn(stack.person());
    const from = new Date().toISOString();
    for (let i = 0; i < 3; i++) expect((await as('viewer', `admin/people/${id}`)).status).toBe(200);
    await as('support', `admin/people/${id}/suspend`, 'POST', { reason: 'T-3' });
    const mine = await as('admin', `admin/events?operator=zhao&person=${id}&order=desc&limit=2&from=${encodeURIComponent(from)}`);
    expect(mine.body.events.map((event: { kind: string; actor: string }) => `${event.kind} ${event.actor}`)).toEqual(['person_viewed viewer:zhao', 'person_viewed viewer:zhao']);
    const rest = await as('admin', `admin/events?operator=zhao&person=${id}&order=desc&limit=2&after=${mine.body.next}`);
    expect(rest.body).toEqual({ events: [expect.objectContaining({ kind: 'person_viewed', actor: 'viewer:zhao' })], next: null });
    expect(Number(rest.body.events[0].id)).toBeLessThan(Number(mine.body.events[1].id));
    const suspensions = await as('viewer', `admin/events?kind=suspended&operator=wang&person=${id}`);
    expect(suspensions.body.events).toEqual([expect.objectContaining({ kind: 'suspended', actor: 'support:wang', details: { reason: 'T-3', until: null } })]);
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await as('viewer', `admin/events?person=${id}&from=${encodeURIComponent(future)}`)).body).toEqual({ events: [], next: null });
    expect((await as('viewer', `admin/events?person=${id}&to=${encodeURIComponent(from)}`)).body.events.map((event: { kind: string }) => event.kind)).toEqual(['first_login']);
  });

  it('support ends one session and leaves the others; the trail says by whom', async () => {
    const person = stack.person();
    const inA = await loggedIn(person, APP_A);
    const inB = await loggedIn(person, APP_B);
    const { sessions } = (await as('support', `admin/people/${inA.id}`)).body.person;
    const inBHandle = sessions.find((session: { appid: string }) => session.appid === APP_B).handle;
    const ended = await as('support', `admin/people/${inA.id}/sessions/${inBHandle}`, 'DELETE');
    expect(ended.body.person.sessions.map((session: { appid: string }) => session.appid)).toEqual([APP_A]);
    expect((await stack.call('me', 'GET', { token: inB.token })).status).toBe(401);
    expect((await stack.call('me', 'GET', { token: inA.token })).status).toBe(200);
    expect((await as('support', `admin/people/${inA.id}/sessions/${inBHandle}`, 'DELETE')).body.code).toBe('session_not_found');
    expect(ended.body.person.events[0]).toMatchObject({ kind: 'sessions_revoked', actor: 'support:wang', details: { ended: 1 } });
  });
});
