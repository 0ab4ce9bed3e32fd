// The scan-to-login page (public/login/) in a real Chromium against `npm run dev`: it shows the
// mini program code, waits, and signs in once the person confirms on their phone, played here by
// the mini program kit under its shim. Under its strict CSP, with no script error.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type * as Kit from '../miniprogram/wxlogin/index.js';
import { startListening, type Dev } from './support/dev-process.js';
import { createWx, miniprogramRuntime } from './support/wx-shim.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const KIT = new URL('../miniprogram/wxlogin/index.js', import.meta.url);
const APP = 'wxpage00000000000a';

let server: Dev & { url: string };
let dataDir: string;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required at ${CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  dataDir = await mkdtemp(join(tmpdir(), 'wxlogin-login-page-'));
  server = await startListening({ PORT: '0', DATA_DIR: dataDir, WECHAT_MOCK_APPS: APP });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('shows the code, waits for the phone, and hands the site a one-time code that signs the person in', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  const ticketResponse = page.waitForResponse((response) => response.url().endsWith('/api/web/tickets'));
  const response = await page.goto(`${server.url}/login`);
  expect(response!.headers()['content-security-policy']).toContain("default-src 'none'");
  const { ticket } = (await (await ticketResponse).json()) as { ticket: string };
  await page.locator('#status[data-state="pending"]').waitFor();
  expect(await page.locator('#qr').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth)).toBeGreaterThan(200);
  const code = page.evaluate(() => new Promise<string>((resolve) => document.addEventListener('wxlogin:code', (event) => resolve((event as CustomEvent<{ code: string }>).detail.code))));

  // The phone: the kit under the shim, in the mini program, logged in as dana.
  const wx = createWx({ appid: APP, issueCode: () => 'mock:dana', launchScene: 1047 });
  const kit = miniprogramRuntime({ wx }).load<typeof Kit>(KIT);
  kit.configure({ baseUrl: server.url, appid: APP });
  const asking = await kit.webLogin.scanned(decodeURIComponent(encodeURIComponent(ticket)), 1047);
  expect(asking).toMatchObject({ state: 'scanned', address: '127.0.0.1', device: expect.stringContaining('Chrome') });
  await page.locator('#status[data-state="scanned"]').waitFor();
  await kit.webLogin.confirm(ticket);
  await page.locator('#status[data-state="confirmed"]').waitFor();
  expect(await page.locator('#status').innerText()).toBe('登录成功');

  // The site's backend.
  const serviceKey = /Service key [^:]*: (\S+)/.exec(server.output())![1]!;
  const exchanged = await fetch(`${server.url}/api/web/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceKey}` },
    body: JSON.stringify({ code: await code }),
  });
  const { token } = (await exchanged.json()) as { token: string };
  const me = (await (await fetch(`${server.url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: { id: string; channel: string } };
  expect(me.user.channel).toBe('web');
  expect(me.user.id).toBe((await kit.me()).id);
  expect(errors).toEqual([]);
}, 60_000);
