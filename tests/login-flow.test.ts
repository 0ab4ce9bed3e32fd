import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessLog, APP_A, APP_B, APP_C, defaultApps, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());

describe('login → me → logout', () => {
  it('logs in, shows the session, logs out, and the token is then refused', async () => {
    const person = stack.person();
    const login = await stack.login(person, APP_A);
    expect(login.status).toBe(200);
    expect(login.headers.get('cache-control')).toBe('no-store');
    expect(login.headers.get('x-request-id')).toMatch(/\S/);
    const { token, expiresAt, user } = login.body;
    expect(Object.keys(login.body).sort()).toEqual(['expiresAt', 'token', 'user']);
    expect(token).toMatch(/^wxl_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(29 * 24 * 3600_000);
    expect(user).toEqual({ id: expect.any(String), isNew: true });

    const me = await stack.call('me', 'GET', { token });
    const identity = stack.wechat.identityOf(APP_A, person);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: {
        id: user.id,
        appid: APP_A,
        openid: identity.openid,
        unionid: identity.unionid,
        createdAt: expect.any(String),
        phone: null,
        accounts: [{ appid: APP_A, openid: identity.openid, kind: 'miniprogram', linkedAt: me.body.user.createdAt }],
        nickname: null,
        avatarUrl: null,
        channel: 'miniprogram',
      },
    });
    expect(Math.abs(Date.parse(me.body.user.createdAt) - Date.now())).toBeLessThan(60_000);

    const logout = await stack.call('logout', 'POST', { token });
    expect(logout.status).toBe(204);
    expect(logout.body).toBeUndefined();

    const after = await stack.call('me', 'GET', { token });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('unauthorized');
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await stack.call('logout', 'POST', { token })).status).toBe(401);
  });

  it('gives a new token on every login, each valid on its own', async () => {
    const person = stack.person();
    const first = await stack.login(person);
    const second = await stack.login(person);
    expect(second.body.token).not.toBe(first.body.token);
    expect(second.body.user).toEqual({ id: first.body.user.id, isNew: false });
    expect((await stack.call('logout', 'POST', { token: first.body.token })).status).toBe(204);
    expect((await stack.call('me', 'GET', { token: second.body.token })).status).toBe(200);
  });

  it('logout with {"all": true} ends every session of the person, in every mini program', async () => {
    const person = stack.person();
    const a1 = await stack.login(person, APP_A);
    const a2 = await stack.login(person, APP_A);
    const b1 = await stack.login(person, APP_B);
    const other = await stack.login(stack.person(), APP_A);
    expect(b1.body.user.id).toBe(a1.body.user.id);

    const logout = await stack.call('logout', 'POST', { token: a2.body.token, json: { all: true } });
    expect(logout.status).toBe(204);
    for (const session of [a1, a2, b1]) {
      expect((await stack.call('me', 'GET', { token: session.body.token })).status).toBe(401);
    }
    expect((await stack.call('me', 'GET', { token: other.body.token })).status).toBe(200);
    // Logging in again afterwards works and is not a new person.
    const again = await stack.login(person, APP_B);
    expect(again.body.user).toEqual({ id: a1.body.user.id, isNew: false });
  });
});

describe('one person across mini programs', () => {
  it('is one user across apps bound to one Open Platform account; isNew only the first time', async () => {
    const person = stack.person();
    const inA = await stack.login(person, APP_A);
    const inB = await stack.login(person, APP_B);
    expect(inA.body.user.isNew).toBe(true);
    expect(inB.body.user).toEqual({ id: inA.body.user.id, isNew: false });
    const meB = await stack.call('me', 'GET', { token: inB.body.token });
    expect(meB.body.user.appid).toBe(APP_B);
    expect(meB.body.user.openid).toBe(stack.wechat.identityOf(APP_B, person).openid);
    expect(meB.body.user.openid).not.toBe(stack.wechat.identityOf(APP_A, person).openid);
    expect(meB.body.user.unionid).toBe(stack.wechat.identityOf(APP_A, person).unionid);
  });

  it('keeps people of an app without UnionID apart, with unionid null', async () => {
    const person = stack.person();
    const inC = await stack.login(person, APP_C);
    const inA = await stack.login(person, APP_A);
    expect(inC.body.user.isNew).toBe(true);
    expect(inA.body.user.isNew).toBe(true);
    expect(inA.body.user.id).not.toBe(inC.body.user.id);
    const me = await stack.call('me', 'GET', { token: inC.body.token });
    expect(me.body.user.unionid).toBeNull();
  });
});

describe('which mini program a code belongs to', () => {
  it('takes the appid from the Referer WeChat sets when the body has none', async () => {
    const person = stack.person();
    const code = stack.wechat.issueCode(APP_B, person);
    const login = await stack.call('login', 'POST', {
      json: { code },
      headers: { referer: `https://servicewechat.com/${APP_B}/12/page-frame.html` },
    });
    expect(login.status).toBe(200);
    const me = await stack.call('me', 'GET', { token: login.body.token });
    expect(me.body.user.appid).toBe(APP_B);
  });

  it('prefers the body appid over the Referer', async () => {
    const person = stack.person();
    const login = await stack.call('login', 'POST', {
      json: { code: stack.wechat.issueCode(APP_A, person), appid: APP_A },
      headers: { referer: `https://servicewechat.com/${APP_B}/12/page-frame.html` },
    });
    expect(login.status).toBe(200);
    expect((await stack.call('me', 'GET', { token: login.body.token })).body.user.appid).toBe(APP_A);
  });

  it('refuses to guess among several apps, and refuses apps it does not serve', async () => {
    const noApp = await stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(APP_A, 'x') } });
    expect(noApp.status).toBe(400);
    expect(noApp.body.code).toBe('unknown_app');
    const unknown = await stack.call('login', 'POST', { json: { code: 'abc', appid: 'wx1111111111111111' } });
    expect(unknown.body.code).toBe('unknown_app');
    const unknownReferer = await stack.call('login', 'POST', {
      json: { code: 'abc' },
      headers: { referer: 'https://servicewechat.com/wx9999999999999999/1/page-frame.html' },
    });
    expect(unknownReferer.body.code).toBe('unknown_app');
  });
});

describe('access log', () => {
  it('writes one JSON line per request, with no code, token, secret or connection string', async () => {
    const before = accessLog.length;
    const code = stack.wechat.issueCode(APP_A, stack.person());
    const login = await stack.call('login', 'POST', { json: { code, appid: APP_A } });
    const { token } = login.body;
    await stack.call('me', 'GET', { token });
    await stack.call('logout', 'POST', { token, json: { all: true } });
    await stack.call('me', 'GET', { token });
    const lines = accessLog.slice(before);
    expect(lines).toHaveLength(4);
    const entries = lines.map((line) => JSON.parse(line));
    expect(entries.map((entry) => [entry.route, entry.status])).toEqual([
      ['/api/login', 200],
      ['/api/me', 200],
      ['/api/logout', 204],
      ['/api/me', 401],
    ]);
    expect(entries[0]).toMatchObject({ requestId: login.headers.get('x-request-id'), appid: APP_A, personId: login.body.user.id });
    const text = accessLog.join('');
    for (const secret of [code, token, token.slice(4), ...defaultApps().map((app) => app.secret), process.env.DATABASE_URL!]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });
});
