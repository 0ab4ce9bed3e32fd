// Environment → validated configuration. Errors name the variable, never its value.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { isRole, ROLES, type Role } from './roles.js';

/** miniprogram (小程序, the default), mp (公众号, official account), website (网站应用, open platform). */
export type AppKind = 'miniprogram' | 'mp' | 'website';
export const APP_KINDS: readonly AppKind[] = ['miniprogram', 'mp', 'website'];

export interface WechatApp {
  appid: string;
  secret: string;
  kind: AppKind;
}

/** Where a session was opened: in a mini program, or on the web (scan-to-login, 公众号, 网站应用). */
export type Channel = 'miniprogram' | 'web';

/** How long a channel's sessions live and how many a person keeps. */
export interface SessionPolicy {
  idleTtlSeconds: number;
  maxAgeSeconds: number;
  /** miniprogram: per person and mini program; web: per person, all sites together. */
  maxSessions: number;
}

/** Scan-to-login: the mini program code a PC site shows (getwxacodeunlimit). */
export interface WebLoginConfig {
  /** The page the code opens, without a leading slash. */
  page: string;
  /** release, trial or develop: which version of the mini program the code opens. */
  envVersion: 'release' | 'trial' | 'develop';
  /** Where 公众号 and 网站应用 sign-ins may return, per appid: exact URLs (WEB_REDIRECTS). */
  redirects: ReadonlyMap<string, ReadonlySet<string>>;
  /** Our own origin, where WeChat sends the browser back (PUBLIC_BASE_URL); null: OAuth sign-in is off. */
  publicBaseUrl: string | null;
  /** open.weixin.qq.com: the authorize and qrconnect pages (WECHAT_OPEN_BASE, for tests). */
  openBase: string;
}

export interface DatabaseConfig {
  /** For functions: Neon's pooled URL (Vercel's Neon integration sets it). */
  databaseUrl: string;
  /** For migrations, which hold a session-level lock: DATABASE_URL_UNPOOLED, else DATABASE_URL. */
  directDatabaseUrl: string;
  /** host:port of a plain WebSocket-to-TCP proxy in front of a local PostgreSQL. */
  neonWsProxy: string | null;
  /**
   * 'neon': Neon's driver, over WebSockets (Neon's hosts, or NEON_WS_PROXY); 'pg': node-postgres
   * over TCP, for any other PostgreSQL. DATABASE_DRIVER overrides the choice.
   */
  databaseDriver: 'neon' | 'pg';
  databasePoolMax: number;
}

