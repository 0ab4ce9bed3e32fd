// Start-up validation: each mistake names the variable and never prints a secret.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../lib/platform/config.js';
import { divertAccessLog } from '../scripts/local/access-log.js';

const KEY = Buffer.alloc(32, 7).toString('base64');
const base = { WECHAT_APPS: 'wx01:s3cr3t-one', DATABASE_URL: 'postgres://u:pw-xyz@db/x' };

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads several apps, Vercel KV names and the defaults', () => {
    const config = loadConfig({
      ...base,
      WECHAT_APPS: 'wx01:one, wx02:two',
      KV_REST_API_URL: 'https://kv.example',
      KV_REST_API_TOKEN: 't',
      SESSION_ENCRYPTION_KEY: KEY,
    });
    expect([...config.apps.keys()]).toEqual(['wx01', 'wx02']);
    expect(config.apps.get('wx02')).toEqual({ appid: 'wx02', secret: 'two', kind: 'miniprogram' });
    expect(config.redis).toEqual({ kind: 'upstash', url: 'https://kv.example', token: 't' });
    expect(config.wechatApiBase).toBe('https://api.weixin.qq.com');
    expect(config.sessionIdleTtlSeconds).toBe(7 * 24 * 3600);
    expect(config.sessionMaxAgeSeconds).toBe(30 * 24 * 3600);
    expect([...config.benefits]).toEqual(['welcome-gift']);
  });

  it('reads app kinds, web session lifetimes and the scan-to-login code settings by deployment', () => {
    const config = loadConfig({ ...base, WECHAT_APPS: 'wx01:one, wx02:two:mp, wx03:three:website, wx04:four:miniprogram' });
    expect([...config.apps.values()].map((app) => app.kind)).toEqual(['miniprogram', 'mp', 'website', 'miniprogram']);
    expect(config.webSessions).toEqual({ idleTtlSeconds: 12 * 3600, maxAgeSeconds: 7 * 24 * 3600, maxSessions: 5 });
    expect(config.webLogin).toEqual({ page: 'pages/web-login/index', envVersion: 'develop', redirects: new Map(), publicBaseUrl: null, openBase: 'https://open.weixin.qq.com' });
    const redirects = loadConfig({ ...base, WEB_REDIRECTS: 'wx02:https://a.example/x|https://a.example/y, wx03:http://localhost:8080/cb' }).webLogin.redirects;
    expect(redirects).toEqual(new Map([['wx02', new Set(['https://a.example/x', 'https://a.example/y'])], ['wx03', new Set(['http://localhost:8080/cb'])]]));
    expect(loadConfig({ ...base, VERCEL_ENV: 'preview', SESSION_ENCRYPTION_KEY: KEY, UPSTASH_REDIS_REST_URL: 'https://r.example', UPSTASH_REDIS_REST_TOKEN: 't' }).webLogin.envVersion).toBe('trial');
    expect(loadConfig({ ...base, WEB_LOGIN_ENV_VERSION: 'release' }).webLogin.envVersion).toBe('release');
  });

  it('REDIS_URL selects Redis over TCP; Upstash\'s REST variables win when both are set, as Vercel\'s integration sets both', () => {
    expect(loadConfig({ ...base, REDIS_URL: 'rediss://:pw-xyz@r.example:6380' }).redis).toEqual({ kind: 'tcp', url: 'rediss://:pw-xyz@r.example:6380' });
    const both = loadConfig({ ...base, REDIS_URL: 'redis://r.example', KV_REST_API_URL: 'https://kv.example', KV_REST_API_TOKEN: 't' });
    expect(both.redis).toMatchObject({ kind: 'upstash' });
  });

  it('NODE_ENV=production (npm start) is a deployment: Redis and the encryption key required, REDIS_URL enough', () => {
    expect(failure({ ...base, NODE_ENV: 'production', SESSION_ENCRYPTION_KEY: KEY })).toMatch(/REDIS_URL/);
    expect(failure({ ...base, NODE_ENV: 'production', REDIS_URL: 'redis://r.example' })).toMatch(/SESSION_ENCRYPTION_KEY/);
    expect(loadConfig({ ...base, NODE_ENV: 'production', REDIS_URL: 'redis://r.example', SESSION_ENCRYPTION_KEY: KEY }).redis).toMatchObject({ kind: 'tcp' });
  });

  it('picks the database driver from the URL: Neon\'s hosts or a bridge → neon, any other → pg; DATABASE_DRIVER decides when set', () => {
    expect(loadConfig(base).databaseDriver).toBe('pg');
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@ep-x-pooler.ap-southeast-1.aws.neon.tech/db' }).databaseDriver).toBe('neon');
    expect(loadConfig({ ...base, NEON_WS_PROXY: '127.0.0.1:6543' }).databaseDriver).toBe('neon');
    expect(loadConfig({ ...base, DATABASE_DRIVER: 'neon' }).databaseDriver).toBe('neon');
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://u:p@ep-x.neon.tech/db', DATABASE_DRIVER: 'pg' }).databaseDriver).toBe('pg');
  });

  it('reads the benefits a person can claim once', () => {
    const config = loadConfig({ ...base, BENEFITS: 'welcome-gift, first-order-coupon' });
    expect([...config.benefits]).toEqual(['welcome-gift', 'first-order-coupon']);
  });

  it('takes WECHAT_APPID + WECHAT_SECRET for a single app', () => {
    const config = loadConfig({ DATABASE_URL: base.DATABASE_URL, WECHAT_APPID: 'wx9', WECHAT_SECRET: 'sss' });
    expect([...config.apps.values()]).toEqual([{ appid: 'wx9', secret: 'sss', kind: 'miniprogram' }]);
    expect(config.redis).toBeNull();
  });

  it.each([
    [{ WECHAT_APPS: '' }, /WECHAT_APPS/],
    [{ WECHAT_APPS: 'wx01' }, /WECHAT_APPS/],
    [{ WECHAT_APPS: 'wx01:a,wx01:b' }, /twice/],
    [{ WECHAT_APPS: 'wx01:a:applet' }, /kind of wx01/],
    [{ WECHAT_APPS: 'wx01:a:mp:extra' }, /appid:secret:kind/],
    [{ SESSION_WEB_IDLE_TTL: '100', SESSION_WEB_MAX_AGE: '10' }, /SESSION_WEB_IDLE_TTL/],
    [{ WEB_LOGIN_PAGE: '/pages/web-login/index' }, /WEB_LOGIN_PAGE/],
    [{ WEB_LOGIN_ENV_VERSION: 'beta' }, /WEB_LOGIN_ENV_VERSION/],
    [{ WEB_REDIRECTS: 'wx02:http://a.example/x' }, /WEB_REDIRECTS/],
    [{ WEB_REDIRECTS: 'wx02:https://a.example/x#frag' }, /WEB_REDIRECTS/],
    [{ PUBLIC_BASE_URL: 'https://login.example.com/path' }, /PUBLIC_BASE_URL/],
    [{ WECHAT_APPID: 'wx5' }, /WECHAT_APPID and WECHAT_SECRET/],
    [{ DATABASE_URL: '' }, /DATABASE_URL/],
    [{ UPSTASH_REDIS_REST_URL: 'https://r.example' }, /UPSTASH_REDIS_REST_TOKEN/],
    [{ UPSTASH_REDIS_REST_URL: 'not a url', UPSTASH_REDIS_REST_TOKEN: 't' }, /UPSTASH_REDIS_REST_URL/],
    [{ SESSION_ENCRYPTION_KEY: 'c2hvcnQ=' }, /SESSION_ENCRYPTION_KEY/],
    [{ SESSION_IDLE_TTL: '-5' }, /SESSION_IDLE_TTL/],
    [{ SESSION_IDLE_TTL: '100', SESSION_MAX_AGE: '10' }, /SESSION_IDLE_TTL/],
    [{ WECHAT_API_BASE: 'ftp://x' }, /WECHAT_API_BASE/],
    [{ BENEFITS: 'welcome-gift,,coupon' }, /BENEFITS/],
    [{ BENEFITS: 'Welcome Gift' }, /BENEFITS/],
    [{ RATE_LIMIT_LOGIN_PER_IP: '30' }, /RATE_LIMIT_LOGIN_PER_IP/],
    [{ RATE_LIMIT_LOGIN_PER_ACCOUNT: '0/1m' }, /RATE_LIMIT_LOGIN_PER_ACCOUNT/],
    [{ SESSION_MAX_PER_APP: '0' }, /SESSION_MAX_PER_APP/],
    [{ REDIS_KEY_PREFIX: 'has spaces' }, /REDIS_KEY_PREFIX/],
    [{ FRONT_PROXY_CLIENT_IP_HEADER: 'x-client-ip' }, /FRONT_PROXY_SECRET/],
    [{ FRONT_PROXY_CLIENT_IP_HEADER: 'x-client-ip', FRONT_PROXY_SECRET: 'short' }, /FRONT_PROXY_SECRET/],
    [{ FRONT_PROXY_SECRET: 'x'.repeat(40) }, /FRONT_PROXY_CLIENT_IP_HEADER/],
    [{ ADMIN_KEYS: 'alice:short' }, /ADMIN_KEYS/],
    [{ ADMIN_KEYS: 'Alice Smith:' + 'k'.repeat(40) }, /ADMIN_KEYS/],
    [{ ADMIN_KEYS: `a:${'k'.repeat(40)}`, SERVICE_KEYS: `b:${'k'.repeat(40)}` }, /must not share a key/],
    [{ IDENTITY_HASH_KEY: 'c2hvcnQ=' }, /IDENTITY_HASH_KEY/],
    [{ RATE_LIMIT_PER_SESSION: '10/1d' }, /RATE_LIMIT_PER_SESSION/],
    [{ VERCEL_ENV: 'production', SESSION_ENCRYPTION_KEY: KEY }, /UPSTASH_REDIS_REST_URL/],
    [{ REDIS_URL: 'https://pw-xyz@r.example' }, /REDIS_URL/],
    [{ DATABASE_DRIVER: 'mysql' }, /DATABASE_DRIVER/],
    [{ VERCEL_ENV: 'preview', UPSTASH_REDIS_REST_URL: 'https://r', UPSTASH_REDIS_REST_TOKEN: 't' }, /SESSION_ENCRYPTION_KEY/],
  ])('refuses %j, naming the variable and no secret', (override, pattern) => {
    const message = failure({ ...base, ...override });
    expect(message).toMatch(pattern);
    expect(message).not.toMatch(/s3cr3t|pw-xyz/);
  });

  it('reads operators\' roles: name:key is admin, name:role:key any role; a bad entry names the variable, never the key', () => {
    const key = (n: number) => `k${n}-${'s3cr3t'.repeat(6)}`;
    const { adminKeys } = loadConfig({ ...base, ADMIN_KEYS: `li:${key(1)}, wang:support:${key(2)},zhao:viewer:${key(3)},qian:admin:${key(4)}` });
    expect(adminKeys.map(({ name, role }) => `${name}:${role}`)).toEqual(['li:admin', 'wang:support', 'zhao:viewer', 'qian:admin']);
    for (const bad of [`wang:owner:${key(2)}`, `wang:Support:${key(2)}`, `wang:support:${key(2)}:x`, `wang:${key(2)}:${key(3)}`]) {
      const message = failure({ ...base, ADMIN_KEYS: bad });
      expect(message).toMatch(/^ADMIN_KEYS: the entry named wang must be name:key or name:role:key/);
      expect(message).not.toMatch(/s3cr3t|owner|Support/);
    }
  });

  it('reads display names of the mini programs, only for apps it serves', () => {
    const config = loadConfig({ ...base, WECHAT_APPS: 'wx01:one,wx02:two', WECHAT_APP_NAMES: 'wx01:会员商城, wx02:Points Club' });
    expect(Object.fromEntries(config.appNames)).toEqual({ wx01: '会员商城', wx02: 'Points Club' });
    expect(failure({ ...base, WECHAT_APP_NAMES: 'wx09:其他' })).toMatch(/WECHAT_APP_NAMES names appid wx09/);
    expect(failure({ ...base, WECHAT_APP_NAMES: 'wx01' })).toMatch(/WECHAT_APP_NAMES must hold appid:name pairs/);
    expect(failure({ ...base, WECHAT_APP_NAMES: `wx01:${'长'.repeat(33)}` })).toMatch(/WECHAT_APP_NAMES/);
  });

  it('accepts several encryption keys for rotation; the first one encrypts', () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    const config = loadConfig({ ...base, SESSION_ENCRYPTION_KEY: `${KEY},${other}` });
    expect(config.sessionKeys.map((key) => key.toString('base64'))).toEqual([KEY, other]);
  });

  it('reads rate limits as count/window or off, with documented defaults', () => {
    expect(loadConfig(base).rateLimits).toEqual({
      loginPerIp: { tokens: 1200, windowSeconds: 60 },
      loginPerAccount: { tokens: 10, windowSeconds: 60 },
      perSession: { tokens: 120, windowSeconds: 60 },
      authFailuresPerIp: { tokens: 300, windowSeconds: 60 },
      exportPerPerson: { tokens: 3, windowSeconds: 86400 },
      webTicketPerIp: { tokens: 20, windowSeconds: 60 },
    });
    const custom = loadConfig({ ...base, RATE_LIMIT_LOGIN_PER_IP: '5 / 30s', RATE_LIMIT_LOGIN_PER_ACCOUNT: '100000/1h', RATE_LIMIT_PER_SESSION: 'off' });
    expect(custom.rateLimits.loginPerIp).toEqual({ tokens: 5, windowSeconds: 30 });
    expect(custom.rateLimits.loginPerAccount).toEqual({ tokens: 100000, windowSeconds: 3600 });
    expect(custom.rateLimits.perSession).toBeNull();
  });

  it('takes consent to privacy and terms, and to the documents CONSENT_DOCUMENTS names', () => {
    expect(loadConfig(base).consentDocuments).toEqual(['privacy', 'terms']);
    expect(loadConfig({ ...base, CONSENT_DOCUMENTS: 'marketing, terms,location' }).consentDocuments).toEqual(['privacy', 'terms', 'marketing', 'location']);
    expect(() => loadConfig({ ...base, CONSENT_DOCUMENTS: 'Marketing' })).toThrow(/^CONSENT_DOCUMENTS must be comma-separated names/);
  });

  it('namespaces Redis keys per environment unless REDIS_KEY_PREFIX says otherwise', () => {
    expect(loadConfig(base).redisKeyPrefix).toBe('wxlogin:local:');
    const deployed = { ...base, UPSTASH_REDIS_REST_URL: 'https://r.example', UPSTASH_REDIS_REST_TOKEN: 't', SESSION_ENCRYPTION_KEY: KEY };
    expect(loadConfig({ ...deployed, VERCEL_ENV: 'preview' }).redisKeyPrefix).toBe('wxlogin:preview:');
    expect(loadConfig({ ...deployed, VERCEL_ENV: 'production' }).redisKeyPrefix).toBe('wxlogin:production:');
    expect(loadConfig({ ...deployed, VERCEL_ENV: 'preview', REDIS_KEY_PREFIX: 'shop:pr-12:' }).redisKeyPrefix).toBe('shop:pr-12:');
    expect(loadConfig(base).sessionMaxPerApp).toBe(10);
  });

  it('trusts client-address headers only on Vercel or when told to', () => {
    expect(loadConfig(base).trustProxyHeaders).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY_HEADERS: 'yes' }).trustProxyHeaders).toBe(false);
    expect(loadConfig({ ...base, TRUST_PROXY_HEADERS: '1' }).trustProxyHeaders).toBe(true);
    expect(loadConfig({ ...base, VERCEL: '1' }).trustProxyHeaders).toBe(true);
  });

  it('believes 微信云托管 gateway headers only when WXCLOUDRUN_IDENTITY_ENV names the environment', () => {
    expect(loadConfig(base).wxcloudrunIdentityEnv).toBeNull();
    expect(loadConfig({ ...base, WXCLOUDRUN_IDENTITY_ENV: 'prod-9gk2x4' }).wxcloudrunIdentityEnv).toBe('prod-9gk2x4');
    expect(failure({ ...base, WXCLOUDRUN_IDENTITY_ENV: 'prod 1,prod 2' })).toMatch(/^WXCLOUDRUN_IDENTITY_ENV/);
  });

  it('sends access_token calls to 开放接口服务 only when WECHAT_OPEN_API_SERVICE=1', () => {
    expect(loadConfig(base).wechatOpenApiBase).toBeNull();
    expect(loadConfig({ ...base, WECHAT_OPEN_API_BASE: 'http://elsewhere' }).wechatOpenApiBase).toBeNull();
    expect(loadConfig({ ...base, WECHAT_OPEN_API_SERVICE: '1' }).wechatOpenApiBase).toBe('http://api.weixin.qq.com');
  });

  it('salts log hashes with LOG_SALT, else with a value derived from the encryption key', () => {
    const derived = loadConfig({ ...base, SESSION_ENCRYPTION_KEY: KEY }).logSalt;
    expect(loadConfig({ ...base, SESSION_ENCRYPTION_KEY: KEY }).logSalt).toEqual(derived);
    expect(derived).not.toEqual(Buffer.from(KEY, 'base64'));
    expect(loadConfig({ ...base, SESSION_ENCRYPTION_KEY: KEY, LOG_SALT: 'pepper' }).logSalt).toEqual(Buffer.from('pepper'));
  });
});

