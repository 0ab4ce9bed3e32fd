// WeChat's content security 2.0 (内容安全), scene 1 (资料, a profile): msg_sec_check rates a text at
// once; media_check_async takes an image URL and answers within 30 minutes by 消息推送 (push.ts).
// Both need the openid of a user who used the mini program in the last two hours: the caller's own.
import type { WechatApp } from '../platform/config.js';
import { rejectStaleAccessToken, withAccessToken } from './access-token.js';
import { callWechat, errcodeOf, misconfiguredOr, TransientFailure, wechatLogFields, type WechatBody } from './client.js';

/** WeChat's suggestion: pass, review (a human should look), risky. */
export type Suggest = 'pass' | 'review' | 'risky';

/** A verdict: the suggestion and its label (100 正常, 10001 广告, 20001 时政, 20002 色情, 20003 辱骂, 20006 违法犯罪, 20008 欺诈, 20012 低俗, 20013 版权, 21000 其他). */
export interface Verdict {
  suggest: Suggest;
  label: number;
}

/** Our request's fault: an openid (40003, 43104: not this app's), scene (40129), method, empty or malformed body. */
const OUR_FAULT = new Set([40003, 40129, 43104, 43302, 44002, 47001]);
const PROFILE_SCENE = 1;

/** msg_sec_check (version 2) of `content` written by `openid`. Read-only on WeChat's side, so retried like any idempotent call. */
export async function checkText(app: WechatApp, openid: string, content: string, deadline: number): Promise<Verdict> {
  return withAccessToken(app, deadline, (accessToken) =>
    callWechat(
      {
        path: '/wxa/msg_sec_check',
        query: { access_token: accessToken },
        json: { version: 2, openid, scene: PROFILE_SCENE, content },
        retryDelivered: true,
      },
      (body) => {
        const verdict = verdictOf(accepted(body).result);
        if (!verdict) throw new TransientFailure('incomplete_success_body', true);
        return verdict;
      },
      deadline,
    ),
  );
}

/**
 * media_check_async (version 2) of the image WeChat downloads from `mediaUrl`; returns the trace_id
 * its verdict will name. A repeated request only makes a second trace_id, whose verdict is ignored.
 */
export async function requestImageCheck(app: WechatApp, openid: string, mediaUrl: string, deadline: number): Promise<string> {
  return withAccessToken(app, deadline, (accessToken) =>
    callWechat(
      {
        path: '/wxa/media_check_async',
        query: { access_token: accessToken },
        json: { media_url: mediaUrl, media_type: 2, version: 2, openid, scene: PROFILE_SCENE },
        retryDelivered: true,
      },
      (body) => {
        const traceId = accepted(body).trace_id;
        if (typeof traceId !== 'string' || !traceId) throw new TransientFailure('incomplete_success_body', true);
        return traceId;
      },
      deadline,
    ),
  );
}

/** A verdict as WeChat writes it (its pushes send label as a number or a string); null if it is not one. */
export function verdictOf(result: unknown): Verdict | null {
  const { suggest, label } = (result ?? {}) as { suggest?: unknown; label?: unknown };
  const number = typeof label === 'string' && /^\d+$/.test(label) ? Number(label) : label;
  if ((suggest !== 'pass' && suggest !== 'review' && suggest !== 'risky') || typeof number !== 'number' || !Number.isInteger(number)) return null;
  return { suggest, label: number };
}

/** The body of an answer with errcode 0; -1 (busy) is worth another try; anything else is typed. */
function accepted(body: WechatBody): WechatBody {
  rejectStaleAccessToken(body);
  const errcode = errcodeOf(body);
  if (errcode === 0) return body;
  if (errcode === -1) throw new TransientFailure('errcode_-1', true);
  // 61010 (the user has not used the app in two hours) and the unknown: WeChat cannot be asked now.
  throw misconfiguredOr(OUR_FAULT, errcode, wechatLogFields(body));
}
