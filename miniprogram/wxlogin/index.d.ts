// Types for the wxlogin mini program kit (index.js), for TypeScript mini programs.

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

/**
 * The platform API the kit calls: wx, uni-app's uni, or Taro. Their request, login and sync
 * storage calls match wx's; the kit takes callbacks and Promise answers alike.
 */
export interface PlatformApi {
  request(options: any): any;
  login(options: any): any;
  getStorageSync(key: string): any;
  setStorageSync(key: string, value: any): void;
  removeStorageSync(key: string): void;
  getAccountInfoSync?(): { miniProgram: { appId: string } };
}

/** 微信云托管: the backend's service, reached with wx.cloud.callContainer (no request legal domain, no ICP filing). */
export interface CloudOptions {
  /** The 云托管 environment id. */
  env: string;
  /** The service name (sent as X-WX-SERVICE). */
  service: string;
  /** 资源复用: the appid of the mini program that owns the environment, when it is not this one. */
  resourceAppid?: string;
}

export interface ClientOptions {
  /**
   * Where the wxlogin functions are deployed, e.g. "https://your-app.vercel.app". May be left out
   * with `cloud`; then only absolute URLs use it.
   */
  baseUrl?: string;
  /** Paths go through wx.cloud.callContainer to this 云托管 service instead of wx.request to baseUrl. */
  cloud?: CloudOptions;
  /** Default: the global wx. uni-app: `uni`; Taro: `Taro` from '@tarojs/taro'. */
  platform?: PlatformApi;
  /** Defaults to wx.getAccountInfoSync().miniProgram.appId. */
  appid?: string;
  /**
   * Origins besides baseUrl's that may receive the token, e.g. ["https://files.example.com"].
   * Any other URL is sent without it.
   */
  trustedOrigins?: string[];
  /** The language of error.message. Default "zh". */
  language?: Language;
  /** Storage key for the session. Default "wxlogin:session". */
  storageKey?: string;
  /**
   * Request timeout in ms. Default: none given, so the platform's applies (in WeChat, app.json's
   * networkTimeout.request, 60 s unless set there).
   */
  timeout?: number;
  /**
   * How long a login may wait for wx.login, in ms: given to wx.login as its timeout and enforced
   * by the kit, so a wx.login that never answers cannot hold every request. Default 10000.
   */
  loginTimeout?: number;
  retry?: RetryPolicy;
}

export interface LoginResult {
  token: string;
  /** ISO-8601: the session's absolute expiry. */
  expiresAt: string;
  user: { id: string; isNew: boolean };
}

/** One of the person's accounts: the same person in another of the company's mini programs. */
export interface Account {
  appid: string;
  openid: string;
  linkedAt: string;
}

/** GET /api/me's user. */
export interface User {
  id: string;
  /** The mini program this session belongs to. */
  appid: string;
  openid: string;
  unionid: string | null;
  createdAt: string;
  /** Masked ("138****0000"), or null: no number bound yet (show the getphonenumber button). */
  phone: string | null;
  accounts: Account[];
}

/** The getphonenumber button's event (bindgetphonenumber). */
export interface PhoneNumberEvent {
  detail: { code?: string; errMsg?: string };
}

export type PhoneBinding =
  | { status: 'bound'; phoneNumber: string; purePhoneNumber: string; countryCode: string }
  /** The person declined ("getPhoneNumber:fail user deny"): nothing was sent. */
  | { status: 'denied'; errMsg: string };

/** A claimed benefit: which one, in which mini program, when. */
export interface Claim {
  benefit: string;
  appid: string;
  claimedAt: string;
}

/** GET /api/benefits's entries: each benefit and its state for the person. */
export interface Benefit {
  key: string;
  title: { zh: string; en: string };
  status: 'available' | 'claimed' | 'ineligible';
  /** Where and when, when claimed; appid null for a claim by an account of theirs since deleted. */
  claim?: { appid: string | null; claimedAt: string };
  /** Why not, when ineligible: a claim_refused reason (messageFor('claim_refused', reason)). */
  reason?: string;
}

/** One agreement to a document (隐私保护指引, 用户协议, …) in one mini program. */
export interface Consent {
  /** 'privacy', 'terms', or a document the backend is configured with (CONSENT_DOCUMENTS). */
  document: string;
  /** The version the mini program showed, as it names it ("2026-06-01"). */
  version: string;
  /** The mini program it was given in. */
  appid: string;
  agreedAt: string;
  /** null while in force. */
  withdrawnAt: string | null;
}

