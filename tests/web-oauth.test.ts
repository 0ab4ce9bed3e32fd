// 公众号 网页授权 and 网站应用 sign-in end to end: our redirect, WeChat's page (the fake, checking
// the parameter order), the callback with this browser's state cookie, the one-time code, and the
// site's backend exchanging it; one person across website and mini program, merges included.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { APP_A, APP_C, defaultApps, startStack, type Stack } from './support/stack.js';

const MP = 'wxm0000000000000m1';
const SITE_APP = 'wxw0000000000000w1';
const MP_UNBOUND = 'wxu0000000000000u1';
const SERVICE_KEY = randomBytes(32).toString('base64url');
const RETURN = 'https://www.example.com/after-login';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps: [
      ...defaultApps(),
      { appid: MP, secret: 'secret-mp-0123456789', openPlatform: true, kind: 'mp' },
      { appid: SITE_APP, secret: 'secret-web-0123456789', openPlatform: true, kind: 'website' },
      { appid: MP_UNBOUND, secret: 'secret-mpu-0123456789', openPlatform: false, kind: 'mp' },
    ],
    env: {
      SERVICE_KEYS: `site:${SERVICE_KEY}`,
      PUBLIC_BASE_URL: 'https://login.example.com',
      WEB_REDIRECTS: `${MP}:${RETURN},${SITE_APP}:${RETURN}|https://www.example.com/other,${MP_UNBOUND}:${RETURN}`,
    },
  });
  process.env.WECHAT_OPEN_BASE = stack.wechat.url;
});
afterAll(() => stack.close());

