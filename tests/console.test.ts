// The operators' console at /admin in a real Chromium (Debian's, driven by playwright-core), against
// `npm run dev` with its embedded defaults, two named mock mini programs and three operators (one
// per role): a user made by two logins and a merge, every action, a user with a profile, consents
// and a 公众号 web sign-in (take-down, export to a file), the benefits and audit-trail screens,
// what an operator sees when something goes wrong, long text at 1440 and 390 px, and the keyboard
// alone. Screenshots of the main screens go to test-results/console/.
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
/** The dev server's mock 公众号 (scripts/dev.ts), and where its sign-in returns. */
const MP = 'wxmockmp0000000000';
const SITE = 'https://site.example.com/';
const PUBLIC_BASE_URL = 'https://login.example.com';
const SERVICE_KEY = 'console-service-key-0123456789-abcdefgh';
const KEYS = {
  admin: 'console-admin-key-0123456789-abcdefghij',
  support: 'console-support-key-0123456789-abcdefgh',
  viewer: 'console-viewer-key-0123456789-abcdefghi',
};

let server: Dev & { url: string };
let dataDir: string;
let browser: Promise<Browser>;

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
  server = await startListening({
    PORT: '0',
    DATA_DIR: dataDir,
    WECHAT_MOCK_APPS: `${APP_A},${APP_B}`,
    WECHAT_APP_NAMES: `${APP_A}:会员商城,${APP_B}:积分乐园`,
    ADMIN_KEYS: `li:${KEYS.admin},wang:support:${KEYS.support},zhao:viewer:${KEYS.viewer}`,
    SERVICE_KEYS: `site:${SERVICE_KEY}`,
    // Avatars are then addressed under another host: the console must load them by path.
    PUBLIC_BASE_URL,
    WEB_REDIRECTS: `${MP}:${SITE}`,
  });
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

/** A user who logged in to A; their id. */
async function someone(name: string): Promise<string> {
  const first = await login(`mock:${name}`, APP_A);
  expect(first.status).toBe(200);
  return first.body.user.id;
}

/** A fresh tab on /admin in Shanghai time, failing the test on any script error or CSP violation. */
async function openConsole(width = 1366): Promise<{ page: Page; errors: string[] }> {
  const context = await (await browser).newContext({ viewport: { width, height: 900 }, timezoneId: TIME_ZONE, locale: 'zh-CN' });
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
  await page.getByLabel('运营密钥').fill(key);
  await page.getByRole('button', { name: '登录' }).click();
}

/** Signed in as `role` with the user shown. */
async function personPage(role: keyof typeof KEYS, id: string, width = 1366) {
  const opened = await openConsole(width);
  await signIn(opened.page, KEYS[role]);
  await opened.page.locator('.operator').waitFor();
  await opened.page.goto(`${server.url}/admin#/person/${id}`);
  await opened.page.locator('.overview').waitFor();
  return opened;
}

/** The notice the last action left (waits for it). */
async function notice(page: Page): Promise<string> {
  const bar = page.locator('.notice:not(.busy)');
  await bar.waitFor();
  return bar.innerText();
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });

/** Whether nothing is wider than the window (no sideways scrolling) and `selector` sits inside its card. */
function fitsWidth(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((inner) => {
    const element = document.querySelector(inner)!;
    const card = element.closest('.card')!.getBoundingClientRect();
    const box = element.getBoundingClientRect();
    return document.documentElement.scrollWidth <= innerWidth && box.left >= card.left && box.right <= card.right + 0.5;
  }, selector);
}

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
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(response.headers.get('permissions-policy')).toContain('camera=()');
  }
  const html = readFileSync(new URL('../public/admin/index.html', import.meta.url), 'utf8');
  expect(html).not.toMatch(/<style|style=|<script(?![^>]*\ssrc=)|\son\w+=/i);
  expect(html).not.toMatch(/https?:\/\//);
  // The API it reads is never cached; the headers are the console's, not the API's.
  const events = await fetch(`${server.url}/api/admin/events`, { headers: { authorization: `Bearer ${KEYS.viewer}` } });
  expect(events.headers.get('cache-control')).toBe('no-store');
  expect(events.headers.get('content-security-policy')).toBeNull();
});

