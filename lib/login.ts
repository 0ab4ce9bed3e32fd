// The login flow: a wx.login code → WeChat's identity → our person record → our session token.
import { config, type WechatApp } from './config.js';
import { ApiError } from './errors.js';
import { invalid, type RequestContext } from './http.js';
import { enforceLimits, type LimitCheck } from './rate-limit.js';
import { createSession, sessionLogId } from './sessions.js';
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

/** Where the request came from: WeChat's Referer, and the client address when trustworthy. */
export interface LoginOrigin {
  referer: string | null;
  ip: string | null;
}

export async function login(body: Record<string, unknown>, origin: LoginOrigin, context: RequestContext): Promise<LoginResult> {
  const { code, appid } = body;
  if (typeof code !== 'string' || !CODE_PATTERN.test(code)) {
    throw invalid('"code" must be the string wx.login() returned');
  }
  if (appid !== undefined && (typeof appid !== 'string' || appid.length > 64)) {
    throw invalid('"appid", when given, must be a mini program appid string');
  }
  const app = resolveApp(appid, origin.referer);
  context.log.appid = app.appid;

  // Fail closed: without a working limiter nothing guards the WeChat quota, and without Redis the
  // session could not be stored anyway, so the code is better left unspent.
  const before: LimitCheck[] = [['loginPerApp', app.appid]];
  if (origin.ip) before.push(['loginPerIp', origin.ip]);
  await enforceLimits(before, 'fail-closed', context);

  const wechat = await code2Session(app, code);
  // The per-user check overlaps the Postgres round trip instead of adding one in sequence.
  const [user] = await Promise.all([
    recordLogin(app.appid, wechat.openid, wechat.unionid),
    enforceLimits([['loginPerUser', `${app.appid}:${wechat.openid}`]], 'fail-closed', context),
  ]);
  context.log.userId = user.id;
  if (user.foldedUserId) context.log.mergedUserId = user.foldedUserId;
  const session = await createSession({ user, appid: app.appid, openid: wechat.openid, sessionKey: wechat.sessionKey });
  context.log.session = sessionLogId(session.token);
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