/** The browser's trip: our redirect → WeChat's page → our callback (with the cookie it was given). */
async function signIn(appid: string, { scope, cookie }: { scope?: string; cookie?: (given: string) => string } = {}) {
  const start = await stack.call(`web/oauth/authorize?appid=${appid}&returnTo=${encodeURIComponent(RETURN)}${scope ? `&scope=${scope}` : ''}`, 'GET');
  expect(start.status).toBe(302);
  const location = start.headers.get('location')!;
  const given = /^__Host-wxl_state=([0-9a-f]{48});/.exec(start.headers.get('set-cookie')!)![1]!;
  const page = await fetch(location.replace(/#wechat_redirect$/, ''), { redirect: 'manual' });
  expect(page.status).toBe(302);
  const back = new URL(page.headers.get('location')!);
  expect(back.origin + back.pathname).toBe('https://login.example.com/api/web/oauth/callback');
  const done = await stack.call(`web/oauth/callback${back.search}`, 'GET', { headers: { cookie: `other=1; __Host-wxl_state=${cookie ? cookie(given) : given}` } });
  const replay = () => stack.call(`web/oauth/callback${back.search}`, 'GET', { headers: { cookie: `__Host-wxl_state=${given}` } });
  return { location, done, replay, landed: done.status === 302 ? new URL(done.headers.get('location')!) : null };
}

const exchange = (code: string) => stack.call('web/exchange', 'POST', { json: { code }, headers: { authorization: `Bearer ${SERVICE_KEY}` } });

describe('公众号 and 网站应用 sign-in', () => {
  it('网站应用: qrconnect in WeChat\'s parameter order, then a web session of the person the mini program knows', async () => {
    const person = stack.person('web');
    const inApp = (await stack.login(person, APP_A)).body;
    stack.wechat.signInAs(person);
    const { location, landed } = await signIn(SITE_APP);
    expect(location).toMatch(
      new RegExp(`/connect/qrconnect\\?appid=${SITE_APP}&redirect_uri=https%3A%2F%2Flogin\\.example\\.com%2Fapi%2Fweb%2Foauth%2Fcallback&response_type=code&scope=snsapi_login&state=[0-9a-f]{48}#wechat_redirect$`),
    );
    expect(landed!.origin + landed!.pathname).toBe(RETURN);
    const web = await exchange(landed!.searchParams.get('code')!);
    expect(web.body.user.id).toBe(inApp.user.id);
    const me = (await stack.call('me', 'GET', { token: web.body.token })).body.user;
    expect(me).toMatchObject({ appid: SITE_APP, channel: 'web' });
    expect(me.accounts.map((account: { kind: string }) => account.kind).sort()).toEqual(['miniprogram', 'website']);
  });

  it('网站应用 inside the page (wxLogin.js): its options, the same state cookie, the whole page sent back to our callback', async () => {
    const person = stack.person('embedded');
    const inApp = (await stack.login(person, APP_A)).body;
    stack.wechat.signInAs(person);
    const start = await stack.call(`web/oauth/embed?appid=${SITE_APP}&returnTo=${encodeURIComponent(RETURN)}`, 'GET');
    expect(start.status).toBe(200);
    const { wxLogin } = start.body;
    expect(wxLogin).toEqual({ self_redirect: false, appid: SITE_APP, scope: 'snsapi_login', redirect_uri: encodeURIComponent('https://login.example.com/api/web/oauth/callback'), state: expect.stringMatching(/^[0-9a-f]{48}$/) });
    expect(start.headers.get('set-cookie')).toBe(`__Host-wxl_state=${wxLogin.state}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`);
    // What wxLogin.js's iframe opens (qrconnect with these options); WeChat then sends the page back.
    const page = await fetch(`${stack.wechat.url}/connect/qrconnect?appid=${wxLogin.appid}&redirect_uri=${wxLogin.redirect_uri}&response_type=code&scope=${wxLogin.scope}&state=${wxLogin.state}`, { redirect: 'manual' });
    const back = new URL(page.headers.get('location')!);
    const done = await stack.call(`web/oauth/callback${back.search}`, 'GET', { headers: { cookie: `__Host-wxl_state=${wxLogin.state}` } });
    const landed = new URL(done.headers.get('location')!);
    expect(landed.origin + landed.pathname).toBe(RETURN);
    expect((await exchange(landed.searchParams.get('code')!)).body.user.id).toBe(inApp.user.id);
  });

  it('the embedded QR is for a 网站应用, and for an allow-listed return URL only', async () => {
    expect((await stack.call(`web/oauth/embed?appid=${MP}&returnTo=${encodeURIComponent(RETURN)}`, 'GET')).body.code).toBe('unknown_app');
    expect((await stack.call(`web/oauth/embed?appid=${SITE_APP}&returnTo=${encodeURIComponent('https://evil.example/x')}`, 'GET')).body.code).toBe('redirect_not_allowed');
  });

  it('a person first seen on the website and later in an unbound mini program becomes one when its unionid arrives (merge)', async () => {
    const person = stack.person('merge');
    stack.wechat.signInAs(person);
    const first = await exchange((await signIn(SITE_APP)).landed!.searchParams.get('code')!);
    const apart = (await stack.login(person, APP_C)).body.user.id;
    expect(apart).not.toBe(first.body.user.id);
    stack.wechat.bindOpenPlatform(APP_C);
    expect((await stack.login(person, APP_C)).body.user.id).toBe(first.body.user.id);
    const [merge] = await query<{ survivor_person_id: string }>('select survivor_person_id from merges where folded_person_id = $1', [apart]);
    expect(merge?.survivor_person_id).toBe(first.body.user.id);
    // The web session follows the survivor.
    expect((await stack.call('me', 'GET', { token: first.body.token })).body.user.id).toBe(first.body.user.id);
  });

  it('公众号: snsapi_base finds people it knows, asks the unknown for snsapi_userinfo, which brings the unionid', async () => {
    const person = stack.person('mp');
    stack.wechat.signInAs(person);
    const silent = await signIn(MP);
    expect(silent.location).toContain('/connect/oauth2/authorize?');
    expect(silent.location).toContain('&scope=snsapi_base&');
    expect(silent.landed!.searchParams.get('error')).toBe('userinfo_required');
    const tapped = await signIn(MP, { scope: 'userinfo' });
    expect(tapped.location).toContain('&scope=snsapi_userinfo&');
    const code = tapped.landed!.searchParams.get('code')!;
    const id = (await exchange(code)).body.user.id;
    expect((await exchange(code)).body.code).toBe('invalid_code');
    const again = await signIn(MP);
    expect((await exchange(again.landed!.searchParams.get('code')!)).body.user.id).toBe(id);
  });

  it('never creates or links anyone for a snapshot-page user', async () => {
    const person = stack.person('snap');
    stack.wechat.signInAs(person, { snapshot: true });
    const before = await query<{ n: string }>('select count(*) as n from accounts where appid = $1', [MP]);
    const { landed } = await signIn(MP, { scope: 'userinfo' });
    expect(landed!.searchParams.get('error')).toBe('snapshot_user');
    expect(await query<{ n: string }>('select count(*) as n from accounts where appid = $1', [MP])).toEqual(before);
  });

  it('fails closed when an app that should give a unionid does not', async () => {
    stack.wechat.signInAs(stack.person('unbound'));
    const { done } = await signIn(MP_UNBOUND, { scope: 'userinfo' });
    expect([done.status, done.body.code]).toEqual([500, 'server_misconfigured']);
    expect(done.body.detail).toMatch(/no unionid/);
  });

  it('refuses a state that is not this browser\'s, a used state, and a return URL off the allow-list', async () => {
    stack.wechat.signInAs(stack.person('csrf'));
    const forged = await signIn(SITE_APP, { cookie: () => 'f'.repeat(48) });
    expect([forged.done.status, forged.done.body.code]).toEqual([400, 'state_mismatch']);
    const none = await signIn(SITE_APP, { cookie: () => '' });
    expect(none.done.body.code).toBe('state_mismatch');
    const used = await signIn(SITE_APP);
    expect(used.done.status).toBe(302);
    expect((await used.replay()).body.code).toBe('state_mismatch');

    for (const returnTo of ['https://evil.example.net/', `${RETURN}/x`, `${RETURN}?next=https://evil.example.net`]) {
      const refused = await stack.call(`web/oauth/authorize?appid=${SITE_APP}&returnTo=${encodeURIComponent(returnTo)}`, 'GET');
      expect([refused.status, refused.body.code]).toEqual([400, 'redirect_not_allowed']);
    }
    const notWeb = await stack.call(`web/oauth/authorize?appid=${APP_A}&returnTo=${encodeURIComponent(RETURN)}`, 'GET');
    expect(notWeb.body.code).toBe('unknown_app');
  });
});