it('refuses an empty or wrong key in Chinese, by code with the request id, and keeps nothing', async () => {
  const { page, errors } = await openConsole();
  expect(await page.locator('h1').innerText()).toBe('wxlogin 运营控制台');
  await signIn(page, '');
  expect(await notice(page)).toContain('请输入运营密钥');
  await signIn(page, 'not-the-key');
  const refused = await notice(page);
  expect(refused).toContain('密钥无效');
  expect(refused).toMatch(/错误码 unauthorized · 请求编号 [\w-]{20,}/);
  expect(refused).not.toMatch(/bearer|valid|Send/i);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('notice');
  expect(await page.evaluate('sessionStorage.length + localStorage.length')).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

it('finds a user of two mini programs by a pasted number, keeps the search out of URLs, reveals with a purpose, ends one session, suspends, lifts and deletes', { timeout: 120_000 }, async () => {
  // Carol signs up in A before A is bound to the Open Platform, then in B (a person of her own,
  // with the unionid); both claim the gift. Her next login in A brings the unionid: B's person
  // is folded into A's, and the later claim is dropped.
  const first = await login('mock-unbound:carol', APP_A);
  const carol = first.body.user.id as string;
  expect((await api('/api/claims', { token: first.body.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
  const inB = await login('mock:carol', APP_B);
  expect((await api('/api/claims', { token: inB.body.token, json: { benefit: 'welcome-gift' } })).status).toBe(201);
  const merged = await login('mock:carol', APP_A);
  expect(merged.body.user.id).toBe(carol);
  expect((await api('/api/phone', { token: merged.body.token, json: { code: 'mock:13912345678' } })).status).toBe(200);

  const { page, errors } = await openConsole(1440);
  const requested: string[] = [];
  const apiResponses: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/api/')) apiResponses.push(response.headers()['cache-control'] ?? 'none');
  });
  await signIn(page, KEYS.admin);
  expect(await page.locator('.operator').innerText()).toBe('li · 管理员');
  expect(await page.evaluate('[sessionStorage.getItem("wxlogin.adminKey"), localStorage.length]')).toEqual([KEYS.admin, 0]);
  expect(await page.locator('h1').innerText()).toBe('查找用户');

  // An empty search, then a number pasted the way people paste them: full-width, +86, dashes, a zero-width space.
  await page.getByRole('button', { name: '查找', exact: true }).click();
  expect(await notice(page)).toContain('请填写要查找的内容');
  await page.getByRole('radio', { name: '手机号' }).check();
  await page.locator('#search-phone').fill('＋８６ １３９-1234-5678\u200b');
  await page.getByRole('button', { name: '查找', exact: true }).click();
  const overview = page.locator('.overview');
  await overview.waitFor();
  expect(await overview.locator('.person-id').innerText()).toBe(carol);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('result');
  expect(new URL(page.url()).hash).toBe(`#/person/${carol}`);
  expect(requested.filter((url) => url.includes('13912345678'))).toEqual([]);
  expect(await overview.locator('.phone').innerText()).toBe('139****5678');
  const created = await overview.locator('time').first().getAttribute('datetime');
  expect(await overview.locator('time').first().innerText()).toBe(new Intl.DateTimeFormat(LOCALES.zh, { ...TIME_FORMAT, timeZone: TIME_ZONE }).format(new Date(created!)));

  // Mini programs by name, benefits by title, sessions one by one.
  expect((await rows(page, '微信账号')).map((row) => row[0])).toEqual([`会员商城 ${APP_A}`, `积分乐园 ${APP_B}`]);
  expect((await rows(page, '在线会话')).map((row) => row[0])).toEqual([`会员商城 ${APP_A}`, `积分乐园 ${APP_B}`, `会员商城 ${APP_A}`]);
  expect((await rows(page, '权益领取')).map((row) => row[0])).toEqual(['welcome-gift']);
  expect(await page.locator('.merges li').innerText()).toContain(`并入 ${carol}`);
  expect((await kinds(page)).slice(0, 2)).toEqual(['查看用户', '绑定手机号']);
  expect(await page.locator('.event').first().innerText()).toContain('查找方式: 手机号');

  // A reload opens the same user (the hash), and that look-up is recorded too.
  await page.reload();
  await overview.waitFor();
  expect(await overview.locator('.person-id').innerText()).toBe(carol);
  expect((await kinds(page)).slice(0, 2)).toEqual(['查看用户', '查看用户']);
  await shot(page, 'person-merge-1440');
  await page.setViewportSize({ width: 390, height: 900 });
  expect(await fitsWidth(page, '.merges li')).toBe(true);
  await shot(page, 'person-merge-390');
  await page.setViewportSize({ width: 1440, height: 900 });

  // Reveal: only with a purpose, recorded with it.
  await page.getByRole('button', { name: '查看完整号码' }).click();
  expect(await notice(page)).toContain('请填写查看原因');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('purpose');
  await page.getByLabel('查看原因（必填，如工单号）').fill('工单 T-1024');
  await page.getByRole('button', { name: '查看完整号码' }).click();
  expect(await notice(page)).toContain('已记入审计记录');
  expect(await overview.locator('.phone').innerText()).toBe('13912345678');
  expect(await page.locator('.event').first().innerText()).toContain('用途: 工单 T-1024');
  expect(await page.locator('.event').first().innerText()).toContain('管理员 li');

  // One session ended on its own: Carol's session in B.
  await sessionButton(page, '积分乐园').click();
  expect(await notice(page)).toContain('已将该会话强制下线');
  expect((await rows(page, '在线会话')).map((row) => row[0])).toEqual([`会员商城 ${APP_A}`, `会员商城 ${APP_A}`]);
  expect((await api('/api/me', { token: inB.body.token })).status).toBe(401);
  expect((await api('/api/me', { token: merged.body.token })).status).toBe(200);

  // Suspend, lift, log out everywhere.
  await page.getByLabel('封禁原因').fill('工单 T-1024：用户来电称账号被盗');
  await page.getByLabel('封禁至（可选，留空则直到解除）').fill('2030-01-02T03:04');
  await page.getByRole('button', { name: '封禁', exact: true }).click();
  expect(await notice(page)).toContain('已封禁');
  expect(await overview.locator('.badge').innerText()).toBe('已封禁');
  expect(await overview.locator('time[datetime="2030-01-01T19:04:00.000Z"]').innerText()).toBe('2030/01/02 03:04:00');
  expect((await login('mock:carol', APP_B)).body.code).toBe('user_suspended');
  await page.getByRole('button', { name: '解除封禁' }).click();
  expect(await notice(page)).toContain('已解除封禁');
  await login('mock:carol', APP_B);
  await page.getByRole('button', { name: '全部强制下线' }).click();
  expect(await notice(page)).toMatch(/已强制下线 \d 个会话/);
  expect(await page.locator('.card', { hasText: '没有在线会话' }).count()).toBe(1);

  // The same screen in English, then delete (注销): only once the id is typed.
  await page.getByRole('button', { name: 'English' }).click();
  expect(await page.locator('.overview h2').innerText()).toContain('User');
  expect(await page.locator('html').getAttribute('lang')).toBe('en');
  await page.getByRole('button', { name: '中文' }).click();
  const remove = page.getByRole('button', { name: '注销用户' });
  await page.locator('#confirm').fill(carol.slice(0, 8));
  expect(await remove.isDisabled()).toBe(true);
  await page.locator('#confirm').fill(carol);
  await remove.click();
  expect(await notice(page)).toContain(`已注销用户 ${carol}`);
  expect(await page.locator('.overview').count()).toBe(0);
  await page.getByRole('radio', { name: '用户 ID' }).check();
  await page.locator('#search-id').fill(carol);
  await page.getByRole('button', { name: '查找', exact: true }).click();
  const gone = await notice(page);
  expect(gone).toContain('找不到这个用户');
  expect(gone).toMatch(/错误码 person_not_found · 请求编号/);

  await page.getByRole('button', { name: '退出' }).click();
  expect(await notice(page)).toContain('已退出');
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  expect(new Set(apiResponses)).toEqual(new Set(['no-store']));
  expect(errors).toEqual([]);
  await page.context().close();
});

it('shows each role only what it may do, and says which role signed in', async () => {
  const id = await someone('dora');
  const viewer = await personPage('viewer', id);
  expect(await viewer.page.locator('.operator').innerText()).toBe('zhao · 只读');
  expect(await viewer.page.locator('nav a').allInnerTexts()).toEqual(['查找用户', '审计记录']);
  expect(await viewer.page.getByRole('button', { name: '查看完整号码' }).count()).toBe(0);
  expect(await viewer.page.getByRole('heading', { name: '操作' }).count()).toBe(0);
  expect(await viewer.page.getByRole('button', { name: '强制下线' }).count()).toBe(0);
  await viewer.page.goto(`${server.url}/admin#/benefits`);
  expect(await viewer.page.locator('h1').innerText()).toBe('查找用户');
  await viewer.page.context().close();

  const support = await personPage('support', id);
  expect(await support.page.locator('.operator').innerText()).toBe('wang · 客服');
  expect(await support.page.getByRole('button', { name: '封禁', exact: true }).count()).toBe(1);
  expect(await support.page.getByRole('button', { name: '注销用户' }).count()).toBe(0);
  expect(await support.page.locator('nav a').allInnerTexts()).toEqual(['查找用户', '审计记录']);
  expect([...viewer.errors, ...support.errors]).toEqual([]);
  await support.page.context().close();
});

it('shows the profile, consents, web accounts and sessions; support takes the avatar down and exports a file; a viewer can do neither', { timeout: 120_000 }, async () => {
  // The mock's web sign-ins sign in "developer" (any code that is not mock:…): a mini program
  // login, then the 公众号 through its OAuth pages, one person by the unionid.
  const inApp = await login('console-developer', APP_A);
  const id = inApp.body.user.id as string;
  const token = inApp.body.token as string;
  expect((await api('/api/me/profile', { token, method: 'PUT', json: { nickname: '小明同学' } })).status).toBe(200);
  const avatar = await fetch(`${server.url}/api/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' }, body: await avatarPng() });
  expect(avatar.status).toBe(200);
  expect((await avatar.json()).profile.avatarUrl).toMatch(new RegExp(`^${PUBLIC_BASE_URL}/api/avatars/[0-9a-f]{64}$`));
  expect((await api('/api/me/consents', { token, json: { document: 'privacy', version: '2026-01' } })).status).toBe(201);
  expect((await api('/api/me/consents', { token, json: { document: 'terms', version: 'v3' } })).status).toBe(201);
  expect((await api('/api/me/consents/privacy', { token, method: 'DELETE' })).status).toBe(204);
  expect(await signInToOfficialAccount()).toBe(id);

  for (const width of [1440, 390]) {
    const { page, errors } = await personPage('viewer', id, width);
    const profile = page.locator('section.card', { has: page.getByRole('heading', { name: '头像和昵称' }) });
    expect(await profile.locator('.nickname').innerText()).toBe('小明同学');
    // Loaded from the console's own origin (its CSP allows no other), though avatarUrl names another host.
    const image = profile.locator('img.avatar');
    expect(await image.getAttribute('src')).toMatch(/^\/api\/avatars\/[0-9a-f]{64}$/);
    await page.waitForFunction(() => (document.querySelector('img.avatar') as HTMLImageElement | null)?.naturalWidth === 48);
    expect(await profile.locator('.badge').innerText()).toBe('检测中');
    expect(await profile.locator('.badge').getAttribute('class')).toContain('warn');
    const consents = await rows(page, '同意记录');
    expect(consents.map((row) => row.slice(0, 3))).toEqual([
      ['隐私保护指引', '2026-01', `会员商城 ${APP_A}`],
      ['用户协议', 'v3', `会员商城 ${APP_A}`],
    ]);
    expect(consents[0]![4]).toMatch(/^已撤回 \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
    expect(consents[1]![4]).toBe('生效中');
    expect((await rows(page, '微信账号')).map((row) => [row[0], row[1]])).toEqual([
      [`会员商城 ${APP_A}`, '小程序'],
      [MP, '公众号'],
    ]);
    expect((await rows(page, '在线会话')).map((row) => [row[0], row[1]])).toEqual([
      [`会员商城 ${APP_A}`, '小程序'],
      [MP, '网页'],
    ]);
    // Event details in Chinese: documents by name, the channel by its word.
    const events = await page.locator('.event').allInnerTexts();
    expect(events.find((event) => event.includes('撤回同意'))).toContain('协议: 隐私保护指引 · 撤回的版本: 2026-01');
    expect(events.find((event) => event.includes('同意协议'))).toContain('协议: 用户协议 · 版本: v3');
    expect(events.find((event) => event.includes('渠道'))).toContain('渠道: 网页');
    // Viewers read; they take nothing down and export nothing.
    for (const name of ['下架昵称', '下架头像', '导出个人信息']) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await fitsWidth(page, 'img.avatar')).toBe(true);
    expect(errors).toEqual([]);
    await page.context().close();
  }

  const { page, errors } = await personPage('support', id, 1440);
  await shot(page, 'person-1440');
  await page.setViewportSize({ width: 390, height: 900 });
  expect(await fitsWidth(page, '#takedown-avatar')).toBe(true);
  await shot(page, 'person-390');
  await page.setViewportSize({ width: 1440, height: 900 });
  // The same in English.
  await page.getByRole('button', { name: 'English' }).click();
  expect((await rows(page, 'WeChat accounts')).map((row) => row[1])).toEqual(['Mini program', 'Official account']);
  expect((await rows(page, 'Live sessions')).map((row) => row[1])).toEqual(['Mini program', 'Web']);
  expect((await rows(page, 'Consents')).map((row) => [row[0], row[4]!.replace(/ \d.*/, '')])).toEqual([['Privacy guide', 'Withdrawn'], ['Terms of service', 'In force']]);
  expect(await page.locator('.event', { hasText: 'Consent withdrawn' }).innerText()).toContain('document: Privacy guide · versions withdrawn: 2026-01');
  expect(await page.getByRole('button', { name: 'Take avatar down' }).count()).toBe(1);
  await page.getByRole('button', { name: '中文' }).click();
  // Taking the avatar down asks for its reason first.
  await page.getByRole('button', { name: '下架头像' }).click();
  expect(await notice(page)).toContain('请填写下架原因');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('takedown-reason');
  await page.getByLabel('下架原因').fill('工单 T-6001：头像含二维码广告');
  await page.getByRole('button', { name: '下架头像' }).click();
  expect(await notice(page)).toContain('已下架头像');
  expect(await page.locator('img.avatar').count()).toBe(0);
  expect(await page.getByRole('button', { name: '下架头像' }).count()).toBe(0);
  expect(await page.locator('.event').first().innerText()).toMatch(/下架头像[\s\S]*客服 wang[\s\S]*原因: 工单 T-6001：头像含二维码广告/);
  expect((await api('/api/me', { token })).body.user.avatarUrl).toBeNull();

  // The export: a purpose, then a file the browser downloads; the copy is never on the screen.
  await page.getByRole('button', { name: '导出个人信息' }).click();
  expect(await notice(page)).toContain('请填写导出原因');
  await page.getByLabel('导出原因（必填，如工单号）').fill('工单 T-6002：用户来电要求副本');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: '导出个人信息' }).click()]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^wxlogin-${id}-\\d{4}-\\d\\d-\\d\\d\\.json$`));
  const copy = JSON.parse(readFileSync((await download.path())!, 'utf8'));
  expect(copy).toMatchObject({ format: 'wxlogin-personal-data/1', person: { id } });
  expect(await notice(page)).toContain(`已导出，文件 ${download.suggestedFilename()} 已开始下载`);
  expect(await page.locator('body').innerText()).not.toContain('wxlogin-personal-data');
  const exported = (await api(`/api/admin/events?person=${id}&kind=data_exported`, { token: KEYS.viewer })).body.events;
  expect(exported).toMatchObject([{ actor: 'support:wang', details: { purpose: '工单 T-6002：用户来电要求副本' } }]);
  expect(errors).toEqual([]);
  await page.context().close();
});

it('keeps the reason typed when a suspension fails, and says why in Chinese with the request id', async () => {
  const id = await someone('erin');
  const { page, errors } = await personPage('support', id);
  await page.getByLabel('封禁原因').fill('工单 T-2001：批量注册');
  // Already past: the API refuses it.
  await page.getByLabel('封禁至（可选，留空则直到解除）').fill('2020-01-01T00:00');
  await page.getByRole('button', { name: '封禁', exact: true }).click();
  const refused = await notice(page);
  expect(refused).toContain('填写的内容有误');
  expect(refused).toMatch(/错误码 invalid_request · 请求编号 [\w-]{20,}/);
  expect(refused).not.toContain('until');
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('notice');
  expect(await page.getByLabel('封禁原因').inputValue()).toBe('工单 T-2001：批量注册');
  expect(await page.getByLabel('封禁至（可选，留空则直到解除）').inputValue()).toBe('2020-01-01T00:00');
  expect(await page.locator('.overview .badge').innerText()).toBe('正常');
  expect(errors).toEqual([]);
  await page.context().close();
});

it('wraps a 500-character reason inside its card at 1440 and 390 px; a bidi control never gets stored', async () => {
  const id = await someone('fay');
  // The input rule refuses bidi controls at the door (the console also shows any older one as a visible mark).
  const reordering = await api(`/api/admin/people/${id}/suspend`, { token: KEYS.support, json: { reason: '工单\u202Egnp.exe' } });
  expect(reordering.status).toBe(400);
  const reason = `工单T-3001${'超长原因'.repeat(71)}${'x'.repeat(300)}`.slice(0, 500);
  expect(reason.length).toBe(500);
  expect((await api(`/api/admin/people/${id}/suspend`, { token: KEYS.support, json: { reason } })).status).toBe(200);
  for (const width of [1440, 390]) {
    const { page, errors } = await personPage('admin', id, width);
    const shown = page.locator('.overview .free-text');
    expect(await shown.innerText()).toContain('xxxxxxxx');
    expect(await fitsWidth(page, '.overview .free-text')).toBe(true);
    expect(await fitsWidth(page, '.event .details')).toBe(true);
    // The narrow layout: table cells keep their labels beside them, no header a letter a line.
    const cellWidths = await page.locator('td').evaluateAll((cells) => cells.map((cell) => cell.getBoundingClientRect().width));
    expect(Math.min(...cellWidths)).toBeGreaterThan(60);
    await shot(page, `person-long-reason-${width}`);
    expect(errors).toEqual([]);
    await page.context().close();
  }
});

it('suspends and lifts with the keyboard alone, the focus always visible and never lost', { timeout: 60_000 }, async () => {
  const id = await someone('gus');
  const { page, errors } = await personPage('support', id);
  const focused = () => page.evaluate(() => document.activeElement?.id ?? '');
  /** Tabs forward until the element with `id` has the focus, checking every stop shows a ring of 3:1 at least. */
  async function tabTo(target: string) {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      // As the operator sees it: after the next frame (a date field hands its focus inward first).
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
      const ring = await page.evaluate(focusRing);
      expect(ring.width, `focus ring on ${ring.element}`).toBeGreaterThanOrEqual(2);
      expect(ring.contrast, `focus ring contrast on ${ring.element}`).toBeGreaterThanOrEqual(3);
      if ((await focused()) === target) return;
    }
    throw new Error(`Tab never reached #${target}`);
  }
  await tabTo('reason');
  await page.keyboard.type('工单 T-4001：键盘操作');
  await tabTo('suspend');
  await page.keyboard.press('Enter');
  expect(await notice(page)).toContain('已封禁');
  expect(await focused()).toBe('notice');
  await tabTo('lift');
  await page.keyboard.press('Enter');
  expect(await notice(page)).toContain('已解除封禁');
  expect(await focused()).toBe('notice');
  expect((await api(`/api/admin/people/${id}`, { token: KEYS.viewer })).body.person.suspension).toBeNull();
  // Every input, select and textarea has a label; the workspace has one <h1>.
  expect(await page.locator('input:not([type=radio]), select, textarea').evaluateAll((controls) => controls.filter((control) => (control as HTMLInputElement).labels?.length === 0).length)).toBe(0);
  expect(await page.locator('h1').count()).toBe(1);
  expect(errors).toEqual([]);
  await page.context().close();
});

it('creates a benefit with its rules and pauses it from the benefits screen, with validation in Chinese', { timeout: 60_000 }, async () => {
  for (const width of [1440, 390]) {
    const { page, errors } = await openConsole(width);
    await signIn(page, KEYS.admin);
    await page.locator('.operator').waitFor();
    await page.getByRole('link', { name: '权益管理' }).click();
    await page.getByRole('button', { name: '新建权益' }).waitFor();
    if (width === 1440) {
      await page.getByRole('button', { name: '新建权益' }).click();
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('benefit-key');
      await page.getByLabel('权益标识（创建后不可修改）').fill('Spring Gift');
      await page.getByLabel('名称（中文）').fill('春季新人礼');
      await page.getByLabel('名称（英文）').fill('Spring gift');
      await page.getByRole('button', { name: '保存' }).click();
      expect(await notice(page)).toContain('权益标识只能用小写字母');
      await page.getByLabel('权益标识（创建后不可修改）').fill('spring-gift');
      await page.getByLabel('仅限新用户：首次登录后天数（可选）').fill('99999');
      await page.getByRole('button', { name: '保存' }).click();
      expect(await notice(page)).toContain('应为 1–3650 之间的整数');
      // What was typed is all still there.
      expect(await page.getByLabel('名称（中文）').inputValue()).toBe('春季新人礼');
      await page.getByLabel('仅限新用户：首次登录后天数（可选）').fill('7');
      await page.getByLabel('需已绑定手机号').check();
      await page.getByLabel('每个手机号限领一次').check();
      await page.getByLabel('微信风险等级上限').selectOption('2');
      await page.getByLabel('无法获取风险等级时').selectOption('allow');
      await page.getByLabel('开始时间（可选）').fill('2030-03-01T00:00');
      await page.getByLabel('结束时间（可选）').fill('2030-02-01T00:00');
      await page.getByRole('button', { name: '保存' }).click();
      expect(await notice(page)).toContain('结束时间必须晚于开始时间');
      await page.getByLabel('结束时间（可选）').fill('2030-04-01T00:00');
      await page.getByRole('button', { name: '保存' }).click();
      expect(await notice(page)).toContain('已保存权益「春季新人礼」');
      const row = page.locator('tr', { hasText: 'spring-gift' });
      expect(await row.innerText()).toContain('首次登录 7 天内 · 需绑定手机号 · 每号一次 · 风险等级 ≤ 2');
      await row.getByRole('button', { name: '暂停' }).click();
      expect(await notice(page)).toContain('已暂停权益「春季新人礼」');
      expect(await page.locator('tr', { hasText: 'spring-gift' }).locator('.badge').innerText()).toBe('已暂停');
      const saved = (await api('/api/admin/benefits', { token: KEYS.viewer })).body.benefits.find((benefit: { key: string }) => benefit.key === 'spring-gift');
      expect(saved).toMatchObject({
        key: 'spring-gift',
        title: { zh: '春季新人礼', en: 'Spring gift' },
        active: false,
        startsAt: '2030-02-28T16:00:00.000Z',
        endsAt: '2030-03-31T16:00:00.000Z',
        policy: { newWithinDays: 7, phoneRequired: true, onePerPhone: true, maxRiskRank: 2, riskFailure: 'allow' },
      });
      // Edit and resume keep the rules.
      await page.locator('tr', { hasText: 'spring-gift' }).getByRole('button', { name: '恢复' }).click();
      expect(await notice(page)).toContain('已恢复权益「春季新人礼」');
      const resumed = (await api('/api/admin/benefits', { token: KEYS.viewer })).body.benefits.find((benefit: { key: string }) => benefit.key === 'spring-gift');
      expect(resumed).toMatchObject({ ...saved, active: true });
      // The editor holds what the benefit holds.
      await page.locator('tr', { hasText: 'spring-gift' }).getByRole('button', { name: '编辑' }).click();
      expect(await page.getByLabel('仅限新用户：首次登录后天数（可选）').inputValue()).toBe('7');
      expect(await page.getByLabel('微信风险等级上限').inputValue()).toBe('2');
      expect(await page.getByLabel('开始时间（可选）').inputValue()).toBe('2030-03-01T00:00');
      expect(await page.getByLabel('权益标识（创建后不可修改）').getAttribute('readonly')).not.toBeNull();
    }
    expect(await fitsWidth(page, 'tr:last-child td')).toBe(true);
    await shot(page, `benefits-${width}`);
    expect(errors).toEqual([]);
    await page.context().close();
  }
});

it('filters the audit trail by operator, kind, user (deleted too) and time, a page at a time', { timeout: 60_000 }, async () => {
  // First, so the newest event stays the user's.
  const stocked = await api('/api/admin/benefits/lunar-gift', { token: KEYS.admin, method: 'PUT', json: { title: { zh: '春节礼', en: 'New year gift' }, policy: { stock: 100 } } });
  expect(stocked.status).toBe(200);
  const id = await someone('hal');
  for (let i = 0; i < 3; i++) await api(`/api/admin/people/${id}`, { token: KEYS.viewer });
  // More than a page of the whole trail.
  for (let i = 0; i < 50; i++) await api(`/api/admin/people/${id}`, { token: KEYS.admin });
  await api(`/api/admin/people/${id}/suspend`, { token: KEYS.support, json: { reason: '工单 T-5001' } });
  await api(`/api/admin/people/${id}`, { token: KEYS.admin, method: 'DELETE' });
  for (const width of [1440, 390]) {
    const { page, errors } = await openConsole(width);
    await signIn(page, KEYS.viewer);
    await page.locator('.operator').waitFor();
    await page.getByRole('link', { name: '审计记录' }).click();
    await page.locator('#trail-results').waitFor();
    await page.getByLabel('用户 ID（含已注销的用户）').fill(` ${id.toUpperCase()} `);
    await page.getByLabel('操作人（密钥名称）').fill('zhao');
    await page.getByRole('button', { name: '筛选', exact: true }).click();
    await page.getByText('已显示 3 条').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('trail-results');
    const shown = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    expect(shown.map((row) => [row[1], row[2], row[3]])).toEqual(Array(3).fill(['查看用户', id, '只读 zhao']));
    expect(shown[0]![5]).toBe('查找方式: 用户 ID');
    await page.getByLabel('操作人（密钥名称）').fill('');
    await page.getByLabel('事件类型').selectOption('suspended');
    await page.getByRole('button', { name: '筛选', exact: true }).click();
    await page.getByText('已显示 1 条').waitFor();
    expect(await page.locator('tbody tr').innerText()).toContain('客服 wang');
    expect(await page.locator('tbody tr').innerText()).toContain('原因: 工单 T-5001');
    await page.getByLabel('事件类型').selectOption('');
    await page.getByLabel('开始时间').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: '筛选', exact: true }).click();
    await page.getByText('没有符合条件的记录').waitFor();
    // A stock change reads as before → after, what did not change left out.
    await page.getByRole('button', { name: '清除筛选' }).click();
    await page.locator('tbody tr').first().waitFor();
    await page.getByLabel('事件类型').selectOption('benefit_stock_changed');
    await page.getByRole('button', { name: '筛选', exact: true }).click();
    await page.getByText('已显示 1 条').waitFor();
    expect(await page.locator('tbody tr td:nth-child(6)').innerText()).toBe('权益: 春节礼 · 总限量: 不限 → 100');
    await page.getByRole('button', { name: '清除筛选' }).click();
    await page.locator('tbody tr').first().waitFor();
    if (width === 1440) {
      // More than a page of events: the next one loads older events below.
      const before = await page.locator('tbody tr').count();
      expect(before).toBe(50);
      await page.getByRole('button', { name: '加载更早的记录' }).click();
      await page.waitForFunction((count) => document.querySelectorAll('tbody tr').length > count, before);
      expect(['trail-more', 'trail-results']).toContain(await page.evaluate(() => document.activeElement?.id));
    }
    expect(await fitsWidth(page, 'tbody tr:first-child td:nth-child(3)')).toBe(true);
    // The first screenful: fifty events at 390 px make a very long page.
    await page.screenshot({ path: `${SCREENSHOTS}trail-${width}.png` });
    expect(errors).toEqual([]);
    await page.context().close();
  }
});

