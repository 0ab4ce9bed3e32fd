// The stable error codes clients switch on, and the typed error that carries one.

export const catalog = {
  invalid_request: { status: 400, title: 'The request is malformed' },
  unknown_app: { status: 400, title: 'No configured mini program matches this request' },
  unknown_benefit: { status: 400, title: 'No such benefit is offered' },
  invalid_code: { status: 400, title: 'The login code is invalid or expired' },
  code_used: { status: 400, title: 'The login code has already been used' },
  invalid_phone_code: { status: 400, title: 'The phone number code is invalid, expired or already used' },
  phone_app_mismatch: { status: 400, title: 'The phone number was issued to another mini program' },
  unauthorized: { status: 401, title: 'A valid bearer token is required' },
  user_blocked: { status: 403, title: 'WeChat blocked this user as high-risk' },
  user_suspended: { status: 403, title: 'This person is suspended' },
  claim_refused: { status: 403, title: 'This person may not claim this benefit' },
  gateway_identity_required: { status: 403, title: 'Log in through WeChat Cloud Run\'s gateway (wx.cloud.callContainer)' },
  forbidden: { status: 403, title: 'This operator\'s role does not allow this' },
  not_found: { status: 404, title: 'No such endpoint' },
  person_not_found: { status: 404, title: 'No such person' },
  session_not_found: { status: 404, title: 'No such session of yours' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  request_timeout: { status: 408, title: 'The request body arrived too slowly' },
  already_claimed: { status: 409, title: 'This person has already claimed this benefit' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body must be application/json' },
  rate_limited: { status: 429, title: 'Too many requests; try again later' },
  wechat_rate_limited: { status: 429, title: 'WeChat rate-limited this user; try again later' },
  server_misconfigured: { status: 500, title: 'The server is misconfigured' },
  internal_error: { status: 500, title: 'Internal error' },
  wechat_unavailable: { status: 503, title: 'WeChat is unavailable; try again later' },
  service_unavailable: { status: 503, title: 'A backing service is unavailable; try again later' },
} as const;

export type ErrorCode = keyof typeof catalog;

export interface ApiErrorOptions {
  detail?: string;
  retryAfterSeconds?: number;
  headers?: Record<string, string>;
  /** Extra members of the problem body (RFC 9457 extensions); the standard members win. */
  extensions?: Record<string, unknown>;
  /** Safe facts for the access log (never user data or secrets). */
  logFields?: Record<string, string | number>;
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;
  readonly logFields: Record<string, string | number>;

  constructor(readonly code: ErrorCode, options: ApiErrorOptions = {}) {
    super(options.detail ?? catalog[code].title, { cause: options.cause });
    this.name = 'ApiError';
    this.status = catalog[code].status;
    this.title = catalog[code].title;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
    this.logFields = options.logFields ?? {};
  }
}

/** 400 invalid_request: the client's input is malformed; `detail` says how. */
export function invalid(detail: string): ApiError {
  return new ApiError('invalid_request', { detail });
}

/** 401 unauthorized for a bearer token that names no live session (RFC 6750's invalid_token). */
export function unauthorized(detail: string): ApiError {
  return new ApiError('unauthorized', { detail, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
}

export type Dependency = 'redis' | 'postgres';

/** A backing store could not be reached or answered too slowly: 503, safe to retry. */
export class DependencyError extends ApiError {
  constructor(readonly dependency: Dependency, cause: unknown) {
    super('service_unavailable', {
      retryAfterSeconds: 5,
      logFields: { dependency, cause: describeCause(cause) },
      cause,
    });
    this.name = 'DependencyError';
  }
}

/** A failure's class and code, never its message: messages can carry data or connection strings. */
export function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) {
    // A WebSocket's ErrorEvent (the Neon driver failing to connect) carries the Error inside.
    const inner = (cause as { error?: unknown } | null)?.error;
    return inner instanceof Error ? `WebSocket:${describeCause(inner)}` : typeof cause;
  }
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? `${cause.name}:${code}` : cause.name;
}
