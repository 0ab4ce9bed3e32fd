// Request input → typed values. Each endpoint declares its fields once (name → field type); the
// body (a bounded UTF-8 JSON object, or a form where the endpoint takes one) or the query string
// must hold only those fields, each of its type. Every text a request carries (fields, query
// values, path segments, the headers we read) passes one rule first: see `checkText`.
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

/**
 * What no text may hold: NUL (Postgres refuses it) and the other C0 and C1 controls (they hide in
 * logs and consoles), lone surrogates (not text: no UTF-8 can carry them) and the Unicode bidi
 * controls U+202A–U+202E and U+2066–U+2069 (they make what an operator reads differ from what is
 * stored). Free text may keep tab and newline.
 */
const REFUSED = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;
const REFUSED_MULTILINE = /(?![\t\n])[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u;

/** Whether `value` passes the rule every text a request carries must pass. */
export function isCleanText(value: string, { multiline = false } = {}): boolean {
  return !(multiline ? REFUSED_MULTILINE : REFUSED).test(value);
}

/** `value`, or 400 invalid_request naming the field (a path segment, a header) when it breaks the rule. */
export function checkText(value: string, name: string, { multiline = false } = {}): string {
  if (!isCleanText(value, { multiline })) {
    throw invalid(`"${name}" must not hold control characters, unpaired surrogates or bidi controls`);
  }
  return value;
}

/** A string passing the rule and matching `pattern`; `what` completes "\"name\" must be …". */
export function text(pattern: RegExp, what: string, { multiline = false } = {}): Field<string> {
  return (value, name) => {
    if (typeof value !== 'string') throw invalid(`"${name}" must be ${what}`);
    if (!pattern.test(checkText(value, name, { multiline }))) throw invalid(`"${name}" must be ${what}`);
    return value;
  };
}

/** Text people write (a suspension reason, a nickname): 1 to `max` characters, tab and newline allowed. */
export function freeText(max: number): Field<string> {
  return text(new RegExp(`^[\\s\\S]{1,${max}}$`), `a text of 1 to ${max} characters`, { multiline: true });
}

/** A whole number from 0 to `max` written in decimal (a cursor), checked before it reaches SQL. */
export function decimal(max: bigint, what: string): Field<string> {
  const digits = text(new RegExp(`^\\d{1,${String(max).length}}$`), what);
  return (value, name) => {
    const checked = digits(value, name);
    if (BigInt(checked) > max) throw invalid(`"${name}" must be ${what}`);
    return checked;
  };
}

/** The largest bigint (int8) and xid8 Postgres holds. */
export const MAX_BIGINT = 2n ** 63n - 1n;
export const MAX_XID8 = 2n ** 64n - 1n;

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

/** Text shown to other people (a nickname): trimmed, 1 to `max` characters (code points), one line, the input rule's. */
export function humanText(max: number): Field<string> {
  const bounded = text(new RegExp(`^[\\s\\S]{1,${max}}$`, 'u'), `a text of 1 to ${max} characters`);
  return (value, name) => bounded(typeof value === 'string' ? value.trim() : value, name);
}

/** What a person calls themselves: WeChat's <input type="nickname"> fills it. */
export const nickname = humanText(32);

/** wx.login codes are short URL-safe strings; anything else never came from WeChat. */
export const wechatCode = text(/^[A-Za-z0-9_:.-]{1,128}$/, 'the string wx.login() returned');
/** getPhoneNumber codes are URL-safe strings (64 hex characters today). */
export const phoneCode = text(/^[A-Za-z0-9_:.-]{1,256}$/, 'the string the getPhoneNumber button gave the page');
/** Where a web sign-in returns; checked against the app's allow-list (WEB_REDIRECTS) later. */
export const returnUrl = text(/^https?:\/\/\S{1,2000}$/, 'an absolute URL on the app\'s allow-list');
/** As WECHAT_APPS spells them; checked against the configured apps later: an unknown one is unknown_app. */
export const appid = text(/^[A-Za-z0-9_-]{1,64}$/, 'a mini program appid (letters, digits, _ or -)');
/** As operators and BENEFITS name them; an unknown one is unknown_benefit. */
export const benefitKey = text(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'a key of lowercase letters, digits, _ or - (up to 64)');
export const personId = text(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a person id (a UUID)');
export const openid = text(/^[A-Za-z0-9_-]{1,128}$/, 'an openid');
export const unionid = text(/^[A-Za-z0-9_-]{1,128}$/, 'a unionid');
/** Digits, optionally with a +country code (+85261234567); without one, a mainland number. */
export const phoneNumber = text(/^\+?\d{5,20}$/, 'a phone number of digits, optionally starting with +<country code>');
export const reason = freeText(500);
/** GET /api/sessions names them: 22 base64url characters. */
export const sessionHandle = text(/^[A-Za-z0-9_-]{22}$/, 'a session handle');
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

/**
 * The body as a JSON object whose members the caller checks itself (a push WeChat signed),
 * whatever Content-Type it came with: the sender is not ours to correct.
 */
export async function readObject(request: Request): Promise<Record<string, unknown>> {
  return jsonObject(utf8(await readBytes(request, MAX_BODY_BYTES)));
}

/** The query string as `fields` declares it; each parameter at most once. */
export function readQuery<F extends Fields>(request: Request, fields: F): InputOf<F> {
  return typed(singleValues(new URL(request.url).searchParams), fields);
}

function typed<F extends Fields>(values: Record<string, unknown>, fields: F, path = ''): InputOf<F> {
  const unknown = Object.keys(values).find((key) => !Object.hasOwn(fields, key));
  if (unknown !== undefined) throw invalid(`Unknown field: ${path}${echo(unknown)}`);
  const input: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(fields)) input[name] = field(values[name], path + name);
  return input as InputOf<F>;
}

/** A client's field name as an error may quote it: cut short, and only when it passes the rule. */
function echo(name: string): string {
  const cut = name.slice(0, 40);
  return isCleanText(cut) ? cut : '(a name with characters no text may hold)';
}

/** The query's values, each passing the input rule before any field is looked at. */
function singleValues(params: URLSearchParams): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of params) {
    if (Object.hasOwn(values, name)) throw invalid(`"${echo(name)}" is given twice`);
    values[name] = checkText(value, echo(name));
  }
  return values;
}

async function readBody(request: Request, emptyAllowed: boolean, form: boolean): Promise<Record<string, unknown>> {
  const bytes = await readBytes(request, MAX_BODY_BYTES);
  if (bytes.length === 0 && emptyAllowed) return {};
  const mediaType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  const text = utf8(bytes);
  if (form && mediaType === 'application/x-www-form-urlencoded') return singleValues(new URLSearchParams(text));
  if (mediaType !== 'application/json') {
    throw new ApiError('unsupported_media_type', {
      detail: form ? 'Send Content-Type: application/x-www-form-urlencoded or application/json' : 'Send Content-Type: application/json',
    });
  }
  return jsonObject(text);
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('The body is not valid UTF-8');
  }
}

function jsonObject(text: string): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalid('The body is not valid UTF-8 JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The body must be a JSON object');
  return body as Record<string, unknown>;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError('payload_too_large', { detail: `Bodies are limited to ${maxBytes} bytes` });
}

/** The raw body, at most `maxBytes` (413 beyond, 408 when it stalls): for bodies that are not JSON (an image). */
export async function readBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  return readLimited(request, maxBytes);
}

async function readLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
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
      if (size > maxBytes) throw tooLarge(maxBytes);
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
