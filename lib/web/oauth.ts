// 公众号 网页授权 and 网站应用 sign-in: the redirect to WeChat's page (state bound to this browser
// by a SameSite=Lax cookie), and the callback that turns WeChat's code into a person, unified by
// unionid as mini program logins are, then into a one-time code on an allow-listed return URL.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { config, ConfigError } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { QUERY_TIMEOUT_MS } from '../platform/postgres.js';
import { requireTimeFor, type RequestContext } from '../platform/request-context.js';
import { appOfKind } from '../people/login.js';
import { accountExists, recordLogin } from '../people/records.js';
import { authorizeUrl, oauthIdentity, type OAuthScope } from '../wechat/oauth.js';
import { CODE_LIFETIME_MS, digest, newCode, ticketStore } from './grants.js';

/** 网站应用 codes live 10 minutes (公众号 5): a sign-in may take that long. */
const STATE_LIFETIME_MS = 10 * 60_000;
/** __Host-: Secure, Path=/, no Domain: only this origin sets and reads it. */
export const STATE_COOKIE = '__Host-wxl_state';

export interface SignInStart {
  /** WeChat's page. */
  location: string;
  /** Goes into the state cookie. */
  state: string;
}

/** The options a page passes to WeChat's wxLogin.js (`new WxLogin({id, ...options, style, href})`). */
export interface EmbeddedSignIn {
  options: { self_redirect: false; appid: string; scope: 'snsapi_login'; redirect_uri: string; state: string };
  /** Goes into the state cookie. */
  state: string;
}

/** The Set-Cookie that binds a sign-in's state to this browser. */
export function stateCookie(state: string): string {
  // SameSite=Lax: WeChat's redirect back is a cross-site top-level GET, which Strict would strip.
  return `${STATE_COOKIE}=${state}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${STATE_LIFETIME_MS / 1000}`;
}

/**
 * Where to send the browser for a 公众号 (`mp`) or 网站应用 (`website`) sign-in. A 公众号 starts
 * with snsapi_base (silent, openid only); `userAction` (the person tapped 登录) asks for
 * snsapi_userinfo, which brings the unionid. `returnTo` must be on the app's allow-list, exactly.
 */
export async function startSignIn(appid: string, returnTo: string, userAction: boolean): Promise<SignInStart> {
  const app = webApp(appid);
  const scope: OAuthScope = app.kind === 'website' ? 'snsapi_login' : userAction ? 'snsapi_userinfo' : 'snsapi_base';
  const state = await saveState(app.appid, scope, returnTo);
  return { location: authorizeUrl(config().webLogin.openBase, app, callbackUrl(), scope, state), state };
}

/**
 * The same 网站应用 sign-in with the QR drawn inside the page by WeChat's wxLogin.js. The page
 * must be on this deployment's origin (the state cookie is first-party only), and WeChat must
 * redirect the whole page (self_redirect false): inside WeChat's iframe the cookie is not sent.
 */
export async function startEmbeddedSignIn(appid: string, returnTo: string): Promise<EmbeddedSignIn> {
  const app = appOfKind('website', appid);
  const state = await saveState(app.appid, 'snsapi_login', returnTo);
  // wxLogin.js takes redirect_uri URL-encoded, as WeChat's page documents it.
  return { options: { self_redirect: false, appid: app.appid, scope: 'snsapi_login', redirect_uri: encodeURIComponent(callbackUrl()), state }, state };
}

/** A fresh state for a sign-in to `returnTo`, which must be on the app's allow-list, exactly. */
async function saveState(appid: string, scope: OAuthScope, returnTo: string): Promise<string> {
  if (!config().webLogin.redirects.get(appid)?.has(returnTo)) throw new ApiError('redirect_not_allowed');
  // WeChat takes at most 128 characters of [A-Za-z0-9]: 192 bits in hex.
  const state = randomBytes(24).toString('hex');
  await ticketStore().saveState(state, { appid, scope, returnTo }, STATE_LIFETIME_MS);
  return state;
}

/**
 * WeChat sent the browser back. The state must be this browser's (its cookie) and unused. Answers
 * where to send the browser: the return URL with `code` (one-time, for the site's backend) or
 * `error` (access_denied, snapshot_user, userinfo_required, user_suspended).
 */
export async function finishSignIn(code: string | undefined, state: string, cookieState: string | null, context: RequestContext): Promise<string> {
  if (cookieState === null || !sameText(cookieState, state)) throw new ApiError('state_mismatch', { detail: 'This browser did not start this sign-in' });
  const started = await ticketStore().takeState(state);
  if (!started) throw new ApiError('state_mismatch', { detail: 'The sign-in expired or was finished already: start again' });
  const back = (name: 'code' | 'error', value: string) => {
    const url = new URL(started.returnTo);
    url.searchParams.set(name, value);
    return url.href;
  };
  // No code: the person declined on WeChat's page.
  if (code === undefined) return back('error', 'access_denied');

  const app = webApp(started.appid);
  context.log.appid = app.appid;
  const identity = await oauthIdentity(app, code, context.deadline);
  if (identity.snapshotUser) {
    // 快照页: the openid and unionid are virtual. Nobody is created or linked.
    context.log.web = 'snapshot_user';
    return back('error', 'snapshot_user');
  }
  requireTimeFor(context.deadline, 2 * QUERY_TIMEOUT_MS, 'record_login');
  if (identity.unionid === null) {
    if (started.scope !== 'snsapi_base') {
      // userinfo and 网站应用 sign-ins carry the unionid when the app is bound: it is not.
      throw new ApiError('server_misconfigured', {
        detail: 'WeChat gave no unionid for this app: bind it to the open platform account the mini programs are bound to',
        logFields: { web: 'unionid_missing', appid: app.appid },
      });
    }
    // snsapi_base finds people it knows; anyone else is asked for snsapi_userinfo (a tap).
    if (!(await accountExists(app.appid, identity.openid))) return back('error', 'userinfo_required');
  }
  const person = await recordLogin(app.appid, identity.openid, identity.unionid);
  context.log.personId = person.personId;
  if (person.suspended) return back('error', 'user_suspended');
  const issued = newCode();
  const { personId, revision, card, foldedPersonId } = person;
  await ticketStore().grant(digest(issued.code), { personId, revision, card, foldedPersonId, appid: app.appid, openid: identity.openid }, CODE_LIFETIME_MS);
  return back('code', issued.code);
}

/** A configured 公众号 or 网站应用. */
function webApp(appid: string) {
  const app = config().apps.get(appid);
  return app?.kind === 'website' ? app : appOfKind('mp', appid);
}

function callbackUrl(): string {
  const base = config().webLogin.publicBaseUrl;
  if (base === null) throw new ConfigError('Set PUBLIC_BASE_URL (this deployment\'s origin) for 公众号 and 网站应用 sign-in');
  return `${base}/api/web/oauth/callback`;
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
