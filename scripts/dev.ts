// npm run dev: every api/ function on http://127.0.0.1:3000. Configured cloud services are used
// as they are; what is missing gets an embedded default: PGlite under .data/ for Postgres, the
// in-process session store for Upstash, and a loudly announced mock WeChat for the mini program,
// the last only where the process is plainly local.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { buildConsole } from './build.js';
import { startPgBridge } from './local/pg-bridge.js';
import { startPglite } from './local/pglite.js';
import { startServer } from '../server/http.js';
import { startFakeWechat } from './local/fake-wechat.js';
import { config, ConfigError } from '../lib/platform/config.js';
import { sharedRedis } from '../lib/platform/redis.js';
import { migrate } from '../lib/platform/migrations.js';

const env = process.env;
const notes: string[] = [];
const port = Number(env.PORT ?? 3000);

if (env.VERCEL_ENV === 'production') {
  console.error('npm run dev is for local development; it refuses to run with VERCEL_ENV=production.');
  process.exit(1);
}

try {
  await useWechat();
  await useDatabase();
  useLocalKeys();
  // The local server sets x-forwarded-for / x-real-ip from the socket, as Vercel does: trust them.
  env.TRUST_PROXY_HEADERS ??= '1';
  // Avatars are served, and (mock) WeChat told to fetch them, from here.
  env.PUBLIC_BASE_URL ??= `http://127.0.0.1:${port}`;
  const { redis } = config();
  // Loads the Redis client and connects before the first request needs it.
  void sharedRedis()?.ping().catch(() => {});
  notes.push(
    redis
      ? `Sessions: Redis (${redis.kind === 'upstash' ? 'Upstash' : 'REDIS_URL'})`
      : 'Sessions: in this process (set REDIS_URL, or UPSTASH_REDIS_REST_URL/TOKEN, to use Redis)',
  );
  await buildConsole();
  const server = await startServer({ port, host: env.HOST ?? '127.0.0.1' });
  notes.push(`Console: ${server.url}/admin (bundled from console/ into public/admin/ at each start)`);
  console.log(['', `wxlogin is listening on ${server.url}`, ...notes.map((note) => `  ${note}`), `  Routes: ${server.routes.join(' ')}`, ''].join('\n'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`Configuration error: ${error.message}`);
  } else if ((error as { code?: unknown }).code === 'EADDRINUSE') {
    console.error(`port ${port} is in use; set PORT`);
  } else {
    throw error;
  }
  process.exit(1);
}

