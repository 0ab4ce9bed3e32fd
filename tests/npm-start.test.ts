// `npm start` on the standard stack, as a mainland deployment runs it: Redis over TCP (REDIS_URL),
// a plain PostgreSQL (DATABASE_URL, no bridge), no Upstash variables; the bundle `npm run build`
// makes, migrated with `npm run db:migrate`, served over real HTTP and checked against the contract.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { runAdminStatements } from '../scripts/local/pg-admin.js';
import { startFakeWechat, type FakeWechat } from '../scripts/local/fake-wechat.js';
import { startRedisPipe, type RedisPipe } from '../scripts/local/redis-pipe.js';
import { checkExchange } from './support/contract.js';
import { startDev, startListening, type Dev } from './support/dev-process.js';
import { APP_A, APP_B, defaultApps } from './support/stack.js';

const run = promisify(execFile);
const DATABASE = `wxlogin_start_${process.pid}`;

let wechat: FakeWechat;
let redis: RedisPipe;
let server: Dev & { url: string };
let databaseUrl: string;
let adminUrl: string;

beforeAll(async () => {
  const shared = new URL(inject('databaseUrl'));
  adminUrl = Object.assign(new URL(shared), { pathname: '/postgres' }).toString();
  databaseUrl = Object.assign(new URL(shared), { pathname: `/${DATABASE}` }).toString();
  await runAdminStatements(inject('postgres'), adminUrl, [`drop database if exists ${DATABASE} with (force)`, `create database ${DATABASE}`]);
  const clean = { PATH: process.env.PATH!, HOME: process.env.HOME! };
  await run('npm', ['run', 'db:migrate'], { env: { ...clean, DATABASE_URL: databaseUrl } });
  await run('npm', ['run', 'build'], { env: clean });
  [wechat, redis] = await Promise.all([startFakeWechat({ apps: defaultApps() }), startRedisPipe(inject('redisUrl'))]);
  server = await startListening(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      WECHAT_APPS: defaultApps().map((app) => `${app.appid}:${app.secret}`).join(','),
      WECHAT_API_BASE: wechat.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `wxlogin:start-${randomBytes(3).toString('hex')}:`,
      DATABASE_URL: databaseUrl,
      SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    },
    'start',
  );
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await Promise.all([wechat?.close(), redis?.close()]);
  await runAdminStatements(inject('postgres'), adminUrl, [`drop database if exists ${DATABASE} with (force)`]);
});

const TRANSPORT_HEADERS = ['connection', 'keep-alive', 'date', 'transfer-encoding', 'content-length'];

/** One exchange over HTTP, held to docs/openapi.yaml. */
async function call(path: string, method: string, { token, json }: { token?: string; json?: unknown } = {}) {
  const url = `${server.url}/api/${path}`;
  const headers = new Headers(json === undefined ? {} : { 'content-type': 'application/json' });
  if (token) headers.set('authorization', `Bearer ${token}`);
  const requestBody = json === undefined ? undefined : JSON.stringify(json);
  const response = await fetch(url, { method, headers, body: requestBody });
  const text = await response.text();
  // The function's answer, without what Node's HTTP server adds to carry it.
  const answered = new Headers(response.headers);
  for (const name of TRANSPORT_HEADERS) answered.delete(name);
  checkExchange({ method, url, requestHeaders: headers, requestBody, status: response.status, headers: answered, body: text });
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const login = (person: string, appid = APP_A) => call('login', 'POST', { json: { code: wechat.issueCode(appid, person), appid } });
const person = () => `p-${randomBytes(6).toString('hex')}`;

it('refuses to start without Redis: no in-memory fallback in production', async () => {
  const dev = startDev({ PORT: '0', WECHAT_APPS: 'wx1:secret', DATABASE_URL: databaseUrl, SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64') }, 'start');
  expect(await dev.exitCode).not.toBe(0);
  expect(dev.output()).toContain('Configuration error: Set REDIS_URL');
});

it('serves login → /me → logout over TCP Redis and plain PostgreSQL', async () => {
  const first = await login(person());
  expect(first.status).toBe(200);
  const { token, user } = first.body;
  const me = await call('me', 'GET', { token });
  expect([me.status, me.body.user.id]).toEqual([200, user.id]);
  expect((await call('logout', 'POST', { token })).status).toBe(204);
  expect((await call('me', 'GET', { token })).status).toBe(401);
});

it('one person across mini programs of one Open Platform account', async () => {
  const who = person();
  const inA = await login(who, APP_A);
  const inB = await login(who, APP_B);
  expect(inB.body.user.id).toBe(inA.body.user.id);
  const me = await call('me', 'GET', { token: inB.body.token });
  expect(me.body.user.accounts.map((account: { appid: string }) => account.appid).sort()).toEqual([APP_A, APP_B]);
});

it('a benefit is claimed exactly once, however many claims race', async () => {
  const { token } = (await login(person())).body;
  const results = await Promise.all(Array.from({ length: 6 }, () => call('claims', 'POST', { token, json: { benefit: 'welcome-gift' } })));
  expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  expect(results.filter((result) => result.status === 409).every((result) => result.body.code === 'already_claimed')).toBe(true);
});

it('an unreachable Redis is a 503 service_unavailable within the bound, and a 503 health; then it recovers', async () => {
  const { token } = (await login(person())).body;
  await redis.stop();
  try {
    const started = performance.now();
    const me = await call('me', 'GET', { token });
    const elapsed = performance.now() - started;
    expect([me.status, me.body.code]).toEqual([503, 'service_unavailable']);
    // One command's bound (1.5 s) and scheduling slack, well inside a request's budget.
    expect(elapsed).toBeLessThan(3000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const health = await call('health', 'GET');
    expect([health.status, health.body.checks.redis.status, health.body.checks.postgres.status]).toEqual([503, 'unavailable', 'ok']);
  } finally {
    await redis.start();
  }
  let me = await call('me', 'GET', { token });
  for (let tries = 0; me.status !== 200 && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    me = await call('me', 'GET', { token });
  }
  expect(me.status).toBe(200);
});

it('SIGTERM: the login in flight finishes (200), new connections are refused, exit 0', async () => {
  const pid = Number(/pid (\d+)/.exec(server.output())![1]);
  const port = Number(new URL(server.url).port);
  wechat.setLatency(1500);
  try {
    const inFlight = login(person());
    // The request has reached the server: WeChat holds it for 1.5 s.
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    expect((await inFlight).status).toBe(200);
    expect(await server.exitCode).toBe(0);
    expect(server.output()).toContain('drained; exiting');
  } finally {
    wechat.setLatency(0);
  }
});
