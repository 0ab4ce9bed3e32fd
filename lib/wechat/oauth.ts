// WeChat's web sign-in: the 公众号 网页授权 page (connect/oauth2/authorize, inside WeChat) and the
// 网站应用 QR page (connect/qrconnect, on a PC), and the code → identity exchange both share
// (GET /sns/oauth2/access_token). Never log or echo the code, the secret or the access_token.
// https://developers.weixin.qq.com/doc/service/api/webdev/access/api_snsaccesstoken
import type { WechatApp } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { callWechat, errcodeOf, misconfiguredOr, TransientFailure, wechatLogFields, type WechatBody } from './client.js';

/** snsapi_base: silent, openid only; snsapi_userinfo: after a tap, unionid too; snsapi_login: 网站应用. */
export type OAuthScope = 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';

export interface OAuthIdentity {
  openid: string;
  /** Documented for snsapi_userinfo and snsapi_login, when the app is bound to the open platform. */
  unionid: string | null;
  /** 快照页 (snapshot page) virtual user: openid and unionid are not the person's. */
  snapshotUser: boolean;
}

/** Our appid, secret, server IP or request are wrong. */
const OAUTH_OUR_FAULT = new Set([40002, 40013, 40125, 40164, 41002, 41004]);

/**
 * The page WeChat shows: its parameters in exactly this order (WeChat checks it), then
 * #wechat_redirect. 公众号 apps use oauth2/authorize, 网站应用 qrconnect.
 */
export function authorizeUrl(openBase: string, app: WechatApp, redirectUri: string, scope: OAuthScope, state: string): string {
  const page = app.kind === 'website' ? 'qrconnect' : 'oauth2/authorize';
  const query = [
    ['appid', app.appid],
    ['redirect_uri', redirectUri],
    ['response_type', 'code'],
    ['scope', scope],
    ['state', state],
  ]
    .map(([name, value]) => `${name}=${encodeURIComponent(value!)}`)
    .join('&');
  return `${openBase}/connect/${page}?${query}#wechat_redirect`;
}

/** The code WeChat handed the callback → who signed in. The code works once (5 min; 10 for 网站应用). */
export function oauthIdentity(app: WechatApp, code: string, deadline: number): Promise<OAuthIdentity> {
  return callWechat(
    {
      path: '/sns/oauth2/access_token',
      query: { appid: app.appid, secret: app.secret, code, grant_type: 'authorization_code' },
      retryDelivered: false,
    },
    interpretIdentity,
    deadline,
  );
}

function interpretIdentity(body: WechatBody): OAuthIdentity {
  const errcode = errcodeOf(body);
  if (errcode === 0) {
    const { openid, unionid, is_snapshotuser: snapshot } = body;
    if (typeof openid !== 'string' || !openid) throw new TransientFailure('incomplete_success_body', true);
    return { openid, unionid: typeof unionid === 'string' && unionid ? unionid : null, snapshotUser: snapshot === 1 };
  }
  const logFields = wechatLogFields(body);
  // Each means: this code will never work; start the sign-in again for a new one.
  if (errcode === 40029 || errcode === 41008 || errcode === 42003) throw new ApiError('invalid_code', { detail: 'Start the sign-in again', logFields });
  if (errcode === 40163) throw new ApiError('code_used', { detail: 'Start the sign-in again', logFields });
  if (errcode === -1) throw new TransientFailure('errcode_-1', false);
  throw misconfiguredOr(OAUTH_OUR_FAULT, errcode, logFields);
}
