// The operators' console at /admin in a real Chromium (Debian's, driven by playwright-core), against
// `npm run dev` with its embedded defaults and two mock mini programs: a person made by two logins
// and a merge, every action, and what an operator sees when something goes wrong. Screenshots of
// the main screens go to test-results/console/.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LOCALES, TIME_FORMAT } from '../console/i18n.js';
import { startListening, type Dev } from './support/dev-process.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = new URL('../test-results/console/', import.meta.url).pathname;
const APP_A = 'wxc0n5o1e00000000a';
const APP_B = 'wxc0n5o1e00000000b';
const TIME_ZONE = 'Asia/Shanghai';

let server: Dev & { url: string };
let dataDir: string;
let browser: Promise<Browser>;
let adminKey: string;

/** Debian's Chromium. Missing, every browser test fails (never skips): .ci/run installs it. */
async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is required at ${CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

beforeAll(async () => {
  browser = launchChromium();
  browser.catch(() => {}); // reported by each test that needs it
  await mkdir(SCREENSHOTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'wxlogin-console-'));
  server = await startListening({ PORT: '0', DATA_DIR: dataDir, WECHAT_MOCK_APPS: `${APP_A},${APP_B}` });
  adminKey = /Admin key [^:]*: (\S+)/.exec(server.output())![1]!;
}, 90_000);