export interface Config extends DatabaseConfig {
  apps: ReadonlyMap<string, WechatApp>;
  /** What operators call each mini program (WECHAT_APP_NAMES), by appid; the console shows it. */
  appNames: ReadonlyMap<string, string>;
  wechatApiBase: string;
  /**
   * Upstash's REST API (serverless functions), a Redis server over TCP (REDIS_URL: a long-lived
   * server), or null: sessions live in this process (local development only).
   */
  redis: { kind: 'upstash'; url: string; token: string } | { kind: 'tcp'; url: string } | null;
  /**
   * Starts every Redis key: one namespace per environment, so previews and production sharing an
   * Upstash database never see each other's keys.
   */
  redisKeyPrefix: string;
  /**
   * SESSION_ENCRYPTION_KEY: the first seals secrets at rest and keys new sessions' storage ids;
   * all of them open and find what was made under them (rotation).
   */
  sessionKeys: readonly Buffer[];
  sessionIdleTtlSeconds: number;
  sessionMaxAgeSeconds: number;
  /** Live sessions per person per mini program; a login past it ends the oldest. */
  sessionMaxPerApp: number;
  /** Web sessions: their own lifetimes and cap (SESSION_WEB_*). */
  webSessions: SessionPolicy;
  webLogin: WebLoginConfig;
  /** What a person can claim once, across all mini programs. */
  benefits: ReadonlySet<string>;
  /** The documents a person may agree to (POST /api/me/consents): privacy, terms and CONSENT_DOCUMENTS. */
  consentDocuments: readonly string[];
  /** null: that limit is off. */
  rateLimits: Record<RateLimitName, RateLimit | null>;
  /** x-real-ip / x-forwarded-for were set by a proxy we trust (Vercel, or our local server). */
  trustProxyHeaders: boolean;
  /**
   * A proxy in front of the deployment (a mainland CDN on the ICP-filed domain) that names the
   * client in a header of its own: trusted only on requests carrying its secret.
   */
  frontProxy: { clientIpHeader: string; secret: string } | null;
  /**
   * WeChat Cloud Run (微信云托管): the environment id whose gateway's X-WX-* headers log people in
   * without code2Session (WXCLOUDRUN_IDENTITY_ENV); null: those headers are never believed.
   */
  wxcloudrunIdentityEnv: string | null;
  /**
   * 微信云托管's 开放接口服务 (WECHAT_OPEN_API_SERVICE=1): the address of WeChat's sidecar that calls
   * APIs needing an access_token with one of its own (WECHAT_OPEN_API_BASE, default
   * http://api.weixin.qq.com); null: we fetch the access_token ourselves (stable_token).
   */
  wechatOpenApiBase: string | null;
  /** Keys the session-id hash in access logs, so logs cannot be joined with a leaked store. */
  logSalt: Buffer;
  /** Operators' keys (ADMIN_KEYS): the admin API, each as far as its role allows. */
  adminKeys: readonly OperatorKey[];
  /** The company's services' keys (SERVICE_KEYS): token introspection and the claims feed. */
  serviceKeys: readonly NamedKey[];
  /**
   * Keys the identity hashes that account deletion keeps per claimed benefit (IDENTITY_HASH_KEY,
   * else derived from the first encryption key: set it before rotating SESSION_ENCRYPTION_KEY).
   */
  identityHashKey: Buffer;
  /** How long the audit trail keeps events. */
  eventsRetentionDays: number;
  /** Vercel Cron's bearer secret (CRON_SECRET), for scheduled maintenance; null: only admin keys. */
  cronSecret: string | null;
  /**
   * PUBLIC_BASE_URL: the HTTPS origin devices and WeChat reach this deployment at (the ICP-filed
   * domain), for avatar URLs; WeChat's image check downloads from it. null: avatars are paths.
   */
  publicBaseUrl: string | null;
  /** WECHAT_PUSH: each mini program's 消息推送 Token and, in 安全模式, EncodingAESKey, by appid. */
  wechatPush: ReadonlyMap<string, WechatPush>;
}

/** A mini program's 消息推送 settings (开发管理 → 消息推送配置). */
export interface WechatPush {
  token: string;
  /** The AES key EncodingAESKey stands for (安全模式); null: 明文模式. */
  aesKey: Buffer | null;
}

/** A server-side key, known by its SHA-256 only; its name is who acts (admin:<name>, service:<name>). */
export interface NamedKey {
  name: string;
  digest: Buffer;
}

/** An operator's key: what it may do is its role's. */
export interface OperatorKey extends NamedKey {
  role: Role;
}

export type RateLimitName = 'loginPerIp' | 'loginPerAccount' | 'perSession' | 'authFailuresPerIp' | 'exportPerPerson' | 'webTicketPerIp';

export interface RateLimit {
  tokens: number;
  windowSeconds: number;
}

