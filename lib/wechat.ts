// WeChat auth.code2Session: one keep-alive connection pool, bounded retries, errcodes as typed errors.
// Never log or echo js_code, secret or session_key.
import { Agent, request } from 'undici';
import { config, type WechatApp } from './config.js';
import { ApiError, describeCause } from './errors.js';

export interface WechatSession {
  openid: string;
  sessionKey: string;
  /** Present only when the mini program is bound to an Open Platform account. */
  unionid: string | null;
}

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

/** A failure worth another attempt. `delivered`: WeChat may have seen (and spent) the code. */
class TransientFailure extends Error {
  constructor(readonly reason: string, readonly delivered: boolean) {
    super(reason);
  }
}

export async function code2Session(app: WechatApp, code: string): Promise<WechatSession> {
  const url = `${config().wechatApiBase}/sns/jscode2session?${new URLSearchParams({
    appid: app.appid,
    secret: app.secret,
    js_code: code,
    grant_type: 'authorization_code',
  })}`;
  const deadline = Date.now() + TOTAL_BUDGET_MS;
  let codeMayBeSpent = false;
  let lastReason = 'timeout';

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    try {
      const body = await fetchOnce(url, Math.min(remaining, ATTEMPT_TIMEOUT_MS));
      return interpret(body, codeMayBeSpent);
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      codeMayBeSpent ||= error.delivered;
      lastReason = error.reason;
    }
    const backoff = 100 * 2 ** (attempt - 1) * (0.5 + Math.random());
    if (Date.now() + backoff >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, backoff));
  }
  throw new ApiError('wechat_unavailable', { retryAfterSeconds: 5, logFields: { wechat: lastReason } });
}

async function fetchOnce(url: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let text: string;
  try {
    const response = await request(url, { dispatcher, signal: AbortSignal.timeout(timeoutMs) });
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
  return body as Record<string, unknown>;
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

function interpret(body: Record<string, unknown>, codeMayBeSpent: boolean): WechatSession {
  const errcode = body.errcode === undefined ? 0 : Number(body.errcode);
  if (errcode === 0) {
    const { openid, session_key: sessionKey, unionid } = body;
    if (typeof openid !== 'string' || !openid || typeof sessionKey !== 'string' || !sessionKey) {
      throw new TransientFailure('incomplete_success_body', true);
    }
    return { openid, sessionKey, unionid: typeof unionid === 'string' && unionid ? unionid : null };
  }
  const logFields = { wechatErrcode: errcode, ...requestIdOf(body.errmsg) };
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
    case 40013:
    case 40125:
    case 41002:
    case 41004:
      throw new ApiError('server_misconfigured', {
        detail: 'WeChat rejected this mini program\'s appid or secret',
        logFields,
      });
    default:
      throw new ApiError('wechat_unavailable', { retryAfterSeconds: 5, logFields });
  }
}

/** WeChat's request id ("rid: ..." in errmsg, in several historical shapes) for support tickets. */
function requestIdOf(errmsg: unknown): { wechatRid?: string } {
  if (typeof errmsg !== 'string') return {};
  const match = /\b(?:rid|req_id)\s*:\s*([A-Za-z0-9-]{1,64})/.exec(errmsg);
  return match?.[1] ? { wechatRid: match[1] } : {};
}