afterAll(async () => {
  await (await browser.catch(() => null))?.close();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const api = async (path: string, init: { token?: string; json?: unknown; method?: string } = {}) => {
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
};
const login = (code: string, appid: string) => api('/api/login', { json: { code, appid } });

/** A fresh tab on /admin in Shanghai time, failing the test on any script error or CSP violation. */
async function openConsole(): Promise<{ page: Page; errors: string[] }> {
  const context = await (await browser).newContext({ viewport: { width: 1366, height: 900 }, timezoneId: TIME_ZONE, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // Error answers the console shows (401, 404) are logged as failed loads; anything else is a bug.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  await page.goto(`${server.url}/admin`);
  return { page, errors };
}

async function signIn(page: Page, key: string) {
  await page.getByLabel('管理员密钥').fill(key);
  await page.getByRole('button', { name: '登录' }).click();
}

/** The notice the last action left (waits for it). */
async function notice(page: Page): Promise<string> {
  const bar = page.locator('.notice');
  await bar.waitFor();
  return bar.innerText();
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

it('serves /admin with the security headers vercel.json sets, and no inline script or style', async () => {
  for (const [path, type] of [
    ['/admin', 'text/html'],
    ['/admin/', 'text/html'],
    ['/admin/console.js', 'text/javascript'],
    ['/admin/console.css', 'text/css'],
  ]) {
    const response = await fetch(`${server.url}${path}`);
    expect(response.status, path).toBe(200);
    expect(response.headers.get('content-type')).toContain(type);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp.split(/;\s*/)).toEqual(expect.arrayContaining(["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"]));
    expect(csp).not.toContain('unsafe');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  }
  const html = readFileSync(new URL('../public/admin/index.html', import.meta.url), 'utf8');
  expect(html).not.toMatch(/<style|style=|<script(?![^>]*\ssrc=)|\son\w+=/i);
  expect(html).not.toMatch(/https?:\/\//);
  // The API it reads is never cached; the headers are the console's, not the API's.
  const events = await fetch(`${server.url}/api/admin/events`, { headers: { authorization: `Bearer ${adminKey}` } });
  expect(events.headers.get('cache-control')).toBe('no-store');
  expect(events.headers.get('content-security-policy')).toBeNull();
});

it('refuses an empty or wrong key with a clear message and keeps nothing', async () => {
  const { page, errors } = await openConsole();
  expect(await page.locator('h1').innerText()).toBe('wxlogin 运营控制台');
  await signIn(page, '');
  expect(await notice(page)).toContain('请输入管理员密钥');
  await signIn(page, 'not-the-key');
  const refused = await notice(page);
  expect(refused).toContain('密钥无效');
  expect(refused).toContain('A valid bearer token is required');
  expect(refused).toContain('unauthorized');
  await shot(page, 'sign-in-wrong-key');
  expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

it('finds a person of two mini programs and a merge, reveals, suspends, lifts, ends sessions and deletes', { timeout: 120_000 }, async () => {
  // Carol signs up in A before A is bound to the Open Platform, then in B (a person of her own,
  // with the unionid); both claim the gift. Her next login in A brings the unionid: B's person
  // is folded into A's, and the later claim is dropped.
  const first = await login('mock-unbound:carol', APP_A);
  expect(first.status).toBe(200);
  const carol = first.body.user.id as string;
  expect((await api('/api/claims', { token: first.body.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
  const inB = await login('mock:carol', APP_B);
  const folded = inB.body.user.id as string;
  expect(folded).not.toBe(carol);
  expect((await api('/api/claims', { token: inB.body.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
  const merged = await login('mock:carol', APP_A);
  expect(merged.body.user.id).toBe(carol);
  expect((await api('/api/phone', { token: merged.body.token, json: { code: 'mock:13912345678' } })).status).toBe(200);
  const me = await api('/api/me', { token: merged.body.token });
  const openidInB = (me.body.user.accounts as { appid: string; openid: string }[]).find((account) => account.appid === APP_B)!.openid;

  const { page, errors } = await openConsole();
  const apiResponses: string[] = [];
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/api/')) apiResponses.push(response.headers()['cache-control'] ?? 'none');
  });
  await signIn(page, adminKey);
  await page.getByText('按人员 ID、appid + openid、unionid 或手机号查找一个人').waitFor();
  expect(await page.evaluate('[sessionStorage.getItem("wxlogin.adminKey"), localStorage.length]')).toEqual([adminKey, 0]);
  expect(page.url()).toBe(`${server.url}/admin`);

  // An empty search, then someone who does not exist.
  await page.getByRole('button', { name: '查找' }).click();
  expect(await notice(page)).toContain('请填写要查找的内容');
  await page.getByRole('radio', { name: 'unionid' }).check();
  await page.getByRole('searchbox').fill('unosuchperson');
  await page.getByRole('button', { name: '查找' }).click();
  const missing = await notice(page);
  expect(missing).toContain('找不到这个人');
  expect(missing).toContain('No such person · person_not_found');
  await shot(page, 'not-found');

  // Carol, by her account in B (the person folded into her).
  await page.getByRole('radio', { name: 'appid + openid' }).check();
  await page.getByRole('searchbox', { name: 'appid' }).fill(APP_B);
  await page.getByRole('searchbox', { name: 'openid' }).fill(openidInB);
  await page.getByRole('button', { name: '查找' }).click();
  const overview = page.locator('.overview');
  await overview.waitFor();
  expect(await overview.locator('.person-id').innerText()).toBe(carol);
  expect(await overview.locator('.badge').innerText()).toBe('正常');
  expect(await overview.locator('.phone').innerText()).toBe('139****5678');
  const createdShown = await overview.locator('time').first().innerText();
  const created = await overview.locator('time').first().getAttribute('datetime');
  expect(createdShown).toBe(new Intl.DateTimeFormat(LOCALES.zh, { ...TIME_FORMAT, timeZone: TIME_ZONE }).format(new Date(created!)));
  expect(await page.locator('.zone').innerText()).toContain(TIME_ZONE);

  const accounts = await rows(page, '小程序账号');
  expect(accounts.map((row) => row[0])).toEqual([APP_A, APP_B]);
  expect(accounts.map((row) => row[3])).toEqual(['2', '1']);
  expect((await rows(page, '权益领取')).map((row) => row.slice(0, 2))).toEqual([['welcome-gift', APP_A]]);
  const merge = await page.locator('.merges li').innerText();
  expect(merge).toContain(`${folded} 并入 ${carol}`);
  expect(merge).toContain(`由 ${APP_A} 的账号`);
  expect((await rows(page, '合并记录')).map((row) => row.slice(0, 2))).toEqual([['welcome-gift', APP_B]]);
  expect(await kinds(page)).toEqual(['绑定手机号', '登录', '合并', '领取权益', '首次登录']);
  await shot(page, 'person');

  // Reveal: the number in full, and the look in the audit trail under the operator's name.
  await page.getByRole('button', { name: '显示完整号码' }).click();
  expect(await notice(page)).toContain('已记入审计记录');
  expect(await overview.locator('.phone').innerText()).toBe('13912345678');
  expect((await kinds(page))[0]).toBe('查看完整手机号');
  expect(await page.locator('.event').first().innerText()).toContain('管理员 local-admin');

  // Suspend: every session ends and logins are refused until lifted.
  await page.getByRole('button', { name: '封禁', exact: true }).click();
  expect(await notice(page)).toContain('请填写封禁原因');
  await page.getByLabel('原因').fill('用户来电：账号被盗');
  // Until 03:04 on 2 January 2030 in Shanghai (UTC+8), as the operator's browser reads it.
  await page.getByLabel('封禁至').fill('2030-01-02T03:04');
  await page.getByRole('button', { name: '封禁', exact: true }).click();
  expect(await notice(page)).toContain('已封禁');
  expect(await overview.locator('.badge').innerText()).toBe('已封禁');
  expect(await overview.innerText()).toContain('用户来电：账号被盗');
  expect(await overview.locator('time[datetime="2030-01-01T19:04:00.000Z"]').innerText()).toBe('2030/01/02 03:04:00');
  expect((await kinds(page))[0]).toBe('封禁');
  await shot(page, 'suspended');
  const refused = await login('mock:carol', APP_B);
  expect([refused.status, refused.body.code]).toEqual([403, 'user_suspended']);
  expect((await api('/api/me', { token: merged.body.token })).status).toBe(401);

  await page.getByRole('button', { name: '解除封禁' }).click();
  expect(await notice(page)).toContain('已解除封禁');
  expect(await overview.locator('.badge').innerText()).toBe('正常');
  const back = await login('mock:carol', APP_B);
  expect(back.status).toBe(200);
  expect((await api('/api/me', { token: back.body.token })).status).toBe(200);

  // End every session: the token stops working.
  await page.getByRole('button', { name: '结束所有会话' }).click();
  expect(await notice(page)).toContain('已结束 1 个会话');
  expect((await api('/api/me', { token: back.body.token })).status).toBe(401);
  expect((await rows(page, '小程序账号')).map((row) => row[3])).toEqual(['0', '0']);

  // The whole trail, then the same screen in English.
  await page.getByRole('button', { name: '显示全部' }).click();
  await page.getByText('全部事件').waitFor();
  expect(await kinds(page)).toEqual(['结束所有会话', '登录', '解除封禁', '封禁', '查看完整手机号', '绑定手机号', '登录', '合并', '领取权益', '首次登录', '领取权益', '首次登录']);
  await page.getByRole('button', { name: 'English' }).click();
  expect(await page.locator('.overview h2').innerText()).toContain('Person');
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
  await shot(page, 'person-en');
  await page.getByRole('button', { name: '中文' }).click();

  // Delete (注销): only once the id is typed; afterwards no search finds her.
  const remove = page.getByRole('button', { name: '注销此人' });
  await page.getByLabel('注销此人').fill(carol.slice(0, 8));
  expect(await remove.isDisabled()).toBe(true);
  await page.getByLabel('注销此人').fill(carol);
  await remove.click();
  expect(await notice(page)).toContain(`已注销人员 ${carol}`);
  await page.getByRole('button', { name: '查找' }).click();
  expect(await notice(page)).toContain('person_not_found');
  await page.getByRole('radio', { name: '人员 ID' }).check();
  await page.getByRole('searchbox').fill(carol);
  await page.getByRole('button', { name: '查找' }).click();
  expect(await notice(page)).toContain('person_not_found');

  await page.getByRole('button', { name: '退出' }).click();
  expect(await notice(page)).toContain('已退出');
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  expect(apiResponses.length).toBeGreaterThan(10);
  expect(new Set(apiResponses)).toEqual(new Set(['no-store']));
  expect(errors).toEqual([]);
  await page.context().close();
});

/** The cells of every table in the card titled `title`. */
function rows(page: Page, title: string): Promise<string[][]> {
  return page
    .locator('section.card', { has: page.getByRole('heading', { name: title, exact: true }) })
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

/** The timeline's event kinds, newest first. */
function kinds(page: Page): Promise<string[]> {
  return page.locator('.event .kind').allInnerTexts();
}