/** Environment variable and default (`<count>/<window>`, window in s, m or h) of each limit. */
const RATE_LIMIT_SETTINGS: Record<RateLimitName, { env: string; fallback: string }> = {
  // One address can be a carrier NAT with thousands of phones behind it: generous.
  loginPerIp: { env: 'RATE_LIMIT_LOGIN_PER_IP', fallback: '1200/1m' },
  // WeChat allows 100 code2Session calls a minute per user (45011); a person needs a few.
  loginPerAccount: { env: 'RATE_LIMIT_LOGIN_PER_ACCOUNT', fallback: '10/1m' },
  perSession: { env: 'RATE_LIMIT_PER_SESSION', fallback: '120/1m' },
  // Unknown or expired tokens and wrong keys, counted in memory: refusing writes nothing to Redis.
  authFailuresPerIp: { env: 'RATE_LIMIT_AUTH_FAILURES_PER_IP', fallback: '300/1m' },
  // A person's copy of everything we hold reads every store: a few a day is plenty.
  exportPerPerson: { env: 'RATE_LIMIT_EXPORT_PER_PERSON', fallback: '3/24h' },
  // Each ticket costs one getwxacodeunlimit call, of 5,000 a minute per mini program.
  webTicketPerIp: { env: 'RATE_LIMIT_WEB_TICKET_PER_IP', fallback: '20/1m' },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  // Deployed previews and production run many instances: in-process state would silently break.
  // NODE_ENV=production is every other deployment's mark (npm start sets it).
  const deployed = env.VERCEL_ENV === 'production' || env.VERCEL_ENV === 'preview' || env.NODE_ENV === 'production';

  const sessionKeys = parseSessionKeys(env, deployed);
  const config: Config = {
    apps: parseApps(env),
    appNames: parseAppNames(env),
    wechatApiBase: parseUrl(env, 'WECHAT_API_BASE', 'https://api.weixin.qq.com').replace(/\/+$/, ''),
    redis: parseRedis(env),
    redisKeyPrefix: parseRedisKeyPrefix(env),
    ...loadDatabaseConfig(env),
    sessionKeys,
    sessionIdleTtlSeconds: positiveInt(env, 'SESSION_IDLE_TTL', 7 * 24 * 3600),
    sessionMaxAgeSeconds: positiveInt(env, 'SESSION_MAX_AGE', 30 * 24 * 3600),
    sessionMaxPerApp: positiveInt(env, 'SESSION_MAX_PER_APP', 10),
    webSessions: {
      idleTtlSeconds: positiveInt(env, 'SESSION_WEB_IDLE_TTL', 12 * 3600),
      maxAgeSeconds: positiveInt(env, 'SESSION_WEB_MAX_AGE', 7 * 24 * 3600),
      maxSessions: positiveInt(env, 'SESSION_WEB_MAX', 5),
    },
    webLogin: parseWebLogin(env),
    benefits: new Set(parseKeys(env, 'BENEFITS', ['welcome-gift'])),
    consentDocuments: [...new Set(['privacy', 'terms', ...parseKeys(env, 'CONSENT_DOCUMENTS', [])])],
    rateLimits: parseRateLimits(env),
    // Vercel overwrites both headers with the connecting address; elsewhere a client could choose them.
    trustProxyHeaders: onVercel(env) || optional(env, 'TRUST_PROXY_HEADERS') === '1',
    frontProxy: parseFrontProxy(env),
    wxcloudrunIdentityEnv: parseWxcloudrunEnv(env),
    wechatOpenApiBase:
      optional(env, 'WECHAT_OPEN_API_SERVICE') === '1' ? parseUrl(env, 'WECHAT_OPEN_API_BASE', 'http://api.weixin.qq.com').replace(/\/+$/, '') : null,
    logSalt: parseLogSalt(env, sessionKeys[0]!),
    adminKeys: parseOperatorKeys(env),
    serviceKeys: parseNamedKeys(env, 'SERVICE_KEYS'),
    identityHashKey: parseIdentityHashKey(env, sessionKeys[0]!),
    eventsRetentionDays: positiveInt(env, 'EVENTS_RETENTION_DAYS', 180),
    cronSecret: optional(env, 'CRON_SECRET'),
    publicBaseUrl: optional(env, 'PUBLIC_BASE_URL') && parseUrl(env, 'PUBLIC_BASE_URL', '').replace(/\/+$/, ''),
    wechatPush: parseWechatPush(env),
  };
  const adminDigests = new Set(config.adminKeys.map((key) => key.digest.toString('hex')));
  if (config.serviceKeys.some((key) => adminDigests.has(key.digest.toString('hex')))) {
    throw new ConfigError('ADMIN_KEYS and SERVICE_KEYS must not share a key: each kind opens different doors');
  }
  if (config.apps.size === 0) {
    throw new ConfigError('Set WECHAT_APPS (appid:secret pairs, comma separated) or WECHAT_APPID and WECHAT_SECRET');
  }
  for (const appid of config.appNames.keys()) {
    if (!config.apps.has(appid)) throw new ConfigError(`WECHAT_APP_NAMES names appid ${appid}, which WECHAT_APPS does not serve`);
  }
  if (deployed && !config.redis) {
    throw new ConfigError(
      'Set REDIS_URL (redis:// or rediss://), or UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN (or KV_REST_API_URL and KV_REST_API_TOKEN)',
    );
  }
  if (config.sessionIdleTtlSeconds > config.sessionMaxAgeSeconds) {
    throw new ConfigError('SESSION_IDLE_TTL must not exceed SESSION_MAX_AGE');
  }
  if (config.webSessions.idleTtlSeconds > config.webSessions.maxAgeSeconds) {
    throw new ConfigError('SESSION_WEB_IDLE_TTL must not exceed SESSION_WEB_MAX_AGE');
  }
  return config;
}

