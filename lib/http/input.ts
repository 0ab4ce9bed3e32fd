// Request input → typed values. Each endpoint declares its fields once (name → field type); the
// body (a bounded UTF-8 JSON object, or a form where the endpoint takes one) or the query string
// must hold only those fields, each of its type.
import { config } from '../platform/config.js';
import { ApiError, invalid } from '../platform/errors.js';

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

/** An ISO 8601 time with its offset (2026-12-01T00:00:00Z, or +08:00). */
export const timestamp: Field<Date> = (value, name) => {
  const time = typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(value) ? new Date(value) : null;
  if (!time || Number.isNaN(time.getTime())) throw invalid(`"${name}" must be an ISO 8601 time with an offset, e.g. 2026-12-01T00:00:00+08:00`);
  return time;
};

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number): Field<number> {
  return (value, name) => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(`"${name}" must be a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** One of these strings. */
export function oneOf<T extends string>(...choices: T[]): Field<T> {
  return (value, name) => {
    if (!choices.includes(value as T)) throw invalid(`"${name}" must be one of: ${choices.join(', ')}`);
    return value as T;
  };
}

/** A JSON object holding only `fields`, each of its type (names in errors are dotted: title.zh). */
export function object<F extends Fields>(fields: F): Field<InputOf<F>> {
  return (value, name) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`"${name}" must be an object`);
    return typed(value as Record<string, unknown>, fields, `${name}.`);
  };
}

/** The field may be null (to clear it) as well as of `field`'s type. */
export function nullable<T>(field: Field<T>): Field<T | null> {
  return (value, name) => (value === null ? null : field(value, name));
}

/** Exactly this string: a confirmation the client must type. */
export function literal<T extends string>(expected: T): Field<T> {
  return (value, name) => {
    if (value !== expected) throw invalid(`"${name}" must be "${expected}"`);
    return expected;
  };
}

/** wx.login codes are short URL-safe strings; anything else never came from WeChat. */
export const wechatCode = text(/^[A-Za-z0-9_:.-]{1,128}$/, 'the string wx.login() returned');
/** getPhoneNumber codes are URL-safe strings (64 hex characters today). */
export const phoneCode = text(/^[A-Za-z0-9_:.-]{1,256}$/, 'the string the getPhoneNumber button gave the page');
/** Checked against the configured apps later: an unknown one is unknown_app, not a malformed request. */
export const appid = text(/^[\s\S]{0,64}$/, 'a mini program appid string');
export const benefitKey = text(/^[\s\S]*$/, 'a string');
export const personId = text(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a person id (a UUID)');
export const openid = text(/^[A-Za-z0-9_-]{1,128}$/, 'an openid');
export const unionid = text(/^[A-Za-z0-9_-]{1,128}$/, 'a unionid');
/** Digits, optionally with a +country code (+85261234567); without one, a mainland number. */
export const phoneNumber = text(/^\+?\d{5,20}$/, 'a phone number of digits, optionally starting with +<country code>');
export const reason = text(/^[\s\S]{1,500}$/, 'a text of 1 to 500 characters');
export const bearerTokenValue = text(/^[\x21-\x7e]{1,512}$/, 'a bearer token');
/** One of the documents this deployment records consent to: privacy, terms and CONSENT_DOCUMENTS. */
export const consentDocument: Field<string> = (value, name) => oneOf(...config().consentDocuments)(value, name);
/** A document's version as the mini program names it (2024-06-01, v3). */
export const consentVersion = text(/^[\x21-\x7e]{1,64}$/, '1 to 64 printable ASCII characters (e.g. 2024-06-01 or v3)');
/** Why an operator acts (a ticket number, say): kept in the audit trail as written. */
export const purpose = text(/^[\s\S]{1,200}$/, 'a text of 1 to 200 characters');

/**
 * The body as `fields` declares it. An empty body is `{}` when `emptyAllowed` (for endpoints whose
 * fields are all optional); a form (application/x-www-form-urlencoded) is read when `form`.
 */
export async function readInput<F extends Fields>(
  request: Request,
  fields: F,
  { emptyAllowed = false, form = false } = {},
): Promise<InputOf<F>> {
  return typed(await readBody(request, emptyAllowed, form), fields);
}

/** The query string as `fields` declares it; each parameter at most once. */
export function readQuery<F extends Fields>(request: Request, fields: F): InputOf<F> {
  return typed(singleValues(new URL(request.url).searchParams), fields);
}

function typed<F extends Fields>(values: Record<string, unknown>, fields: F, path = ''): InputOf<F> {
  const unknown = Object.keys(values).find((key) => !Object.hasOwn(fields, key));
  if (unknown !== undefined) throw invalid(`Unknown field: ${path}${unknown.slice(0, 40)}`);
  const input: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) input[name] = field(values[name], path + name);
  return input as InputOf<F>;
}

function singleValues(params: URLSearchParams): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(values, name)) throw invalid(`"${name.slice(0, 40)}" is given twice`);
    values[name] = value;
  }
  return values;
}

async function readBody(request: Request, emptyAllowed: boolean, form: boolean): Promise<Record<string, unknown>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw tooLarge();
  const bytes = await readLimited(request);
  if (bytes.length === 0 && emptyAllowed) return {};
  const mediaType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('The body is not valid UTF-8');
  }
  if (form && mediaType === 'application/x-www-form-urlencoded') return singleValues(new URLSearchParams(text));
  if (mediaType !== 'application/json') {
    throw new ApiError('unsupported_media_type', {
      detail: form ? 'Send Content-Type: application/x-www-form-urlencoded or application/json' : 'Send Content-Type: application/json',
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
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
