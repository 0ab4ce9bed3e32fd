// The login flow: a wx.login code → WeChat's identity → our person record → our session token.
import { config, type WechatApp } from './config.js';
import { ApiError } from './errors.js';
import { enforceLimits, type LimitCheck } from './rate-limit.js';
import { createSession, sessionLogId } from './sessions.js';
import { recordLogin } from './people.js';
import { QUERY_TIMEOUT_MS } from './db.js';
import { REQUEST_TIMEOUT_MS as REDIS_REQUEST_TIMEOUT_MS } from './redis.js';
import { requireTimeFor, type RequestContext } from './request-context.js';
import { code2Session } from './wechat.js';

export interface LoginResult {
  token: string;
  expiresAt: string;
  user: { id: string; isNew: boolean };
}

export interface LoginInput {
  /** What wx.login() returned. */
  code: string;
  /** The mini program, when the Referer cannot tell (or several are configured). */
  appid?: string | undefined;
}
// WeChat sets this Referer on every mini program request.
const MINIPROGRAM_REFERER = /^https:\/\/servicewechat\.com\/([A-Za-z0-9_-]{1,64})\//;

/** Where the request came from: WeChat's Referer, and the client address when trustworthy. */
export interface LoginOrigin {
  referer: string | null;
  ip: string | null;
}

export async function login({ code, appid }: LoginInput, origin: LoginOrigin, context: RequestContext): Promise<LoginResult> {
  const app = resolveApp(appid, origin.referer);
  context.log.appid = app.appid;

  // Fail closed: without a working limiter nothing guards the WeChat quota, and without Redis the
  // session could not be stored anyway, so the code is better left unspent.
  const before: LimitCheck[] = [['loginPerApp', app.appid]];
  if (origin.ip) before.push(['loginPerIp', origin.ip]);
  await enforceLimits(before, 'fail-closed', context);

  const wechat = await code2Session(app, code, context.deadline);
  requireTimeFor(context.deadline, QUERY_TIMEOUT_MS, 'record_login');
  // The per-user check overlaps the Postgres round trip instead of adding one in sequence.
  const [person] = await Promise.all([
    recordLogin(app.appid, wechat.openid, wechat.unionid),
    enforceLimits([['loginPerUser', `${app.appid}:${wechat.openid}`]], 'fail-closed', context),
  ]);
  context.log.personId = person.personId;
  if (person.foldedPersonId) context.log.foldedPersonId = person.foldedPersonId;
  requireTimeFor(context.deadline, REDIS_REQUEST_TIMEOUT_MS, 'session_write');
  const session = await createSession({ person, appid: app.appid, openid: wechat.openid, sessionKey: wechat.sessionKey });
  context.log.session = sessionLogId(session.token);
  return {
    token: session.token,
    expiresAt: session.expiresAt.toISOString(),
    user: { id: person.personId, isNew: person.isNew },
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