/** The database settings alone: enough for migrations, which need no WeChat app. */
export function loadDatabaseConfig(env: Env = process.env): DatabaseConfig {
  const databaseUrl = required(env, 'DATABASE_URL');
  const neonWsProxy = optional(env, 'NEON_WS_PROXY');
  return {
    databaseUrl,
    directDatabaseUrl: optional(env, 'DATABASE_URL_UNPOOLED') ?? databaseUrl,
    neonWsProxy,
    databaseDriver: parseDatabaseDriver(env, databaseUrl, neonWsProxy),
    databasePoolMax: positiveInt(env, 'DATABASE_POOL_MAX', 10),
  };
}

/** The kind of a configured app; null for an app no longer configured. */
export function appKindOf(appid: string): AppKind | null {
  return config().apps.get(appid)?.kind ?? null;
}

/** Neon's hosts, directly or through Vercel Postgres. */
export function isNeonUrl(url: string): boolean {
  try {
    return /\.(neon\.tech|vercel-storage\.com)$/i.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

function parseDatabaseDriver(env: Env, databaseUrl: string, neonWsProxy: string | null): DatabaseConfig['databaseDriver'] {
  const explicit = optional(env, 'DATABASE_DRIVER');
  if (explicit === 'neon' || explicit === 'pg') return explicit;
  if (explicit !== null) throw new ConfigError('DATABASE_DRIVER must be neon or pg');
  return neonWsProxy !== null || isNeonUrl(databaseUrl) ? 'neon' : 'pg';
}

let current: Config | undefined;
let currentDatabase: DatabaseConfig | undefined;

/** The process-wide configuration, read from the environment on first use. */
export function config(): Config {
  current ??= loadConfig();
  return current;
}

export function databaseConfig(): DatabaseConfig {
  currentDatabase ??= current ?? loadDatabaseConfig();
  return currentDatabase;
}

/**
 * Running on Vercel, which sets VERCEL and overwrites the headers it owns (x-vercel-id,
 * x-forwarded-for...). Read from the environment directly: it needs no validation, and request
 * ids are chosen before the configuration may have loaded.
 */
export function onVercel(env: Env = process.env): boolean {
  return optional(env, 'VERCEL') !== null;
}

function optional(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function required(env: Env, name: string): string {
  const value = optional(env, name);
  if (value === null) throw new ConfigError(`Set ${name}`);
  return value;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = optional(env, name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0) throw new ConfigError(`${name} must be a positive whole number`);
  return Number(raw);
}

function parseUrl(env: Env, name: string, fallback: string): string {
  const raw = optional(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL`);
  return raw;
}

/** `appid:secret` (a mini program) or `appid:secret:kind`, comma separated. */
function parseApps(env: Env): Map<string, WechatApp> {
  const apps = new Map<string, WechatApp>();
  const add = (appid: string, secret: string, kind: string, source: string) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(appid) || !secret) {
      throw new ConfigError(`${source} must hold appid:secret pairs (appid of letters, digits, _ or -)`);
    }
    if (!APP_KINDS.includes(kind as AppKind)) throw new ConfigError(`${source}: the kind of ${appid} must be one of ${APP_KINDS.join(', ')}`);
    if (apps.has(appid)) throw new ConfigError(`${source} names appid ${appid} twice`);
    apps.set(appid, { appid, secret, kind: kind as AppKind });
  };
  const list = optional(env, 'WECHAT_APPS');
  if (list) {
    for (const entry of list.split(',')) {
      const [appid = '', secret = '', kind = 'miniprogram', ...rest] = entry.split(':').map((part) => part.trim());
      if (rest.length > 0) throw new ConfigError('WECHAT_APPS entries are appid:secret or appid:secret:kind');
      add(appid, secret, kind, 'WECHAT_APPS');
    }
  }
  const appid = optional(env, 'WECHAT_APPID');
  const secret = optional(env, 'WECHAT_SECRET');
  if (appid || secret) {
    if (!appid || !secret) throw new ConfigError('Set both WECHAT_APPID and WECHAT_SECRET, or neither');
    add(appid, secret, 'miniprogram', 'WECHAT_APPID/WECHAT_SECRET');
  }
  return apps;
}

/** `appid:name` pairs, comma separated: names of up to 32 characters, no control characters. */
function parseAppNames(env: Env): Map<string, string> {
  const names = new Map<string, string>();
  for (const pair of (optional(env, 'WECHAT_APP_NAMES') ?? '').split(',').filter((pair) => pair.trim())) {
    const at = pair.indexOf(':');
    const [appid, name] = [pair.slice(0, Math.max(at, 0)).trim(), pair.slice(at + 1).trim()];
    if (at < 0 || !appid || !/^[^\p{Cc}\p{Cf}]{1,32}$/u.test(name)) {
      throw new ConfigError('WECHAT_APP_NAMES must hold appid:name pairs, comma separated (names of 1 to 32 characters)');
    }
    names.set(appid, name);
  }
  return names;
}

/** `appid:token` or `appid:token:encodingAESKey`, comma separated, for apps of WECHAT_APPS. */
function parseWechatPush(env: Env): Map<string, WechatPush> {
  const pushes = new Map<string, WechatPush>();
  for (const entry of optional(env, 'WECHAT_PUSH')?.split(',') ?? []) {
    const [appid = '', token = '', encodingAesKey, ...rest] = entry.trim().split(':');
    // WeChat's rules: Token 3-32 letters or digits; EncodingAESKey 43 letters or digits.
    if (!appid || !/^[A-Za-z0-9]{3,32}$/.test(token) || rest.length > 0 || (encodingAesKey !== undefined && !/^[A-Za-z0-9]{43}$/.test(encodingAesKey))) {
      throw new ConfigError('WECHAT_PUSH must hold appid:token or appid:token:encodingAESKey entries (Token 3-32 letters or digits, EncodingAESKey 43)');
    }
    if (pushes.has(appid)) throw new ConfigError(`WECHAT_PUSH names appid ${appid} twice`);
    pushes.set(appid, { token, aesKey: encodingAesKey === undefined ? null : Buffer.from(`${encodingAesKey}=`, 'base64') });
  }
  return pushes;
}

/** WEB_LOGIN_PAGE and WEB_LOGIN_ENV_VERSION; by default the deployment picks the version (production: release, preview: trial). */
function parseWebLogin(env: Env): WebLoginConfig {
  const page = optional(env, 'WEB_LOGIN_PAGE') ?? 'pages/web-login/index';
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(page)) throw new ConfigError('WEB_LOGIN_PAGE must be a page path without a leading slash, e.g. pages/web-login/index');
  const fallback = { production: 'release', preview: 'trial' }[optional(env, 'VERCEL_ENV') ?? ''] ?? 'develop';
  const envVersion = optional(env, 'WEB_LOGIN_ENV_VERSION') ?? fallback;
  if (envVersion !== 'release' && envVersion !== 'trial' && envVersion !== 'develop') {
    throw new ConfigError('WEB_LOGIN_ENV_VERSION must be release, trial or develop');
  }
  const publicBaseUrl = optional(env, 'PUBLIC_BASE_URL');
  if (publicBaseUrl !== null && !/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(publicBaseUrl)) {
    throw new ConfigError('PUBLIC_BASE_URL must be this deployment\'s origin, e.g. https://login.example.com (no path)');
  }
  return {
    page,
    envVersion,
    redirects: parseRedirects(env),
    publicBaseUrl,
    openBase: parseUrl(env, 'WECHAT_OPEN_BASE', 'https://open.weixin.qq.com').replace(/\/+$/, ''),
  };
}

/** WEB_REDIRECTS: `appid:url|url,appid:url`; each URL exact, https (http only for localhost). */
function parseRedirects(env: Env): Map<string, Set<string>> {
  const redirects = new Map<string, Set<string>>();
  for (const entry of (optional(env, 'WEB_REDIRECTS') ?? '').split(',').filter((part) => part.trim())) {
    const at = entry.indexOf(':');
    const urls = entry.slice(at + 1).split('|').map((url) => url.trim());
    for (const url of urls) {
      let parsed: URL | null = null;
      try {
        parsed = new URL(url);
      } catch {}
      const local = parsed?.hostname === 'localhost' || parsed?.hostname === '127.0.0.1';
      if (at < 0 || !parsed || parsed.href !== url || parsed.hash || !(parsed.protocol === 'https:' || (local && parsed.protocol === 'http:'))) {
        throw new ConfigError('WEB_REDIRECTS must hold appid:url|url pairs, comma separated, each URL absolute, https and without a fragment');
      }
    }
    redirects.set(entry.slice(0, at).trim(), new Set(urls));
  }
  return redirects;
}

/** Comma-separated names of lowercase letters, digits, _ or - (benefit keys, document names). */
function parseKeys(env: Env, variable: string, fallback: string[]): string[] {
  const raw = optional(env, variable);
  const names = raw === null ? fallback : raw.split(',').map((name) => name.trim());

  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
      throw new ConfigError(`${variable} must be comma-separated names of lowercase letters, digits, _ or -`);
    }
  }
  return names;
}

/**
 * Upstash's REST variables first: Vercel's Upstash integration sets a TCP URL beside them, and a
 * function is better served by REST. REDIS_URL otherwise.
 */
function parseRedis(env: Env): Config['redis'] {
  for (const [urlName, tokenName] of [
    ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN'],
    ['KV_REST_API_URL', 'KV_REST_API_TOKEN'],
  ] as const) {
    if (optional(env, urlName) === null && optional(env, tokenName) === null) continue;
    return { kind: 'upstash', url: parseUrl(env, urlName, ''), token: required(env, tokenName) };
  }
  const url = optional(env, 'REDIS_URL');
  if (url === null) return null;
  if (!/^rediss?:\/\/[^/]/.test(url)) throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  return { kind: 'tcp', url };
}

/** REDIS_KEY_PREFIX, else wxlogin:<VERCEL_ENV>: (production, preview, development), else wxlogin:local:. */
function parseRedisKeyPrefix(env: Env): string {
  const raw = optional(env, 'REDIS_KEY_PREFIX') ?? `wxlogin:${optional(env, 'VERCEL_ENV') ?? 'local'}:`;
  // A {hash tag} puts every key in one Redis Cluster slot (docs/deployment.md).
  if (!/^[\w:.{}-]{1,64}$/.test(raw)) throw new ConfigError('REDIS_KEY_PREFIX must be up to 64 letters, digits, _ . : { } or -');
  return raw;
}

function parseSessionKeys(env: Env, deployed: boolean): Buffer[] {
  const raw = optional(env, 'SESSION_ENCRYPTION_KEY');
  if (raw === null) {
    if (deployed) throw new ConfigError('Set SESSION_ENCRYPTION_KEY (32 random bytes, base64): openssl rand -base64 32');
    // Local development: a per-process key only makes session keys stored before a restart unreadable.
    return [randomBytes(32)];
  }
  return raw.split(',').map((part) => {
    const key = Buffer.from(part.trim(), 'base64');
    if (key.length !== 32) {
      throw new ConfigError('SESSION_ENCRYPTION_KEY must be 32 bytes in base64 (comma-separate several to rotate)');
    }
    return key;
  });
}

function parseRateLimits(env: Env): Record<RateLimitName, RateLimit | null> {
  const limits = {} as Record<RateLimitName, RateLimit | null>;
  for (const [name, { env: variable, fallback }] of Object.entries(RATE_LIMIT_SETTINGS)) {
    const raw = optional(env, variable) ?? fallback;
    const match = /^(\d+)\s*\/\s*(\d+)\s*([smh])$/.exec(raw);
    if (raw === 'off') {
      limits[name as RateLimitName] = null;
    } else if (match && Number(match[1]) > 0 && Number(match[2]) > 0) {
      const unit = { s: 1, m: 60, h: 3600 }[match[3] as 's' | 'm' | 'h'];
      limits[name as RateLimitName] = { tokens: Number(match[1]), windowSeconds: Number(match[2]) * unit };
    } else {
      throw new ConfigError(`${variable} must look like 30/1m (count per window in s, m or h) or be off`);
    }
  }
  return limits;
}

function parseFrontProxy(env: Env): Config['frontProxy'] {
  const header = optional(env, 'FRONT_PROXY_CLIENT_IP_HEADER');
  const secret = optional(env, 'FRONT_PROXY_SECRET');
  if (header === null && secret === null) return null;
  if (header === null || !/^[a-z0-9-]{1,64}$/i.test(header)) {
    throw new ConfigError('FRONT_PROXY_CLIENT_IP_HEADER must name the header your proxy puts the client address in (e.g. x-client-ip)');
  }
  if (secret === null || secret.length < 32) {
    throw new ConfigError('FRONT_PROXY_SECRET must be at least 32 random characters, sent by the proxy as X-Front-Proxy-Secret');
  }
  return { clientIpHeader: header.toLowerCase(), secret };
}

function parseWxcloudrunEnv(env: Env): string | null {
  const id = optional(env, 'WXCLOUDRUN_IDENTITY_ENV');
  if (id !== null && !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
    throw new ConfigError('WXCLOUDRUN_IDENTITY_ENV must be your 微信云托管 environment id (letters, digits, _ or -)');
  }
  return id;
}

/** `name:key` pairs, comma separated; keys of at least 32 characters, kept only as SHA-256. */
function parseNamedKeys(env: Env, variable: string): NamedKey[] {
  return namedEntries(env, variable).map(({ name, rest }) => namedKey(variable, name, rest));
}

/**
 * ADMIN_KEYS: `name:key` (an admin, as before roles) or `name:role:key`. A wrong entry never
 * echoes what it holds: the part read as a role may be a piece of a key.
 */
function parseOperatorKeys(env: Env): OperatorKey[] {
  return namedEntries(env, 'ADMIN_KEYS').map(({ name, rest }) => {
    const parts = rest.split(':');
    const role = parts.length === 2 ? parts[0]!.trim() : 'admin';
    if (parts.length > 2 || !isRole(role)) {
      throw new ConfigError(`ADMIN_KEYS: the entry named ${name} must be name:key or name:role:key, the role one of ${ROLES.join(', ')}`);
    }
    return { ...namedKey('ADMIN_KEYS', name, parts[parts.length - 1]!), role };
  });
}

function namedEntries(env: Env, variable: string): { name: string; rest: string }[] {
  const raw = optional(env, variable);
  if (raw === null) return [];
  const names = new Set<string>();
  return raw.split(',').map((entry) => {
    const at = entry.indexOf(':');
    const name = entry.slice(0, Math.max(at, 0)).trim();
    if (at < 0 || !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name)) {
      throw new ConfigError(`${variable} must hold name:key pairs, comma separated (names of lowercase letters, digits, _ or -)`);
    }
    if (names.has(name)) throw new ConfigError(`${variable} names ${name} twice`);
    names.add(name);
    return { name, rest: entry.slice(at + 1) };
  });
}

function namedKey(variable: string, name: string, raw: string): NamedKey {
  const key = raw.trim();
  if (key.length < 32 || /\s/.test(key)) {
    throw new ConfigError(`${variable}: the key named ${name} must be at least 32 random characters: openssl rand -base64 32`);
  }
  return { name, digest: createHash('sha256').update(key).digest() };
}

function parseIdentityHashKey(env: Env, sessionKey: Buffer): Buffer {
  const raw = optional(env, 'IDENTITY_HASH_KEY');
  if (raw === null) return createHmac('sha256', sessionKey).update('wxlogin identity hash key').digest();
  const key = Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError('IDENTITY_HASH_KEY must be 32 bytes in base64: openssl rand -base64 32');
  return key;
}

/** LOG_SALT when set, else derived from the session key, so a deployment needs no extra secret. */
function parseLogSalt(env: Env, sessionKey: Buffer): Buffer {
  const raw = optional(env, 'LOG_SALT');
  return raw === null ? createHmac('sha256', sessionKey).update('wxlogin access-log salt').digest() : Buffer.from(raw);
}