it('signs out after 30 minutes without use, and checks a stored key before the workspace shows', async () => {
  const { page, errors } = await openConsole();
  await signIn(page, KEYS.viewer);
  await page.locator('.operator').waitFor();
  await page.evaluate(() => sessionStorage.setItem('wxlogin.lastActive', String(Date.now() - 31 * 60_000)));
  await page.reload();
  expect(await notice(page)).toContain('30 分钟无操作，已自动退出');
  expect(await page.evaluate('sessionStorage.length')).toBe(0);

  // A key that stopped working (rotated out of ADMIN_KEYS) never shows the workspace.
  await page.evaluate(() => {
    sessionStorage.setItem('wxlogin.adminKey', 'a-key-that-was-rotated-out-0123456789');
    sessionStorage.setItem('wxlogin.lastActive', String(Date.now()));
  });
  const shownWorkspace: boolean[] = [];
  await page.exposeFunction('sawWorkspace', (seen: boolean) => shownWorkspace.push(seen));
  await page.addInitScript(() => {
    new MutationObserver(() => {
      if (document.querySelector('.workspace')) (window as unknown as { sawWorkspace(seen: boolean): void }).sawWorkspace(true);
    }).observe(document, { childList: true, subtree: true });
  });
  await page.reload();
  expect(await notice(page)).toContain('密钥已失效，请重新登录');
  expect(shownWorkspace).toEqual([]);
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  expect(errors).toEqual([]);
  await page.context().close();
});

