// WeChat Cloud Run (微信云托管): behind wx.cloud.callContainer, WeChat's gateway names the caller in
// headers it sets itself (X-WX-OPENID, X-WX-APPID, X-WX-UNIONID; under 资源复用 the calling mini
// program's X-WX-FROM-*), and WeChat's docs say these can be trusted on that path, checking that
// X-WX-SOURCE is present. Requests from the public internet carry none, or any a forger chooses:
// the headers are believed only when WXCLOUDRUN_IDENTITY_ENV names our environment, and then only
// with X-WX-SOURCE and that X-WX-ENV. It is safe only with 公网访问 off (docs/wxcloudrun.md).
import { config } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';

/** Who WeChat's gateway says is calling: the mini program and its user. */
export interface GatewayIdentity {
  appid: string;
  openid: string;
  /** When the mini program is bound to an Open Platform account and WeChat's unionid rules allow. */
  unionid: string | null;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** null when the mode is off; otherwise the proven caller, or 403 gateway_identity_required. */
export function gatewayIdentity(headers: Headers): GatewayIdentity | null {
  const env = config().wxcloudrunIdentityEnv;
  if (env === null) return null;
  if (!headers.get('x-wx-source')) throw refused('The request did not come through WeChat\'s gateway (no X-WX-SOURCE)');
  if (headers.get('x-wx-env') !== env) throw refused('The request came through another 云托管 environment');
  // Under 资源复用 the caller is the FROM mini program; X-WX-OPENID is then absent.
  const caller = headers.has('x-wx-from-appid') ? 'x-wx-from-' : 'x-wx-';
  const appid = headers.get(`${caller}appid`) ?? '';
  const openid = headers.get(`${caller}openid`) ?? '';
  const unionid = headers.get(`${caller}unionid`) ?? '';
  if (!ID.test(appid) || !ID.test(openid) || (unionid !== '' && !ID.test(unionid))) {
    throw refused('WeChat\'s gateway named no mini program user');
  }
  return { appid, openid, unionid: unionid || null };
}

function refused(detail: string): ApiError {
  return new ApiError('gateway_identity_required', { detail });
}
