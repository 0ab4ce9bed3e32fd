// The login flow: a wx.login code → WeChat's identity → our person record → our session token.
// On 微信云托管 with WXCLOUDRUN_IDENTITY_ENV set, WeChat's gateway already proved the identity
// (lib/wechat/cloudrun.ts): the code is not exchanged, and the session has no session_key.
import { config, type WechatApp } from '../platform/config.js';
import { QUERY_TIMEOUT_MS } from '../platform/postgres.js';
import { ApiError, invalid } from '../platform/errors.js';
import { recordLogin } from './records.js';
import { applyLimit, hitLoginPerIp } from '../sessions/rate-limit.js';
import { REDIS_REQUEST_MAX_MS } from '../platform/redis.js';
import { requireTimeFor, type RequestContext } from '../platform/request-context.js';
import { createSession } from '../sessions/tokens.js';
import { code2Session } from '../wechat/api.js';
import type { GatewayIdentity } from '../wechat/cloudrun.js';

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

/**
 * Three sequential trips, the floor: WeChat (with the client address's limit checked alongside),
 * Postgres, then one Redis request that writes the session and counts the account's logins.
 * `referer` is WeChat's Referer, naming the mini program. With a `gateway` identity the WeChat trip
 * is skipped: the code is accepted (clients need not know the mode) and left unused.
 */
export async function login(
  { code, appid }: LoginInput,
  referer: string | null,
  context: RequestContext,
  gateway: GatewayIdentity | null = null,
): Promise<LoginResult> {
  if (gateway && appid !== undefined && appid !== gateway.appid) {
    throw invalid('"appid" is not the mini program WeChat\'s gateway names');
  }
  const app = resolveApp(gateway?.appid ?? appid, referer);
  context.log.appid = app.appid;

  // Fails closed: a limiter that cannot count lets nothing through. The code is spent either way.
  const [wechat, perIp] = await Promise.all([
    gateway ? { ...gateway, sessionKey: null } : code2Session(app, code, context.deadline),
    context.clientIp === null ? null : hitLoginPerIp(context.clientIp),
  ]);
  applyLimit(perIp, 'loginPerIp', context);

  requireTimeFor(context.deadline, QUERY_TIMEOUT_MS, 'record_login');
  const person = await recordLogin(app.appid, wechat.openid, wechat.unionid);
  context.log.personId = person.personId;
  if (person.suspended) throw new ApiError('user_suspended');
  if (person.foldedPersonId) context.log.foldedPersonId = person.foldedPersonId;
  requireTimeFor(context.deadline, REDIS_REQUEST_MAX_MS, 'session_write');
  const session = await createSession({ person, appid: app.appid, openid: wechat.openid, sessionKey: wechat.sessionKey }, context);
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
