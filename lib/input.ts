// Request bodies → typed input. Each endpoint declares its fields once (name → field type); the
// body must be a bounded UTF-8 JSON object holding only those fields, each of its type.
import { ApiError, invalid } from './errors.js';

/** Checks one field's value and returns it typed; throws invalid() naming the field. */
export type Field<T> = (value: unknown, name: string) => T;
export type Fields = Record<string, Field<unknown>>;
export type InputOf<F extends Fields> = { [K in keyof F]: ReturnType<F[K]> };

const MAX_BODY_BYTES = 4 * 1024;
/**
 * A client sends its body (at most 4 KB, a login about 100 bytes) right behind the headers: even
 * at 2G speeds that takes well under a second. A body later than this is a stalled client, not our
 * outage, and this leaves 4 s of the 9 s request budget for the work.
 */
const BODY_TIMEOUT_MS = 5000;

/** A string matching `pattern`; `what` completes "\"name\" must be …". */
export function text(pattern: RegExp, what: string): Field<string> {
  return (value, name) => {
    if (typeof value !== 'string' || !pattern.test(value)) throw invalid(`"${name}" must be ${what}`);
    return value;
  };
}

export const boolean: Field<boolean> = (value, name) => {
  if (typeof value !== 'boolean') throw invalid(`"${name}", when given, must be true or false`);
  return value;
};

/** The field may be absent (undefined); present, it must be of `field`'s type. */
export function optional<T>(field: Field<T>): Field<T | undefined> {
  return (value, name) => (value === undefined ? undefined : field(value, name));
}

/** wx.login codes are short URL-safe strings; anything else never came from WeChat. */
export const wechatCode = text(/^[A-Za-z0-9_:.-]{1,128}$/, 'the string wx.login() returned');
/** getPhoneNumber codes are URL-safe strings (64 hex characters today). */
export const phoneCode = text(/^[A-Za-z0-9_:.-]{1,256}$/, 'the string the getPhoneNumber button gave the page');
/** Checked against the configured apps later: an unknown one is unknown_app, not a malformed request. */
export const appid = text(/^[\s\S]{0,64}$/, 'a mini program appid string');
export const benefitKey = text(/^[\s\S]*$/, 'a string');

/**
 * The body as `fields` declares it. An empty body is `{}` when `emptyAllowed` (for endpoints whose
 * fields are all optional).
 */
export async function readInput<F extends Fields>(
  request: Request,
  fields: F,
  { emptyAllowed = false } = {},
): Promise<InputOf<F>> {
  const body = await readJsonObject(request, emptyAllowed);
  const unknown = Object.keys(body).find((key) => !Object.hasOwn(fields, key));
  if (unknown !== undefined) throw invalid(`Unknown field: ${unknown.slice(0, 40)}`);
  const input: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) input[name] = field(body[name], name);
  return input as InputOf<F>;
}

async function readJsonObject(request: Request, emptyAllowed: boolean): Promise<Record<string, unknown>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const bytes = await readLimited(request);
  if (bytes.length === 0 && emptyAllowed) return {};
  const mediaType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ApiError('unsupported_media_type', { detail: 'Send Content-Type: application/json' });
  }
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalid('The body is not valid UTF-8 JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The body must be a JSON object');
  return body as Record<string, unknown>;
}

function tooLarge(): ApiError {
  return new ApiError('payload_too_large', { detail: `Bodies are limited to ${MAX_BODY_BYTES} bytes` });
}

async function readLimited(request: Request): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(tooSlow()), BODY_TIMEOUT_MS);
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), stalled]);
      if (done) return Buffer.concat(chunks);
      size += value.length;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function tooSlow(): ApiError {
  return new ApiError('request_timeout', {
    detail: `The body must arrive within ${BODY_TIMEOUT_MS / 1000} s`,
    // The connection still holds the rest of the body: it cannot carry another request.
    headers: { Connection: 'close' },
    logFields: { timeout: 'request_body' },
  });
}