/** The platform's request task (wx.request's RequestTask): abort(), onHeadersReceived(), ... */
export interface RequestTask {
  abort(): void;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export interface RequestOptions {
  /**
   * A path under baseUrl ("/api/me") or an absolute URL. The token goes only to URLs under baseUrl
   * (same origin and path prefix) and to trustedOrigins; other servers never get it.
   */
  url: string;
  method?: Method;
  /** A JSON body (any object, interfaces included), a string, or bytes. */
  data?: string | object | ArrayBuffer;
  header?: Record<string, string>;
  /** In ms; overrides the client's timeout for this request. */
  timeout?: number;
  /** false: send no token and never log in (public endpoints). Default true. */
  auth?: boolean;
  retry?: RetryPolicy;
  /**
   * Whether repeating the request is harmless, so `retry` may send it again. Default: true for
   * GET and HEAD and for requests with an Idempotency-Key header, false otherwise (a one-time
   * code must never be sent twice).
   */
  idempotent?: boolean;
  /** Called with the platform's task of each try, e.g. to abort() it (the call then rejects with "aborted"). */
  onTask?: (task: RequestTask) => void;
  // Passed on to the platform's request as they are:
  /** "json" (default) parses the body; anything else leaves it a string. */
  dataType?: string;
  responseType?: 'text' | 'arraybuffer';
  enableHttp2?: boolean;
  enableQuic?: boolean;
  enableCache?: boolean;
  enableHttpDNS?: boolean;
  httpDNSServiceId?: string;
  enableChunked?: boolean;
  forceCellularNetwork?: boolean;
}

export interface Response<T = any> {
  statusCode: number;
  data: T;
  /** Header names in whatever case the platform gives them. */
  header: Record<string, string>;
  cookies?: string[];
}

/** The fields a WxLoginError carries besides its code and message. */
export interface WxLoginErrorFields {
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Seconds from the Retry-After header, or null. */
  retryAfter: number | null;
  /** Matches the server's log line for this request. */
  requestId: string | null;
  /** The server's problem+json detail, for developers. */
  detail: string | null;
  /** The response body as the platform parsed it. */
  data: unknown;
  /** The platform's errMsg ("request:fail ...", "login:fail ...") for client-side failures. */
  errMsg: string | null;
  /** What was thrown, for a client_error. */
  cause: unknown;
  /** bindPhone() only: a new tap (a new code) may succeed; the code sent is spent or stale. */
  tapAgain?: boolean;
}

export type Language = 'zh' | 'en';

/**
 * Every rejection. `message` is a short sentence for people, in the client's language (Chinese by
 * default): `wx.showToast({ title: error.message, icon: 'none' })`. `code` is the server's
 * problem+json code ("unauthorized", "not_found", "wechat_unavailable", ...), "http_<status>" for
 * a non-problem error body, or a client-side code:
 * "network_error", "aborted", "wx_login_failed", "logged_out", "invalid_response",
 * "invalid_config", "invalid_argument", "wx_phone_failed", "client_error".
 */
export declare class WxLoginError extends Error {
  constructor(code: string, message: string, fields?: Partial<WxLoginErrorFields>);
  name: 'WxLoginError';
  code: string;
}
export interface WxLoginError extends WxLoginErrorFields {}

/** Every call answers with a Promise (getToken() excepted); none throws. */
export interface Client {
  /** Logs in now; concurrent callers share one wx.login + POST /api/login. */
  login(): Promise<LoginResult>;
  /** The platform's request with the token; logs in when needed; one re-login and retry on 401. */
  request<T = any>(options: RequestOptions): Promise<Response<T>>;
  /**
   * Ends the session on the server, then forgets the token; `all` ends every session of the user.
   * Rejected, the token is kept so that calling logout() again can end it.
   */
  logout(options?: { all?: boolean }): Promise<void>;
  /** The token, or null when logged out or expired. */
  getToken(): string | null;
  /** GET /api/me: who is logged in, their phone (masked) and their accounts in other mini programs. */
  me(): Promise<User>;
  /**
   * Binds the number from the getphonenumber button's event. The code goes to the server exactly
   * once (never retried: it is single-use and billed); on failure, `error.tapAgain` says whether
   * asking the person to tap again may help.
   */
  bindPhone(event: PhoneNumberEvent): Promise<PhoneBinding>;
  /** GET /api/benefits: every benefit with its state for this person. */
  benefits(): Promise<Benefit[]>;
  /**
   * POST /api/claims with an automatic Idempotency-Key, kept until an answer arrives, so claiming
   * again after a lost answer cannot claim twice. Rejects with already_claimed (error.data is the
   * earlier Claim) or claim_refused (error.data.reason says why).
   */
  claim(key: string): Promise<Claim>;
  /**
   * POST /api/me/consents: records that the person agreed, in this mini program, to this version of
   * the document. Call it after they agreed in your own consent UI (and, for WeChat's privacy popup,
   * after wx.requirePrivacyAuthorize succeeds). Recording the same version again is harmless.
   */
  recordConsent(document: string, version: string): Promise<Consent>;
  /** DELETE /api/me/consents/{document}: withdraws the agreement in this mini program; it stays on record. */
  withdrawConsent(document: string): Promise<void>;
  /** GET /api/me/consents: every agreement of the person in every mini program, withdrawals included. */
  consents(): Promise<Consent[]>;
}

/** Per language, the sentence for each error code ("claim_refused:<reason>" for refused claims; "unknown" for any other). */
export declare const messages: Record<Language, Record<string, string>>;
/** The sentence for a code (and a claim_refused reason), Chinese unless `language` says otherwise. */
export declare function messageFor(code: string, reason?: string | null, language?: Language): string;

/** A bad configuration gives a client whose calls reject with invalid_config. */
export declare function createClient(options: ClientOptions): Client;
/** Sets up the module-level client used by the functions below. Call once in app.js. */
export declare function configure(options: ClientOptions): Client;
export declare function login(): Promise<LoginResult>;
export declare function request<T = any>(options: RequestOptions): Promise<Response<T>>;
export declare function logout(options?: { all?: boolean }): Promise<void>;
export declare function getToken(): string | null;
export declare function me(): Promise<User>;
export declare function bindPhone(event: PhoneNumberEvent): Promise<PhoneBinding>;
export declare function benefits(): Promise<Benefit[]>;
export declare function claim(key: string): Promise<Claim>;
export declare function recordConsent(document: string, version: string): Promise<Consent>;
export declare function withdrawConsent(document: string): Promise<void>;
export declare function consents(): Promise<Consent[]>;