/** The configured WeChat apps, else the mock, which lets any code log in as anyone it names. */
async function useWechat(): Promise<void> {
  if (env.WECHAT_APPS || env.WECHAT_SECRET) {
    notes.push('WeChat: real code2Session for the configured apps');
    return;
  }
  if (!plainlyLocal()) {
    throw new ConfigError(
      'Set WECHAT_APPS (appid:secret pairs, comma separated) or WECHAT_APPID and WECHAT_SECRET. The mock WeChat runs only ' +
        'where the process is plainly local: no VERCEL_ENV, NODE_ENV not production, no Upstash variables.',
    );
  }
  // WECHAT_MOCK_APPS: several mini programs of one Open Platform account (a person shares a unionid
  // across them). WECHAT_APPID alone keeps the mini program's own appid working, so its Referer matches.
  const appids = (env.WECHAT_MOCK_APPS ?? env.WECHAT_APPID ?? 'wx0000000000000000').split(',').map((appid) => appid.trim());
  // A 公众号 and a 网站应用 of the same Open Platform account, for the web sign-ins.
  const webApps = [{ appid: 'wxmockmp0000000000', kind: 'mp' as const }, { appid: 'wxmockweb000000000', kind: 'website' as const }];
  const mock = await startFakeWechat({
    apps: [...appids.map((appid) => ({ appid, secret: 'mock-secret', openPlatform: true })), ...webApps.map((app) => ({ ...app, secret: 'mock-secret', openPlatform: true }))],
    acceptAnyCode: true,
  });
  delete env.WECHAT_APPID;
  env.WECHAT_APPS = [...appids.map((appid) => `${appid}:mock-secret`), ...webApps.map(({ appid, kind }) => `${appid}:mock-secret:${kind}`)].join(',');
  env.WECHAT_API_BASE = mock.url;
  env.WECHAT_OPEN_BASE = mock.url;
  const local = `http://${env.HOST ?? '127.0.0.1'}:${port}`;
  if (port !== 0) env.PUBLIC_BASE_URL ??= local;
  env.WEB_REDIRECTS ??= webApps.map(({ appid }) => `${appid}:${local}/`).join(',');
  console.warn(
    [
      '',
      '!!! MOCK WECHAT: every code logs in, and "mock:<name>" as whoever it names. Local development only. !!!',
      '!!! Web sign-ins are mocked too: scan-to-login codes, 公众号 and 网站应用 pages.                        !!!',
      '!!! Set WECHAT_APPID and WECHAT_SECRET (or WECHAT_APPS) to use the real WeChat.                     !!!',
    ].join('\n'),
  );
  notes.push(
    `WeChat: MOCK for appid ${appids.join(', ')}. Every code logs in; "mock:<name>" picks a person, anything else is "developer".`,
    '        "mock-unbound:<name>": that person, as if the app were not yet bound to the Open Platform (no unionid).',
    '        Phone codes: "mock:<digits>" picks the number, anything else is 13800000000.',
    '        Scan-to-login: the mock draws a real PNG code for POST /api/web/tickets (its scene is the ticket id).',
    `        公众号 ${webApps[0]!.appid} and 网站应用 ${webApps[1]!.appid}: MOCK authorize/qrconnect pages sign in "developer"`,
    `        and return to ${local}/ (GET /api/web/oauth/authorize?appid=…&returnTo=${encodeURIComponent(`${local}/`)}).`,
  );
}

/** A deployment's environment (pulled, or set by hand) is never plainly local. */
function plainlyLocal(): boolean {
  const redis = ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'KV_REST_API_URL', 'KV_REST_API_TOKEN', 'REDIS_URL'].some((name) => env[name]);
  return env.VERCEL_ENV === undefined && env.NODE_ENV !== 'production' && !redis;
}

/** Keys for the admin API (and the console) and for services, made up and printed when plainly local and not configured. */
function useLocalKeys(): void {
  if (!plainlyLocal()) return;
  for (const [variable, name, door] of [
    ['ADMIN_KEYS', 'local-admin', 'Admin key (console at /admin, /api/admin/*)'],
    ['SERVICE_KEYS', 'local-service', 'Service key (/api/introspect)'],
  ] as const) {
    if (env[variable]) continue;
    const key = randomBytes(24).toString('base64url');
    env[variable] = `${name}:${key}`;
    notes.push(`${door}: ${key}   (local only; set ${variable} to choose your own)`);
  }
}

/** DATABASE_URL as given (migrated by hand), else PGlite under .data/, migrated here. */
async function useDatabase(): Promise<void> {
  if (env.DATABASE_URL) {
    notes.push('Postgres: DATABASE_URL', 'Schema: run npm run db:migrate against DATABASE_URL yourself');
    return;
  }
  const dataDir = resolve(env.DATA_DIR ?? new URL('../.data/', import.meta.url).pathname, 'pglite');
  await mkdir(dataDir, { recursive: true });
  const postgres = await startPglite(dataDir);
  const bridge = await startPgBridge(postgres);
  env.DATABASE_URL = 'postgres://postgres@localhost/postgres';
  env.NEON_WS_PROXY = bridge.address;
  env.DATABASE_POOL_MAX = '1';
  notes.push(`Postgres: embedded PGlite in ${dataDir} (set DATABASE_URL to use your own)`);
  const { migrations, functions } = await migrate();
  if (migrations.length) notes.push(`Schema: applied ${migrations.join(', ')}`);
  if (functions.length) notes.push(`Schema: created ${functions.length} functions from db/functions`);
}
