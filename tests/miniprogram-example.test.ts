// The example mini program (miniprogram/app.js, pages/index), launched as DevTools runs it under
// the wx shim, against the real local service (what `npm run dev` serves). Its handlers are
// called as taps would call them, and the page data they set is what the page shows. A recording
// front counts requests and, where a test asks, answers in the service's place.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ownApp, startBackend, type Backend } from './support/miniprogram-backend.js';
import { unavailable } from './support/recording-front.js';
import { createWx, miniprogramRuntime } from './support/wx-shim.js';

const ROOT = new URL('../miniprogram/', import.meta.url);
const [APP, SIBLING] = [ownApp(), ownApp()];

let backend: Backend;
let stack: Backend['stack'];
let service: Backend['service'];
let front: Backend['front'];
beforeAll(async () => {
  backend = await startBackend([APP, SIBLING]);
  ({ stack, service, front } = backend);
});
afterAll(() => backend.close());
afterEach(() => front.reset());

/** Launches the example as DevTools would, its config pointed at the front, and opens its page. */
async function launch(person = stack.person(), wx = createWx({ appid: APP.appid, issueCode: () => stack.wechat.issueCode(APP.appid, person) })) {
  const runtime = miniprogramRuntime({ wx });
  const config = runtime.load<{ baseUrl: string; privacyVersion: string }>(new URL('config.js', ROOT));
  config.baseUrl = front.url;
  runtime.load(new URL('app.js', ROOT));
  const app = runtime.app()!;
  app.onLaunch();
  const page = runtime.openPage(new URL('pages/index/index.js', ROOT));
  await page.onLoad();
  return { wx, person, page, app, config };
}

const newNumber = () => `139${String(randomBytes(4).readUInt32BE() % 100_000_000).padStart(8, '0')}`;
const masked = (number: string) => `${number.slice(0, 3)}****${number.slice(7)}`;
const phoneTap = (code: string) => ({ type: 'getphonenumber', detail: { code, errMsg: 'getPhoneNumber:ok' } });
const claimTap = (key: string) => ({ type: 'tap', currentTarget: { dataset: { key } } });
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/;

