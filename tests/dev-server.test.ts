// The README's `npm run dev` on a machine with no cloud accounts: embedded PGlite, in-process
// sessions, mock WeChat, all served over real HTTP by the same functions.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev, startListening, type Dev } from './support/dev-process.js';

let dev: Dev;
let baseUrl: string;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wxlogin-dev-'));
  // No cloud or WeChat variables.
  const listening = await startListening({ PORT: '0', DATA_DIR: dataDir });
  dev = listening;
  baseUrl = listening.url;
});

afterAll(async () => {
  await dev.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const post = (path: string, body?: unknown, token?: string) =>
  fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

it('announces the mock WeChat loudly, and the embedded defaults', () => {
  expect(dev.output()).toContain('!!! MOCK WECHAT');
  expect(dev.output()).toContain('Web sign-ins are mocked too');
  expect(dev.output()).toContain('WeChat: MOCK');
  expect(dev.output()).toContain('embedded PGlite');
  expect(dev.output()).toContain('Sessions: in this process');
});

it('signs a browser in by scan-to-login with the mock code and the in-process stores', async () => {
  const ticket = (await (await post('/api/web/tickets')).json()) as { ticket: string; secret: string; qrCode: string };
  expect(ticket.qrCode).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
  const { token } = (await (await post('/api/login', { code: 'mock:carol' })).json()) as { token: string };
  expect((await post(`/api/web/tickets/${ticket.ticket}/scan`, { launchScene: 1047 }, token)).status).toBe(200);
  expect((await post(`/api/web/tickets/${ticket.ticket}/confirm`, undefined, token)).status).toBe(204);
  const { code } = (await (await post(`/api/web/tickets/${ticket.ticket}/collect`, { secret: ticket.secret })).json()) as { code: string };
  const serviceKey = /Service key [^:]*: (\S+)/.exec(dev.output())![1]!;
  const web = (await (await post('/api/web/exchange', { code }, serviceKey)).json()) as { token: string };
  const me = (await (await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${web.token}` } })).json()) as { user: { channel: string } };
  expect(me.user.channel).toBe('web');
});

it('logs in with a mock code, shows the user, logs out', async () => {
  const login = await post('/api/login', { code: 'mock:alice' });
  expect(login.status).toBe(200);
  const { token, user } = (await login.json()) as { token: string; user: { id: string; isNew: boolean } };
  expect(user.isNew).toBe(true);

  const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(me.status).toBe(200);
  expect(((await me.json()) as { user: { id: string } }).user.id).toBe(user.id);

  const again = await post('/api/login', { code: 'mock:alice' });
  expect(((await again.json()) as { user: { id: string; isNew: boolean } }).user).toEqual({ id: user.id, isNew: false });

  expect((await post('/api/logout', undefined, token)).status).toBe(204);
  expect((await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  expect(dev.output()).not.toContain(token);
});

it('binds a mock phone number and shows it masked, with the access_token in memory', async () => {
  const login = await post('/api/login', { code: 'mock:bob' });
  const { token } = (await login.json()) as { token: string };
  const phone = await post('/api/phone', { code: 'mock:13912345678' }, token);
  expect(phone.status).toBe(200);
  expect(await phone.json()).toEqual({ phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86' });
  const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await me.json()) as { user: { phone: string } }).user.phone).toBe('139****5678');
  expect(dev.output()).not.toContain('13912345678');
});

it('prints local admin and service keys that open the admin API and introspection, and nothing else', async () => {
  const adminKey = /Admin key [^:]*: (\S+)/.exec(dev.output())?.[1];
  const serviceKey = /Service key [^:]*: (\S+)/.exec(dev.output())?.[1];
  expect(adminKey).toMatch(/^[\w-]{32,}$/);
  const events = await fetch(`${baseUrl}/api/admin/events`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(events.status).toBe(200);
  const introspection = await post('/api/introspect', { token: 'unknown' }, serviceKey);
  expect(await introspection.json()).toEqual({ active: false });
  expect((await fetch(`${baseUrl}/api/admin/events`, { headers: { authorization: `Bearer ${serviceKey}` } })).status).toBe(401);
});

it('answers unknown paths with a problem+json 404', async () => {
  const response = await fetch(`${baseUrl}/api/nope`);
  expect(response.status).toBe(404);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(((await response.json()) as { code: string }).code).toBe('not_found');
});

/** `npm run dev` until it exits, or says it listens (then stopped). */
async function runDev(env: Record<string, string>): Promise<{ output: string; exitCode: number | null | 'listening' }> {
  const started = startDev(env);
  const url = await started.listening;
  await started.stop();
  return { output: started.output(), exitCode: url ? 'listening' : await started.exitCode };
}

describe('where the mock WeChat must not run', () => {
  // A database is configured, so that nothing but the WeChat decision is tested (no PGlite).
  const configured = { PORT: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' };
  const upstash = { UPSTASH_REDIS_REST_URL: 'https://example.upstash.io', UPSTASH_REDIS_REST_TOKEN: 'token' };

  it.each([
    ['a preview deployment\'s environment', { VERCEL_ENV: 'preview', ...upstash, SESSION_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }],
    ['a pulled development environment', { VERCEL_ENV: 'development' }],
    ['NODE_ENV=production', { NODE_ENV: 'production' }],
    ['Upstash variables', upstash],
    ['Vercel KV variables', { KV_REST_API_URL: 'https://example.upstash.io', KV_REST_API_TOKEN: 'token' }],
    ['REDIS_URL', { REDIS_URL: 'redis://127.0.0.1:6379' }],
  ])('without a WeChat app, with %s: refuses to start, naming WECHAT_APPS', async (_, env) => {
    const { output, exitCode } = await runDev({ ...configured, ...env });
    expect(exitCode).toBe(1);
    expect(output).toContain('Configuration error: Set WECHAT_APPS');
    expect(output).not.toContain('MOCK');
  });
});

it('a taken port: says so and which variable to set, without a stack trace', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as { port: number };
  try {
    const { output, exitCode } = await runDev({ PORT: String(port), DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' });
    expect(exitCode).toBe(1);
    expect(output).toContain(`port ${port} is in use; set PORT`);
    expect(output).not.toMatch(/^\s+at /m);
  } finally {
    taken.close();
  }
});

it('DATABASE_DRIVER=neon at a plain PostgreSQL, no NEON_WS_PROXY: a login says what is wrong and how to fix it', async () => {
  const plain = startDev({ PORT: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres', DATABASE_DRIVER: 'neon' });
  try {
    const url = await plain.listening;
    expect(url).not.toBeNull();
    const response = await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'mock:alice' }),
    });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { code: string }).code).toBe('server_misconfigured');
    while (!plain.output().includes('"route":"/api/login"')) await new Promise((resolve) => setTimeout(resolve, 20));
    const line = JSON.parse(/^\{"level".*"route":"\/api\/login".*$/m.exec(plain.output())![0]);
    expect(line).toMatchObject({ code: 'server_misconfigured', config: expect.stringContaining('WebSocket') });
    expect(line.config).toContain('DATABASE_DRIVER');
  } finally {
    await plain.stop();
  }
});