/** A 48 × 48 PNG drawn by the browser: a real image for the avatar. */
async function avatarPng(): Promise<ArrayBuffer> {
  const page = await (await browser).newPage();
  const data = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 48;
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#0b6e4f';
    context.fillRect(0, 0, 48, 48);
    context.fillStyle = '#fff';
    context.beginPath();
    context.arc(24, 19, 9, 0, 2 * Math.PI);
    context.arc(24, 48, 17, Math.PI, 2 * Math.PI);
    context.fill();
    return canvas.toDataURL('image/png').split(',')[1]!;
  });
  await page.close();
  return Uint8Array.from(Buffer.from(data, 'base64')).buffer;
}

/** "developer" signs in to the mock 公众号 (our redirect → its page → our callback) and the site trades the code: a web session. Their person id. */
async function signInToOfficialAccount(): Promise<string> {
  const start = await fetch(`${server.url}/api/web/oauth/authorize?appid=${MP}&returnTo=${encodeURIComponent(SITE)}&scope=userinfo`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const state = /^__Host-wxl_state=([0-9a-f]{48});/.exec(start.headers.get('set-cookie')!)![1]!;
  const page = await fetch(start.headers.get('location')!.replace(/#wechat_redirect$/, ''), { redirect: 'manual' });
  const back = new URL(page.headers.get('location')!);
  const done = await fetch(`${server.url}/api/web/oauth/callback${back.search}`, { redirect: 'manual', headers: { cookie: `__Host-wxl_state=${state}` } });
  expect(done.status).toBe(302);
  const code = new URL(done.headers.get('location')!).searchParams.get('code');
  const exchanged = await fetch(`${server.url}/api/web/exchange`, { method: 'POST', headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  expect(exchanged.status).toBe(200);
  return ((await exchanged.json()) as { user: { id: string } }).user.id;
}

/** The cells of every table in the card titled `title`. */
function rows(page: Page, title: string): Promise<string[][]> {
  return page
    .locator('section.card', { has: page.getByRole('heading', { name: title, exact: true }) })
    .locator('tbody tr')
    .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
}

/** The "强制下线" button of the first session in the mini program called `app`. */
function sessionButton(page: Page, app: string) {
  return page.locator('section.card', { has: page.getByRole('heading', { name: '在线会话', exact: true }) }).locator('tr', { hasText: app }).getByRole('button', { name: '强制下线' });
}

/** The timeline's event kinds, newest first. */
function kinds(page: Page): Promise<string[]> {
  return page.locator('.event .kind').allInnerTexts();
}

/** In the page: the focused element's outline width and its contrast with what surrounds it (WCAG 2.2 1.4.11). */
function focusRing(): { element: string; width: number; contrast: number } {
  const focused = document.activeElement as HTMLElement;
  // A search-kind choice is a hidden radio: its ring is drawn on the pill beside it.
  const element = focused.matches('.kind-choice input') ? (focused.nextElementSibling as HTMLElement) : focused;
  const style = getComputedStyle(element);
  const rgb = (color: string) => (color.match(/[\d.]+/g) ?? []).slice(0, 4).map(Number);
  const luminance = ([r = 0, g = 0, b = 0]: number[]) => {
    const linear = (c: number) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  };
  // The ring sits outside the element (outline-offset): what it is seen against is the nearest opaque background around it.
  let around: HTMLElement | null = element.parentElement;
  while (around && (rgb(getComputedStyle(around).backgroundColor)[3] === 0 || getComputedStyle(around).backgroundColor === 'transparent')) around = around.parentElement;
  const background = rgb(around ? getComputedStyle(around).backgroundColor : 'rgb(255, 255, 255)');
  const [light, dark] = [luminance(rgb(style.outlineColor)), luminance(background)].sort((a, b) => b - a);
  return { element: `${element.tagName}#${element.id}.${element.className}`, width: style.outlineStyle === 'none' ? 0 : parseFloat(style.outlineWidth), contrast: (light! + 0.05) / (dark! + 0.05) };
}