async function status(path: string, token: string) {
  return (await fetch(`${service.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).status;
}

it('logs in once at launch; the page shows the person, their accounts across mini programs, and the benefits', async () => {
  const person = stack.person();
  expect((await stack.login(person, SIBLING.appid)).status).toBe(200); // the same person, in a sibling mini program
  const { wx, page } = await launch(person);

  expect(wx.calls.login).toBe(1);
  expect(page.data).toMatchObject({ loading: false, error: '', user: { appid: APP.appid, openid: stack.wechat.identityOf(APP.appid, person).openid, phone: null } });
  expect(page.data.accounts).toEqual(
    expect.arrayContaining([APP, SIBLING].map((app) => ({ appid: app.appid, openid: stack.wechat.identityOf(app.appid, person).openid, linkedAt: expect.stringMatching(TIME) }))),
  );
  expect(page.data.accounts).toHaveLength(2);
  expect(page.data.benefitsError).toBe('');
  expect(page.data.benefits).toContainEqual({ key: 'welcome-gift', title: 'welcome-gift', status: 'available', reason: expect.any(String), claimedIn: '', claimedAt: '' });
});

it('the phone button: declining says so; a tap binds the number, which then shows masked (and the button goes)', async () => {
  const { page } = await launch();
  await page.bindPhone({ type: 'getphonenumber', detail: { errMsg: 'getPhoneNumber:fail user deny' } });
  expect(page.data).toMatchObject({ busy: '', notice: '没有授权手机号，需要时可以再点' });
  expect(front.count('POST /api/phone')).toBe(0);

  const number = newNumber();
  await page.bindPhone(phoneTap(stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: number })));
  expect(page.data).toMatchObject({ busy: '', notice: '手机号已绑定', user: { phone: masked(number) } });
});

it('a phone tap that meets a 503 sends its code once and asks for another tap', async () => {
  const { page } = await launch();
  front.answer('POST /api/phone', unavailable('5'), { times: 1 });
  await page.bindPhone(phoneTap(stack.wechat.issuePhoneCode(APP.appid, { purePhoneNumber: newNumber() })));
  expect(page.data).toMatchObject({ busy: '', notice: '服务繁忙，请稍后再试（请再点一次）', user: { phone: null } });
  expect(front.count('POST /api/phone')).toBe(1);
});

it('claims the welcome gift once; a second tap says it was claimed already', async () => {
  const { page } = await launch();
  await page.claim(claimTap('welcome-gift'));
  expect(page.data).toMatchObject({ busy: '', notice: '领取成功' });
  expect(page.data.benefits).toContainEqual(expect.objectContaining({ key: 'welcome-gift', status: 'claimed', claimedIn: APP.appid, claimedAt: expect.stringMatching(TIME) }));
  await page.claim(claimTap('welcome-gift'));
  expect(page.data.notice).toBe('您已经领取过了');
  expect(front.bodies('POST /api/claims')).toEqual([{ benefit: 'welcome-gift' }, { benefit: 'welcome-gift' }]);
});

it('logs out here, then everywhere: the person\'s other devices lose their sessions only the second time', async () => {
  const person = stack.person();
  const tablet = (await stack.login(person, APP.appid)).body.token as string;
  const { page } = await launch(person);

  await page.logout();
  expect(page.data).toMatchObject({ busy: '', user: null, accounts: [], notice: '已退出登录' });
  expect(await status('/api/me', tablet)).toBe(200);

  await page.refresh(); // the Log in button
  expect(page.data.user).toMatchObject({ appid: APP.appid });
  await page.logoutEverywhere();
  expect(page.data).toMatchObject({ busy: '', user: null, notice: '已在所有设备退出登录' });
  expect(await status('/api/me', tablet)).toBe(401);
  expect(front.count('POST /api/logout')).toBe(2);
});

it('records the person\'s agreement to the privacy guide once per version, after WeChat\'s popup', async () => {
  const first = await launch();
  const version = first.config.privacyVersion;
  await first.app.privacyRecorded;
  expect(first.wx.privacy).toMatchObject({ agreed: true, asked: 1 });
  expect(front.bodies('POST /api/me/consents')).toEqual([{ document: 'privacy', version }]);
  const { token } = first.wx.getStorageSync('wxlogin:session') as { token: string };
  const listed = await (await fetch(`${service.url}/api/me/consents`, { headers: { authorization: `Bearer ${token}` } })).json();
  expect(listed.consents).toEqual([expect.objectContaining({ document: 'privacy', version, appid: APP.appid, withdrawnAt: null })]);

  // The next launch finds it recorded: WeChat is not asked, nothing is sent.
  const again = await launch(first.person, first.wx);
  await again.app.privacyRecorded;
  expect(first.wx.privacy.asked).toBe(1);
  expect(front.count('POST /api/me/consents')).toBe(1);
});

it('records nothing when the person declines WeChat\'s privacy popup, and asks again next launch', async () => {
  const person = stack.person();
  const wx = createWx({ appid: APP.appid, issueCode: () => stack.wechat.issueCode(APP.appid, person) });
  wx.privacy.popupAnswer = 'disagree';
  await (await launch(person, wx)).app.privacyRecorded;
  await (await launch(person, wx)).app.privacyRecorded;
  expect(wx.privacy).toMatchObject({ agreed: false, asked: 2 });
  expect(front.count('POST /api/me/consents')).toBe(0);
});

it('every handler and page field the WXML names exists', async () => {
  const { page } = await launch();
  const wxml = readFileSync(new URL('pages/index/index.wxml', ROOT), 'utf8');
  const handlers = [...wxml.matchAll(/\bbind\w+="(\w+)"/g)].map((match) => match[1]!);
  expect(handlers.length).toBeGreaterThan(0);
  for (const handler of handlers) expect(typeof page[handler], handler).toBe('function');
  // The first name in each {{ }}, loop items aside.
  const fields = [...wxml.matchAll(/\{\{\s*!?(\w+)/g)].map((match) => match[1]!).filter((name) => name !== 'item');
  for (const field of fields) expect(Object.keys(page.data), field).toContain(field);
});
