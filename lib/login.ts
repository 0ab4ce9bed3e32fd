// The login flow: a wx.login code → WeChat's identity → our person record → our session token.
import { config, type WechatApp } from './config.js';
import { ApiError } from './errors.js';
import { invalid, type RequestContext } from './http.js';
import { createSession } from './sessions.js';
import { recordLogin } from './users.js';
import { code2Session } from './wechat.js';

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: { id: string; isNew: boolean };
}

export const LOGIN_FIELDS = ['code', 'appid'] as const;

// wx.login codes are short URL-safe strings; anything else never came from WeChat.
const CODE_PATTERN = /^[A-Za-z0-9_:.-]{1,128}$/;
// WeChat sets this Referer on every mini program request.
const MINIPROGRAM_REFERER = /^https:\/\/servicewechat\.com\/([A-Za-z0-9_-]{1,64})\//;

export async function login(body: Record<string, unknown>, referer: string | null, context: RequestContext): Promise<LoginResult> {
  const { code, appid } = body;
  if (typeof code !== 'string' || !CODE_PATTERN.test(code)) {
    throw invalid('"code" must be the string wx.login() returned');
  }
  if (appid !== undefined && (typeof appid !== 'string' || appid.length > 64)) {
    throw invalid('"appid", when given, must be a mini program appid string');
  }
  const app = resolveApp(appid, referer);
  context.log.appid = app.appid;

  const wechat = await code2Session(app, code);
  const user = await recordLogin(app.appid, wechat.openid, wechat.unionid);
  context.log.userId = user.id;
  if (user.foldedUserId) context.log.mergedUserId = user.foldedUserId;
  const session = await createSession({ user, appid: app.appid, openid: wechat.openid, sessionKey: wechat.sessionKey });
  return {
    token: session.token,
    expiresAt: session.expiresAt.toISOString(),
    user: { id: user.id, isNew: user.isNew },
  };
}

/** The body's appid, else the Referer's, else the only configured app. */
function resolveApp(appid: string | undefined, referer: string | null): WechatApp {
  const { apps } = config();
  const chosen = appid ?? MINIPROGRAM_REFERER.exec(referer ?? '')?.[1];
  if (chosen === undefined) {
    if (apps.size === 1) return apps.values().next().value!;
    throw new ApiError('unknown_app', { detail: 'Several mini programs are configured: send "appid"' });
  }
  const app = apps.get(chosen);
  if (!app) throw new ApiError('unknown_app', { detail: 'This appid is not configured on the server' });
  return app;
}
