// wxacode.getUnlimited (POST /wxa/getwxacodeunlimit): the mini program code a PC site shows for
// scan-to-login. Success is image bytes, failure JSON. The codes never expire on WeChat's side;
// what expires is our ticket. 5,000 calls a minute per mini program: callers limit ticket creation.
// https://developers.weixin.qq.com/miniprogram/dev/server/API/qrcode-link/qr-code/api_getunlimitedqrcode.html
import { rejectStaleAccessToken, withAccessToken } from './access-token.js';
import type { WebLoginConfig, WechatApp } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { callWechat, errcodeOf, TransientFailure, wechatLogFields, wechatUnavailable, type WechatBody } from './client.js';

/** What `scene` may hold: at most 32 visible characters of this set (no %). */
export const SCENE_PATTERN = /^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$/;

export interface MiniProgramCode {
  /** image/png or image/jpeg, as WeChat sent it. */
  contentType: string;
  image: Buffer;
}

/** Each errcode says which part of our request WeChat refused; all of them are our configuration's fault. */
const REFUSED: Record<number, string> = {
  40097: 'WeChat refused the code request\'s arguments (40097)',
  40129: 'WeChat refused the scene (40129)',
  40169: 'WeChat says the scene is too long (40169)',
  41030: 'WeChat does not know the page: check WEB_LOGIN_PAGE, and that the version WEB_LOGIN_ENV_VERSION opens is published (41030)',
};

/** `scene` must match SCENE_PATTERN. No attempt outlives `deadline` (epoch ms). */
export async function miniProgramCode(app: WechatApp, scene: string, settings: WebLoginConfig, deadline: number): Promise<MiniProgramCode> {
  if (!SCENE_PATTERN.test(scene)) throw new Error('scene outside what getwxacodeunlimit accepts');
  return withAccessToken(app, deadline, (accessToken) =>
    callWechat(
      {
        path: '/wxa/getwxacodeunlimit',
        query: { access_token: accessToken },
        json: {
          scene,
          page: settings.page,
          // Only a released version can be checked for the page; trial and develop codes skip it.
          check_path: settings.envVersion === 'release',
          env_version: settings.envVersion,
          width: 430,
        },
        retryDelivered: true,
        image: true,
      },
      interpretCode,
      deadline,
    ),
  );
}

function interpretCode(body: WechatBody): MiniProgramCode {
  if (Buffer.isBuffer(body.image) && typeof body.contentType === 'string') return { image: body.image, contentType: body.contentType };
  rejectStaleAccessToken(body);
  const errcode = errcodeOf(body);
  const logFields = wechatLogFields(body);
  if (errcode === -1) throw new TransientFailure('errcode_-1', true);
  if (errcode === 45009) throw new ApiError('wechat_quota_exceeded', { retryAfterSeconds: 60, logFields });
  const refused = REFUSED[errcode];
  if (refused) throw new ApiError('server_misconfigured', { detail: refused, logFields });
  // errcode 0 without an image, or an errcode we do not know: WeChat's trouble.
  throw wechatUnavailable(logFields);
}
