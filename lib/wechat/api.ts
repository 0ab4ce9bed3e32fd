// WeChat's mini program APIs we use: auth.code2Session (login, no access_token) and
// phonenumber.getPhoneNumber. Never log or echo js_code, phone codes, secret or session_key.
import { rejectStaleAccessToken, withAccessToken } from './access-token.js';
import type { WechatApp } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import {
  callWechat,
  errcodeOf,
  misconfiguredOr,
  TransientFailure,
  wechatLogFields,
  wechatUnavailable,
  type WechatBody,
} from './client.js';

export interface WechatSession {
  openid: string;
  sessionKey: string;
  /** Present only when the mini program is bound to an Open Platform account. */
  unionid: string | null;
}

export interface WechatPhoneNumber {
  /** With the country code for numbers outside mainland China. */
  phoneNumber: string;
  purePhoneNumber: string;
  /** WeChat sends a number or a string; always a string here. */
  countryCode: string;
  /** The mini program WeChat says the number was issued to. */
  watermarkAppid: string;
}

/** jscode2session's errcodes for our appid, secret or server IP, and a grant_type we got wrong. */
const SESSION_OUR_FAULT = new Set([40002, 40013, 40125, 40164, 41002, 41004]);
/** getuserphonenumber's errcodes for a request of ours it cannot read (not POST JSON, no access_token). */
const PHONE_OUR_FAULT = new Set([41001, 43002, 47001]);

/** `deadline` (epoch ms): no attempt outlives it. */
export async function code2Session(app: WechatApp, code: string, deadline: number): Promise<WechatSession> {
  return callWechat(
    {
      path: '/sns/jscode2session',
      query: { appid: app.appid, secret: app.secret, js_code: code, grant_type: 'authorization_code' },
      retryDelivered: true,
    },
    interpretSession,
    deadline,
  );
}

/**
 * Exchanges a getPhoneNumber code for the number. Each code works once (WeChat bills the client's
 * tap, not this call), so an attempt WeChat may have seen is never repeated; an expired
 * access_token is not an attempt.
 * No lookup starts unless it can end by `deadline` (epoch ms).
 */
export async function getUserPhoneNumber(app: WechatApp, code: string, openid: string, deadline: number): Promise<WechatPhoneNumber> {
  return withAccessToken(app, deadline, (accessToken) =>
    callWechat(
      {
        path: '/wxa/business/getuserphonenumber',
        query: { access_token: accessToken },
        json: { code, openid },
        retryDelivered: false,
      },
      interpretPhoneNumber,
      deadline,
    ),
  );
}

function interpretSession(body: WechatBody, codeMayBeSpent: boolean): WechatSession {
  const errcode = errcodeOf(body);
  if (errcode === 0) {
    const { openid, session_key: sessionKey, unionid } = body;
    if (typeof openid !== 'string' || !openid || typeof sessionKey !== 'string' || !sessionKey) {
      throw new TransientFailure('incomplete_success_body', true);
    }
    return { openid, sessionKey, unionid: typeof unionid === 'string' && unionid ? unionid : null };
  }
  const logFields = wechatLogFields(body);
  switch (errcode) {
    case -1:
      throw new TransientFailure('errcode_-1', false);
    case 40029:
      throw new ApiError('invalid_code', { logFields });
    case 40163:
      // After an attempt whose answer we never saw, "used" may mean "used by us": ask for a new code.
      if (codeMayBeSpent) throw new ApiError('wechat_unavailable', { retryAfterSeconds: 1, logFields });
      throw new ApiError('code_used', { logFields });
    case 40226:
      throw new ApiError('user_blocked', { logFields });
    case 45011:
      throw new ApiError('wechat_rate_limited', { retryAfterSeconds: 60, logFields });
    default:
      throw misconfiguredOr(SESSION_OUR_FAULT, errcode, logFields);
  }
}