describe('a configuration error met by a request', () => {
  it('answers 500 server_misconfigured and logs the variable it names, never a value', async () => {
    // On Vercel the configuration loads at the first request: here, one with no WeChat app.
    const saved = { ...process.env };
    for (const name of ['WECHAT_APPS', 'WECHAT_APPID', 'WECHAT_SECRET']) delete process.env[name];
    process.env.DATABASE_URL = base.DATABASE_URL;
    const lines: string[] = [];
    const release = divertAccessLog((line) => lines.push(line));
    try {
      const { default: login } = await import('../api/login.js');
      const response = await login.fetch(
        new Request('http://localhost/api/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code: 'abc' }),
        }),
      );
      expect(response.status).toBe(500);
      expect(((await response.json()) as { code: string }).code).toBe('server_misconfigured');
    } finally {
      release();
      process.env = saved;
    }
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'error', status: 500, code: 'server_misconfigured', config: expect.stringContaining('WECHAT_APPS') });
    expect(line).not.toHaveProperty('error');
    expect(lines[0]).not.toMatch(/pw-xyz/);
  });

  it('.env.example names every variable the configuration reads', () => {
    const source = readFileSync(new URL('../lib/platform/config.ts', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const read = new Set(source.match(/'[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+'/g)!.map((name) => name.slice(1, -1)));
    // Set by the platform, never by hand.
    read.delete('VERCEL_ENV');
    const missing = [...read].filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example));
    expect(missing).toEqual([]);
    expect(read.size).toBeGreaterThan(20);
  });

  it('.env.example names every variable npm run dev reads', () => {
    const source = readFileSync(new URL('../scripts/dev.ts', import.meta.url), 'utf8');
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    // Set by the platform or the shell, never in a .env file.
    const read = new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((match) => match[1]!).filter((name) => !['VERCEL_ENV', 'NODE_ENV'].includes(name)));
    expect([...read].filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
    expect(read).toContain('DATA_DIR');
  });
});
