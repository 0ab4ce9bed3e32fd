// 微信云托管 identity mode (WXCLOUDRUN_IDENTITY_ENV set): a login is the person WeChat's gateway
// names in the X-WX-* headers of wx.cloud.callContainer traffic, with no code2Session; anything
// else (a forged request without X-WX-SOURCE, another environment, no user named) is refused.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSessionKey, requireSession } from '../lib/sessions/tokens.js';
import { newRequestContext } from '../lib/platform/request-context.js';
import { ownApp } from './support/miniprogram-backend.js';
import { startStack, type Stack } from './support/stack.js';

const ENV = 'prod-9gk2x4a1b2c3d4';
// Own apps: the phone test below caches an access_token per appid in the shared Redis.
const [OWNER, SIBLING] = [ownApp(), ownApp()];
const SESSION_CODE = '/sns/jscode2session';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ apps: [OWNER, SIBLING], env: { WXCLOUDRUN_IDENTITY_ENV: ENV } });
});
afterAll(() => stack.close());
beforeEach(() => stack.wechat.resetCounts());

/** The headers WeChat's gateway sets for `person` calling from `appid` (资源复用 when it is not the owner). */
function gateway(person: string, appid = OWNER.appid): Record<string, string> {
  const { openid, unionid } = stack.wechat.identityOf(appid, person);
  const caller = appid === OWNER.appid ? 'x-wx-' : 'x-wx-from-';
  return {
    'x-wx-source': 'wx_client',
    'x-wx-env': ENV,
    'x-wx-appid': OWNER.appid,
    [`${caller}appid`]: appid,
    [`${caller}openid`]: openid,
    ...(unionid ? { [`${caller}unionid`]: unionid } : {}),
  };
}

/** What the kit sends: a wx.login code it does not know the server will leave unused. */
const body = (appid?: string) => ({ code: randomBytes(16).toString('hex'), ...(appid ? { appid } : {}) });
const loginVia = (headers: Record<string, string>, json: object = body()) => stack.call('login', 'POST', { json, headers });

describe('accepted: X-WX-SOURCE present and X-WX-ENV ours', () => {
  it('logs the person in from the headers, with no code2Session round trip', async () => {
    const person = stack.person();
    const login = await loginVia(gateway(person), body(OWNER.appid));
    expect(login.status).toBe(200);
    expect(login.body.user).toEqual({ id: expect.any(String), isNew: true });
    expect(stack.wechat.callsTo(SESSION_CODE)).toBe(0);

    const me = await stack.call('me', 'GET', { token: login.body.token });
    expect(me.body.user).toMatchObject({ appid: OWNER.appid, ...stack.wechat.identityOf(OWNER.appid, person) });
  });

  it('资源复用: the FROM headers name the calling mini program and its user, one person across both by unionid', async () => {
    const person = stack.person();
    const first = await loginVia(gateway(person));
    const reused = await loginVia(gateway(person, SIBLING.appid));
    expect(reused.status).toBe(200);
    expect(reused.body.user).toEqual({ id: first.body.user.id, isNew: false });
    const me = await stack.call('me', 'GET', { token: reused.body.token });
    expect(me.body.user).toMatchObject({ appid: SIBLING.appid, openid: stack.wechat.identityOf(SIBLING.appid, person).openid });
    expect(me.body.user.accounts.map((account: { appid: string }) => account.appid).sort()).toEqual([OWNER.appid, SIBLING.appid].sort());
    expect(stack.wechat.callsTo(SESSION_CODE)).toBe(0);
  });

  it('the session has no session_key (nothing to decrypt with), and phone binding still works: it needs only the access_token', async () => {
    const login = await loginVia(gateway(stack.person()));
    const { session } = await requireSession(login.body.token, newRequestContext('test', Date.now() + 5000));
    expect(openSessionKey(session)).toBeNull();

    const bound = await stack.call('phone', 'POST', { token: login.body.token, json: { code: stack.wechat.issuePhoneCode(OWNER.appid) } });
    expect(bound.status).toBe(200);
    expect(stack.wechat.billedPhoneNumbers()).toBe(1);
  });
});

describe('refused: 403 gateway_identity_required, nothing asked of WeChat', () => {
  const forged = (person: string, drop: string[], change: Record<string, string> = {}) => {
    const headers = { ...gateway(person), ...change };
    for (const name of drop) delete headers[name];
    return headers;
  };

  it.each([
    ['forged from the internet: every header but X-WX-SOURCE', ['x-wx-source'], {}],
    ['no X-WX-ENV', ['x-wx-env'], {}],
    ['another environment', [], { 'x-wx-env': 'test-0a1b2c3d4e5f' }],
    ['X-WX-SOURCE empty', [], { 'x-wx-source': '' }],
    ['no user named (a 公众号 page not logged in)', ['x-wx-openid', 'x-wx-unionid'], {}],
    ['资源复用 without its FROM user: X-WX-OPENID is not used instead', [], { 'x-wx-from-appid': SIBLING.appid }],
    ['an openid that is no WeChat id', [], { 'x-wx-openid': 'o1, o2' }],
  ])('%s', async (_, drop, change) => {
    const person = stack.person();
    const refused = await loginVia(forged(person, drop, change));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('gateway_identity_required');
    expect(stack.wechat.requestCount()).toBe(0);
    // Nothing was recorded: the first real login of this person is their first.
    expect((await loginVia(gateway(person))).body.user.isNew).toBe(true);
  });

  it('a plain code login (no gateway headers) is refused too, its code never exchanged', async () => {
    const person = stack.person();
    const refused = await stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(OWNER.appid, person), appid: OWNER.appid } });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('gateway_identity_required');
    expect(stack.wechat.requestCount()).toBe(0);
  });
});

describe('what the gateway names must agree with the body and the configuration', () => {
  it('a body appid other than the gateway\'s: 400 invalid_request', async () => {
    const refused = await loginVia(gateway(stack.person()), body(SIBLING.appid));
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('invalid_request');
  });

  it('a mini program this server does not serve: 400 unknown_app', async () => {
    const headers = { ...gateway(stack.person()), 'x-wx-appid': 'wx0000000000000000' };
    const refused = await loginVia(headers);
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('unknown_app');
  });
});
