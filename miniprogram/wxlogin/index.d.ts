// Types for wxlogin/index.js, for TypeScript mini programs.

/**
 * Waiting out a 429/503 and trying again. Only requests safe to repeat are retried: GET and HEAD,
 * a request carrying an Idempotency-Key header, or one marked `idempotent: true`.
 */
export interface RetryPolicy {
  /** Extra tries after a 429/503 that carries Retry-After. Default 0: surface it at once. */
  attempts?: number;
  /** The longest Retry-After worth waiting for, in seconds; longer ones are surfaced. Default 5. */
  maxWaitSeconds?: number;
}

export interface ClientOptions {
  /** Where the wxlogin functions are deployed, e.g. "https://your-app.vercel.app". */
  baseUrl: string;
  /** Defaults to wx.getAccountInfoSync().miniProgram.appId. */
  appid?: string;
  /**
   * Origins besides baseUrl's that may receive the token, e.g. ["https://files.example.com"].
   * Any other URL is sent without it.
   */
  trustedOrigins?: string[];
  /** wx storage key for the token. Default "wxlogin:session". */
  storageKey?: string;
  /**
   * How long a login may wait for wx.login, in ms: given to wx.login as its timeout and enforced
   * by the kit, so a wx.login that never answers cannot hold every request. Default 10000.
   */
  loginTimeout?: number;
  /** wx.request timeout in ms. Default 15000. */
  timeout?: number;
  retry?: RetryPolicy;
}

export interface LoginResult {
  token: string;
  /** ISO-8601: the session's absolute expiry. */
  expiresAt: string;
  user: { id: string; isNew: boolean };
}

export interface RequestOptions {
  /**
   * A path under baseUrl ("/api/me") or an absolute URL. The token goes only to URLs under baseUrl
   * (same origin and path prefix) and to trustedOrigins; other servers never get it.
   */
  url: string;
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  data?: string | Record<string, unknown> | ArrayBuffer;
  header?: Record<string, string>;
  timeout?: number;
  /** false: send no token and never log in (public endpoints). Default true. */
  auth?: boolean;
  /**
   * Whether repeating the request is harmless, so `retry` may send it again. Default: true for
   * GET and HEAD and for requests with an Idempotency-Key header, false otherwise (a one-time
   * code must never be sent twice).
   */
  idempotent?: boolean;
  retry?: RetryPolicy;
}

export interface Response<T = any> {
  statusCode: number;
  data: T;
  header: Record<string, string>;
}

/**
 * Every rejection. `code` is the server's problem+json code ("unauthorized", "not_found",
 * "wechat_unavailable", ...), "http_<status>" for a non-problem error body, or one of the
 * client-side codes "network_error", "wx_login_failed", "invalid_response", "invalid_config".
 */
export declare class WxLoginError extends Error {
  name: 'WxLoginError';
  code: string;
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Seconds from the Retry-After header, or null. */
  retryAfter: number | null;
  requestId: string | null;
  detail: string | null;
  /** The response body as wx.request parsed it. */
  data: unknown;
  /** wx's errMsg ("request:fail ...", "login:fail ...") for client-side failures. */
  errMsg: string | null;
}

export interface Client {
  /** Logs in now; concurrent callers share one wx.login + POST /api/login. */
  login(): Promise<LoginResult>;
  /** wx.request with the token; logs in when needed; one re-login and retry on 401. */
  request<T = any>(options: RequestOptions): Promise<Response<T>>;
  /** Ends the session on the server and forgets the token; `all` ends every session of the user. */
  logout(options?: { all?: boolean }): Promise<void>;
  /** The stored token, or null when logged out or expired. */
  getToken(): string | null;
}

export declare function createClient(options: ClientOptions): Client;
/** Sets up the module-level client used by the functions below. Call once in app.js. */
export declare function configure(options: ClientOptions): Client;
export declare function login(): Promise<LoginResult>;
export declare function request<T = any>(options: RequestOptions): Promise<Response<T>>;
export declare function logout(options?: { all?: boolean }): Promise<void>;
export declare function getToken(): string | null;
