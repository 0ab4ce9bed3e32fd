// How we talk to WeChat's server APIs: one keep-alive connection pool, JSON bodies whatever the
// Content-Type says, errcodes in HTTP 200 replies, and bounded retries that know when a request may
// already have been acted on. URLs carry secrets and access tokens: never log or echo them.
import { Agent, request } from 'undici';
import { config } from '../platform/config.js';
import { ApiError, describeCause } from '../platform/errors.js';
import { budgetSpent } from '../platform/request-context.js';

export type WechatBody = Record<string, unknown>;

export interface WechatCall {
  path: string;
  query?: Record<string, string>;
  /** POSTed as JSON when present; otherwise the call is a GET. */
  json?: object;
  /**
   * Retry attempts that WeChat may have seen. True for idempotent calls; false for calls that
   * spend something (a one-time code, a billed lookup): those retry only what provably never left.
   */
  retryDelivered: boolean;
}

/**
 * Turns a reply into a result or a typed error. Throw TransientFailure to ask for another attempt.
 * `earlierMayHaveActed`: an earlier attempt may have reached WeChat (and spent what it carried).
 */
export type Interpret<T> = (body: WechatBody, earlierMayHaveActed: boolean) => T;

/** Whole exchange, retries included; leaves room in a 10 s function for Postgres and Redis. */
const TOTAL_BUDGET_MS = 3000;
const ATTEMPT_TIMEOUT_MS = 2000;
const MAX_ATTEMPTS = 4;
const BODY_LIMIT_BYTES = 16 * 1024;

/** Connection failures that prove the request never reached WeChat. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

const dispatcher = new Agent({
  connect: { timeout: 1000 },
  headersTimeout: ATTEMPT_TIMEOUT_MS,
  bodyTimeout: ATTEMPT_TIMEOUT_MS,
  keepAliveTimeout: 30_000,
});

/** A failure worth another attempt. `delivered`: WeChat may have seen (and acted on) the request. */
export class TransientFailure extends Error {
  constructor(readonly reason: string, readonly delivered: boolean) {
    super(reason);
  }
}

/** `requestDeadline`: epoch ms past which the request has answered (RequestContext.deadline). */
export async function callWechat<T>(call: WechatCall, interpret: Interpret<T>, requestDeadline: number): Promise<T> {
  const url = urlOf(call);
  const deadline = Math.min(Date.now() + TOTAL_BUDGET_MS, requestDeadline);
  // An attempt that spends something starts only with its whole timeout left: cut short, it could
  // be spent (billed) with its answer never read.
  const attemptNeedsMs = call.retryDelivered ? 1 : ATTEMPT_TIMEOUT_MS;
  let mayHaveActed = false;
  let lastReason = 'timeout';

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining < attemptNeedsMs) {
      // Not even the first attempt fits: the request's budget is spent, WeChat did nothing wrong.
      if (attempt === 1) throw budgetSpent(call.path);
      break;
    }
    try {
      const body = await fetchOnce(url, call.json, Math.min(remaining, ATTEMPT_TIMEOUT_MS));
      return interpret(body, mayHaveActed);
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      mayHaveActed ||= error.delivered;
      lastReason = error.reason;
      if (error.delivered && !call.retryDelivered) break;
    }
    const backoff = 100 * 2 ** (attempt - 1) * (0.5 + Math.random());
    if (Date.now() + backoff >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
  throw wechatUnavailable({ wechat: lastReason });
}

/**
 * The call's URL. With 开放接口服务 a call carrying an access_token goes to WeChat's sidecar, which
 * adds its own: the "token" is the app's appid there (withAccessToken), sent as from_appid, which
 * 资源复用 needs and WeChat recommends always sending.
 */
function urlOf({ path, query }: WechatCall): string {
  const { wechatApiBase, wechatOpenApiBase } = config();
  if (wechatOpenApiBase !== null && query?.access_token !== undefined) {
    const { access_token: appid, ...rest } = query;
    return `${wechatOpenApiBase}${path}?${new URLSearchParams({ ...rest, from_appid: appid })}`;
  }
  return `${wechatApiBase}${path}${query ? `?${new URLSearchParams(query)}` : ''}`;
}

/** 503 with a retry hint; `logFields` say why, for the access log only. */
export function wechatUnavailable(logFields: Record<string, string | number>, retryAfterSeconds = 5): ApiError {
  return new ApiError('wechat_unavailable', { retryAfterSeconds, logFields });
}

/**
 * 500 for `ourFault`, the errcodes by which this endpoint says our appid, secret, server IP or
 * request is wrong (each endpoint has its own: 40013 is a bad appid of ours on stable_token, a
 * foreign code on the phone lookup); any other unknown errcode is WeChat's trouble.
 */
export function misconfiguredOr(ourFault: ReadonlySet<number>, errcode: number, logFields: Record<string, string | number>): ApiError {
  if (ourFault.has(errcode)) {
    return new ApiError('server_misconfigured', {
      detail: 'WeChat refused this mini program\'s appid, secret, server IP or our request',
      logFields,
    });
  }
  return wechatUnavailable(logFields);
}

/** An absent errcode means success (0), as on every WeChat API. */
export function errcodeOf(body: WechatBody): number {
  return body.errcode === undefined ? 0 : Number(body.errcode);
}

/** A type, not an interface: it must fit ApiError's logFields record. */
export type WechatLogFields = { wechatErrcode: number; wechatRid?: string };

/** The errcode and WeChat's request id ("rid: ..." in errmsg, in several historical shapes), for support tickets. */
export function wechatLogFields(body: WechatBody): WechatLogFields {
  const match = typeof body.errmsg === 'string' ? /\b(?:rid|req_id)\s*:\s*([A-Za-z0-9-]{1,64})/.exec(body.errmsg) : null;
  return { wechatErrcode: errcodeOf(body), ...(match?.[1] ? { wechatRid: match[1] } : {}) };
}

async function fetchOnce(url: string, json: object | undefined, timeoutMs: number): Promise<WechatBody> {
  let text: string;
  try {
    const response = await request(url, {
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
      ...(json === undefined
        ? {}
        : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) }),
    });
    if (response.statusCode >= 500) {
      await response.body.dump();
      throw new TransientFailure(`http_${response.statusCode}`, true);
    }
    text = await readLimited(response.body);
  } catch (error) {
    if (error instanceof TransientFailure) throw error;
    const code = (error as { code?: unknown }).code;
    throw new TransientFailure(describeCause(error), !NEVER_SENT.has(String(code)));
  }
  // WeChat answers text/plain whatever the content: parse the body, ignore the header.
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new TransientFailure('non_json_body', true);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new TransientFailure('non_object_body', true);
  }
  return body as WechatBody;
}

async function readLimited(body: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > BODY_LIMIT_BYTES) throw new TransientFailure('oversized_body', true);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
