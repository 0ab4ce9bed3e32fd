// The README's `npm run dev` on a machine with no cloud accounts: embedded PGlite, in-process
// sessions, mock WeChat, all served over real HTTP by the same functions.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDevProcess, type DevProcess } from './support/dev-process.js';

let server: DevProcess;
let baseUrl: string;
let dataDir: string;
const output = () => server.output();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'wxlogin-dev-'));
  // Only what a fresh shell has: no cloud or WeChat variables.
  server = await startDevProcess({ PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir });
  baseUrl = server.url;
});

afterAll(async () => {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const post = (path: string, body?: unknown, token?: string) =>
  fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

it('announces the mock WeChat and the embedded defaults', () => {
  expect(output()).toContain('WeChat: MOCK');
  expect(output()).toContain('embedded PGlite');
  expect(output()).toContain('Sessions: in this process');
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
  expect(output()).not.toContain(token);
});

it('binds a mock phone number and shows it masked, with the access_token in memory', async () => {
  const login = await post('/api/login', { code: 'mock:bob' });
  const { token } = (await login.json()) as { token: string };
  const phone = await post('/api/phone', { code: 'mock:13912345678' }, token);
  expect(phone.status).toBe(200);
  expect(await phone.json()).toEqual({ phoneNumber: '13912345678', purePhoneNumber: '13912345678', countryCode: '86' });
  const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await me.json()) as { user: { phone: string } }).user.phone).toBe('139****5678');
  expect(output()).not.toContain('13912345678');
});

it('prints local admin and service keys that open the admin API and introspection', async () => {
  const adminKey = /Admin key [^:]*: (\S+)/.exec(output())?.[1];
  const serviceKey = /Service key [^:]*: (\S+)/.exec(output())?.[1];
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
