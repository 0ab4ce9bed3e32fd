// Deployments sharing one Upstash database (a preview beside production, as the README allows):
// each is its own `npm run dev` process with its own SESSION_ENCRYPTION_KEY and its own Postgres,
// and none accepts another's tokens. Rotation keeps the old key's sessions.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { dropDatabase, migrateDatabase, recreateDatabase } from '../scripts/local/postgres.js';
import { startListening } from './support/dev-process.js';
import { APP_A, defaultApps, startStack, type Stack } from './support/stack.js';

let stack: Stack;
const running: DevProcess[] = [];
const databases: string[] = [];
const key = () => randomBytes(32).toString('base64');
const [OLD_KEY, NEW_KEY, OTHER_KEY] = [key(), key(), key()];

const postgres = () => inject('postgres');
const adminUrl = () => Object.assign(new URL(inject('databaseUrl')), { pathname: '/postgres' }).toString();

async function ownDatabase(): Promise<string> {
  const name = `wxlogin_deploy_${process.pid}_${databases.length}`;
  const url = Object.assign(new URL(inject('databaseUrl')), { pathname: `/${name}` }).toString();
  await recreateDatabase(postgres(), adminUrl(), name);
  await migrateDatabase(postgres(), url);
  databases.push(name);
  return url;
}

type DevProcess = Awaited<ReturnType<typeof startListening>>;

async function deployment(env: Record<string, string>): Promise<DevProcess> {
  const started = await startListening({
    PORT: '0',
    WECHAT_APPS: defaultApps().map((app) => `${app.appid}:${app.secret}`).join(','),
    WECHAT_API_BASE: stack.wechat.url,
    ...stack.backendEnv,
    ...env,
  });
  running.push(started);
  return started;
}

let production: DevProcess;
let preview: DevProcess;
let rotated: DevProcess;
let otherNamespace: DevProcess;

beforeAll(async () => {
  stack = await startStack();
  const [productionDb, previewDb] = [await ownDatabase(), await ownDatabase()];
  [production, preview, rotated, otherNamespace] = await Promise.all([
    deployment({ DATABASE_URL: productionDb, SESSION_ENCRYPTION_KEY: OLD_KEY }),
    deployment({ DATABASE_URL: previewDb, SESSION_ENCRYPTION_KEY: OTHER_KEY }),
    // The same deployment after a key rotation: the new key first, the old one still listed.
    deployment({ DATABASE_URL: productionDb, SESSION_ENCRYPTION_KEY: `${NEW_KEY},${OLD_KEY}` }),
    // The same secret and database, another key namespace.
    deployment({ DATABASE_URL: productionDb, SESSION_ENCRYPTION_KEY: OLD_KEY, REDIS_KEY_PREFIX: 'wxlogin:preview-branch:' }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((process) => process.stop()));
  for (const name of databases) await dropDatabase(postgres(), adminUrl(), name);
  await stack.close();
});

async function login(at: DevProcess, person: string): Promise<string> {
  const response = await fetch(`${at.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: stack.wechat.issueCode(APP_A, person), appid: APP_A }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

const statusOf = async (at: DevProcess, path: string, token: string) =>
  (await fetch(`${at.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;

it('a token works only in the deployment that issued it', async () => {
  const token = await login(production, stack.person());
  expect(await statusOf(production, '/api/me', token)).toBe(200);
  expect(await statusOf(preview, '/api/me', token)).toBe(401);
  expect(await statusOf(preview, '/api/claims', token)).toBe(401);
  expect(await statusOf(otherNamespace, '/api/me', token)).toBe(401);

  const previewToken = await login(preview, stack.person());
  expect(await statusOf(preview, '/api/me', previewToken)).toBe(200);
  expect(await statusOf(production, '/api/me', previewToken)).toBe(401);
});

it('after a key rotation, sessions made under the old key stay valid; new ones use the new key', async () => {
  const before = await login(production, stack.person());
  expect(await statusOf(rotated, '/api/me', before)).toBe(200);
  const after = await login(rotated, stack.person());
  expect(await statusOf(rotated, '/api/me', after)).toBe(200);
  // A deployment that only knows the old key cannot find it.
  expect(await statusOf(production, '/api/me', after)).toBe(401);
});
