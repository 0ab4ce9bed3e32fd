// Per test file: a fake WeChat, the real Redis and the real Postgres behind pipes that count and stage
// outages, wired into the environment the lib/ code reads, plus helpers to call the functions. Two
// stacks (WXLOGIN_STACK): 'upstash' (the default), an Upstash REST gateway and a WebSocket bridge
// for Neon's driver, as on Vercel; 'standard', Redis over TCP (REDIS_URL) and node-postgres over TCP,
// as `npm start` runs in mainland China.
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { runAdminStatements } from '../../scripts/local/pg-admin.js';
import { startPgBridge } from '../../scripts/local/pg-bridge.js';
import { loadFunctions } from '../../server/functions.js';
import { divertAccessLog } from '../../scripts/local/access-log.js';
import { startFakeWechat, type FakeApp } from '../../scripts/local/fake-wechat.js';
import { startRedisPipe, type RedisPipe } from '../../scripts/local/redis-pipe.js';
import { startUpstashGateway } from '../../scripts/local/upstash-gateway.js';
import { checkExchange } from './contract.js';

/** Bound to an Open Platform account. */
export const APP_A = 'wxa0000000000000a1';
/** Bound to the same Open Platform account as A. */
export const APP_B = 'wxb0000000000000b2';
/** Not bound: logins carry no unionid. */
export const APP_C = 'wxc0000000000000c3';

export const defaultApps = (): FakeApp[] => [
  { appid: APP_A, secret: 'secret-a-0123456789', openPlatform: true },
  { appid: APP_B, secret: 'secret-b-0123456789', openPlatform: true },
  { appid: APP_C, secret: 'secret-c-0123456789', openPlatform: false },
];

export interface CallResult {
  status: number;
  headers: Headers;
  /** JSON bodies parsed; any other body as text. */
  body: any;
  /** The body as sent, byte for byte. */
  bytes: Buffer;
}

export interface CallOptions {
  json?: unknown;
  body?: string | Uint8Array<ArrayBuffer>;
  token?: string;
  headers?: Record<string, string>;
}

/** Access-log lines the functions wrote since this file's stack started (kept off the console). */
export const accessLog: string[] = [];

/**
 * Every credential this file's stack handled: app secrets, connection strings, keys, codes,
 * session_keys and tokens. close() fails the file if any reached the access log, raw or encoded,
 * so log hygiene is checked across the whole suite.
 */
const credentials = new Set<string>();