function interpretPhoneNumber(body: WechatBody): WechatPhoneNumber {
  rejectStaleAccessToken(body);
  const errcode = errcodeOf(body);
  const info = body.phone_info as Record<string, unknown> | undefined;
  if (errcode === 0) {
    const watermark = info?.watermark as Record<string, unknown> | undefined;
    const countryCode = info?.countryCode;
    if (
      typeof info?.phoneNumber !== 'string' ||
      typeof info.purePhoneNumber !== 'string' ||
      !info.purePhoneNumber ||
      !(typeof countryCode === 'string' || typeof countryCode === 'number') ||
      typeof watermark?.appid !== 'string'
    ) {
      // Spent already: report it, never ask again with the same code.
      throw wechatUnavailable({ wechat: 'incomplete_success_body' });
    }
    return {
      phoneNumber: info.phoneNumber,
      purePhoneNumber: info.purePhoneNumber,
      countryCode: String(countryCode),
      watermarkAppid: watermark.appid,
    };
  }
  const logFields = wechatLogFields(body);
  switch (errcode) {
    case -1:
      // WeChat may or may not have spent the code: the user taps the button again for a new one.
      throw new ApiError('wechat_unavailable', { retryAfterSeconds: 1, logFields });
    case 40029:
      throw new ApiError('invalid_phone_code', { logFields });
    case 40013:
      // Here it means the code was issued to another mini program: the client's mistake.
      throw new ApiError('phone_app_mismatch', { detail: 'Ask for the number again from this mini program', logFields });
    case 45011:
      throw new ApiError('wechat_rate_limited', { retryAfterSeconds: 60, logFields });
    default:
      throw misconfiguredOr(PHONE_OUR_FAULT, errcode, logFields);
  }
}

/** Who the rank is asked for, as WeChat's 安全风控 wants them described. */
export interface RiskSubject {
  openid: string;
  /** The caller's address as the platform saw it. */
  clientIp: string;
  /** The person's verified mainland number, when one is bound. */
  mobileNo?: string | undefined;
}

/**
 * 61010, "no visit to the mini program in the last two hours", as a rank past every limit (0-4):
 * a claim comes with a live session from the mini program, so WeChat should have seen the visit;
 * none is what a scripted account looks like. Every risk-limited benefit refuses it, riskFailure or not.
 */
export const UNVISITED_RANK = 5;

/** getuserriskrank's errcodes for a request of ours it cannot take (bad openid or scene, no permission). */
const RISK_OUR_FAULT = new Set([40003, 40129, 43104, 43302, 44002, 47001, 48001]);

/**
 * WeChat's risk rank for a person in the marketing-fraud scene (安全风控 getuserriskrank, scene 1),
 * 0-4, higher is riskier, or UNVISITED_RANK; null whenever WeChat cannot rate (busy, a quota, a
 * 5xx, no answer in time): the benefit's riskFailure decides. Only our misconfiguration is a 500.
 * Read-only, so retried like any idempotent call.
 */
export async function getUserRiskRank(app: WechatApp, subject: RiskSubject, deadline: number): Promise<number | null> {
  try {
    return await withAccessToken(app, deadline, (accessToken) =>
      callWechat(
        {
          path: '/wxa/getuserriskrank',
          query: { access_token: accessToken },
          json: {
            appid: app.appid,
            openid: subject.openid,
            scene: 1,
            client_ip: subject.clientIp,
            ...(subject.mobileNo ? { mobile_no: subject.mobileNo } : {}),
          },
          retryDelivered: true,
        },
        interpretRiskRank,
        deadline,
      ),
    );
  } catch (error) {
    if (error instanceof ApiError && error.code === 'wechat_unavailable') return null;
    throw error;
  }
}

function interpretRiskRank(body: WechatBody): number {
  rejectStaleAccessToken(body);
  const errcode = errcodeOf(body);
  const rank = body.risk_rank;
  if (errcode === 0) {
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank > 4) throw new TransientFailure('incomplete_success_body', true);
    return rank;
  }
  if (errcode === -1) throw new TransientFailure('errcode_-1', true);
  if (errcode === 61010) return UNVISITED_RANK;
  // 48001: the mini program has not been granted the 安全风控 API (开发管理 → 安全中心). Anything
  // else (45009 and 45011 quotas, 9410009, "other: system error") is WeChat unable to rate.
  throw misconfiguredOr(RISK_OUR_FAULT, errcode, wechatLogFields(body));
}