/** The credentials handed so far that appear in the access log, raw or base64-encoded. */
export function leakedCredentials(extra: Iterable<string> = []): string[] {
  const text = accessLog.join('');
  return [...credentials, ...extra].filter((secret) =>
    [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url')].some((form) => text.includes(form)),
  );
}

/** Which stack this run tests: `.ci/run` runs the suite once on each. */
export const STACK: 'upstash' | 'standard' = process.env.WXLOGIN_STACK === 'standard' ? 'standard' : 'upstash';

/** What the tests do with the Redis in front of the functions, whichever protocol it speaks. */
export type RedisFront = RedisPipe;

/** The variables that point a process at Redis, on either stack. */
const REDIS_VARIABLES = ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN', 'REDIS_URL'];

/** Runs `work` as in a local development process: no Redis, so nothing leaves process memory. */
export async function withoutRedis(work: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(REDIS_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of REDIS_VARIABLES) delete process.env[name];
  try {
    await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
}

/** `url` with its host and port replaced by `address` (host:port): the pipe in front of the database. */
function through(url: string, address: string): string {
  const [hostname, port] = address.split(':');
  return Object.assign(new URL(url), { hostname, port }).toString();
}

export interface StackOptions {
  apps?: FakeApp[];
  env?: Record<string, string>;
  /**
   * A Redis key namespace and a Postgres database of this file's own, so that counting keys and
   * rows is not disturbed by the files running alongside.
   */
  isolated?: boolean;
}

export async function startStack({ apps = defaultApps(), env = {}, isolated = false }: StackOptions = {}) {
  const releaseLog = divertAccessLog((line) => accessLog.push(line));
  const wechat = await startFakeWechat({ apps });
  const upstash = STACK === 'upstash' ? await startUpstashGateway(inject('redisUrl')) : null;
  const gateway: RedisFront = upstash ?? (await startRedisPipe(inject('redisUrl')));
  const keyPrefix = isolated ? `wxlogin:test-${process.pid}-${randomBytes(3).toString('hex')}:` : 'wxlogin:local:';
  const bridge = await startPgBridge(inject('postgres'), 0, upstash ? 'websocket' : 'tcp');
  const ownDatabase = isolated ? await createOwnDatabase() : null;
  const databaseUrl = ownDatabase?.url ?? inject('databaseUrl');
  /** The variables that point a process at this stack's Redis and Postgres. */
  const backendEnv: Record<string, string> = upstash
    ? { UPSTASH_REDIS_REST_URL: upstash.url, UPSTASH_REDIS_REST_TOKEN: upstash.token, DATABASE_URL: databaseUrl, NEON_WS_PROXY: bridge.address }
    : { REDIS_URL: gateway.url, DATABASE_URL: through(databaseUrl, bridge.address) };
  for (const name of [...REDIS_VARIABLES, 'NEON_WS_PROXY']) delete process.env[name];
  Object.assign(process.env, {
    WECHAT_APPS: apps.map((app) => `${app.appid}:${app.secret}${app.kind ? `:${app.kind}` : ''}`).join(','),
    WECHAT_API_BASE: wechat.url,
    ...backendEnv,
    SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    REDIS_KEY_PREFIX: keyPrefix,
    ...env,
  });
  for (const name of ['DATABASE_URL', 'SESSION_ENCRYPTION_KEY', 'UPSTASH_REDIS_REST_TOKEN', 'LOG_SALT', 'CRON_SECRET', 'IDENTITY_HASH_KEY']) {
    if (process.env[name]) credentials.add(process.env[name]!);
  }
  for (const name of ['ADMIN_KEYS', 'SERVICE_KEYS']) {
    for (const pair of process.env[name]?.split(',') ?? []) credentials.add(pair.slice(pair.indexOf(':') + 1));
  }
  for (const app of apps) credentials.add(app.secret);
  if (ownDatabase) await (await import('../../lib/platform/migrations.js')).migrate();
  const functions = await loadFunctions();

  /**
   * Calls the function serving /api/<path> directly (every api/ file is loaded), as Vercel's runtime
   * would, and fails at once when the exchange is not one docs/openapi.yaml allows.
   */
  async function call(path: string, method: string, options: CallOptions = {}): Promise<CallResult> {
    const url = `http://localhost/api/${path}`;
    // Routed on the path the function will see: dot segments resolved, as every server does first.
    const fn = functions.match(new URL(url).pathname);
    if (!fn) throw new Error(`no function serves /api/${path}`);
    const headers = new Headers(options.headers);
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    if (options.token !== undefined) headers.set('authorization', `Bearer ${options.token}`);
    const sentToken = headers.get('authorization')?.replace(/^Bearer\s+/i, '');
    if (sentToken && sentToken.length >= 24) credentials.add(sentToken);
    const response = await fn.fetch(new Request(url, { method, headers, body }));
    const bytes = Buffer.from(await response.arrayBuffer());
    const text = bytes.toString(response.headers.get('content-type')?.startsWith('image/') ? 'latin1' : 'utf8');
    checkExchange({ method, url, requestHeaders: headers, requestBody: body, status: response.status, headers: response.headers, body: text });
    const json = /json/.test(response.headers.get('content-type') ?? '');
    const result = { status: response.status, headers: response.headers, body: text && json ? JSON.parse(text) : text || undefined, bytes };
    if (typeof result.body?.token === 'string') credentials.add(result.body.token);
    return result;
  }

  /** wx.login() in `appid` for `person`, then POST /api/login with the code. */
  async function login(person: string, appid = APP_A): Promise<CallResult> {
    return call('login', 'POST', { json: { code: wechat.issueCode(appid, person), appid } });
  }

  return {
    wechat,
    /** The Redis in front of the functions: the Upstash gateway, or the TCP pipe. */
    gateway,
    /** For processes of their own (npm run dev, npm start): this stack's Redis and Postgres. */
    backendEnv,
    /** Where this stack's Redis keys live (REDIS_KEY_PREFIX). */
    keyPrefix,
    /** This stack's Redis keys, sorted. */
    redisKeys: async () => (await gateway.redis.keys(`${keyPrefix}*`)).sort(),
    bridge,
    call,
    login,
    /** A person name no other test uses. */
    person: (label = 'p') => `${label}-${randomBytes(6).toString('hex')}`,
    async close() {
      await (await import('../../lib/platform/postgres.js')).closeDatabase();
      await (await import('../../lib/platform/redis.js')).closeRedis();
      await ownDatabase?.drop();
      const leaked = leakedCredentials(wechat.credentialsHandedOut());
      await Promise.all([wechat.close(), gateway.close(), bridge.close()]);
      releaseLog();
      if (leaked.length > 0) throw new Error(`${leaked.length} credential(s) reached the access log, e.g. ${leaked[0]!.slice(0, 4)}…`);
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;

/** A fresh database next to the run's test database (migrated by startStack); dropped by close(). */
async function createOwnDatabase() {
  const shared = new URL(inject('databaseUrl'));
  const name = `${shared.pathname.slice(1)}_own_${process.pid}`;
  const adminUrl = Object.assign(new URL(shared), { pathname: '/postgres' }).toString();
  const drop = `drop database if exists ${name} with (force)`;
  await runAdminStatements(inject('postgres'), adminUrl, [drop, `create database ${name}`]);
  return {
    url: Object.assign(new URL(shared), { pathname: `/${name}` }).toString(),
    drop: () => runAdminStatements(inject('postgres'), adminUrl, [drop]),
  };
}
