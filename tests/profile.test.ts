// A profile people recognise, against the real Redis and Postgres and the fake WeChat: nicknames
// through msg_sec_check, avatars by magic bytes and content hash through media_check_async and its
// 消息推送 verdict, one profile per person across mini programs and merges, operators' take-downs,
// and deletion that leaves no nickname or image behind.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { signedPush, type FakeApp, type FakePush } from '../scripts/local/fake-wechat.js';
import { startServer } from '../server/http.js';
import { APP_A, APP_B, APP_C, startStack, type CallResult, type Stack } from './support/stack.js';

/** Starts unbound; a test binds it to make a merge. */
const APP_D = 'wxd0000000000000d4';
const PUBLIC_BASE_URL = 'https://login.example.cn';
const ADMIN_KEY = randomBytes(32).toString('base64url');
const AES_KEY = randomBytes(32).toString('base64').slice(0, 43).replace(/[+/]/g, 'x');
const apps: FakeApp[] = [
  // 明文模式
  { appid: APP_A, secret: 'secret-a-0123456789', openPlatform: true, push: { token: 'tokenA123' } },
  // 安全模式
  { appid: APP_B, secret: 'secret-b-0123456789', openPlatform: true, push: { token: 'tokenB456', encodingAesKey: AES_KEY } },
  { appid: APP_C, secret: 'secret-c-0123456789', openPlatform: false },
  { appid: APP_D, secret: 'secret-d-0123456789', openPlatform: false },
];

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    apps,
    env: {
      PUBLIC_BASE_URL,
      WECHAT_PUSH: `${APP_A}:tokenA123,${APP_B}:tokenB456:${AES_KEY}`,
      ADMIN_KEYS: `alice:${ADMIN_KEY}`,
      RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
    },
  });
});
afterAll(() => stack.close());

const jpeg = () => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(2000)]);
const png = () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(2000)]);
const webp = () => Buffer.concat([Buffer.from('RIFF'), randomBytes(4), Buffer.from('WEBP'), randomBytes(2000)]);
const hashOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const urlOf = (bytes: Buffer) => `${PUBLIC_BASE_URL}/api/avatars/${hashOf(bytes)}`;

async function loggedIn(person = stack.person(), appid = APP_A) {
  const login = await stack.login(person, appid);
  expect(login.status).toBe(200);
  return { person, token: login.body.token as string, id: login.body.user.id as string };
}
const setNickname = (token: string, nickname: unknown) => stack.call('me/profile', 'PUT', { token, json: { nickname } });
const putAvatar = (token: string, bytes: Buffer, type = 'image/jpeg') =>
  stack.call('me/avatar', 'PUT', { token, body: new Uint8Array(bytes), headers: { 'content-type': type } });
const me = async (token: string) => (await stack.call('me', 'GET', { token })).body.user;
const getAvatar = (bytes: Buffer, headers: Record<string, string> = {}) => stack.call(`avatars/${hashOf(bytes)}`, 'GET', { headers });
const deliver = (appid: string, push: FakePush) =>
  stack.call(`wechat/push/${appid}?${push.query}`, 'POST', { body: push.body, headers: { 'content-type': 'application/json' } });
const admin = (path: string, method = 'GET', json?: unknown) => stack.call(path, method, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, json });
const traceOf = (bytes: Buffer) => stack.wechat.imageChecks().find((check) => check.mediaUrl === urlOf(bytes))!.traceId;

function expectProblem(result: CallResult, status: number, code: string) {
  expect([result.status, result.body?.code]).toEqual([status, code]);
}

describe('the nickname', () => {
  it('is checked by msg_sec_check (version 2, scene 1, the caller\'s openid) and shown in every mini program of the person', async () => {
    const { person, token } = await loggedIn();
    const saved = await setNickname(token, '  小明同学  ');
    expect(saved.status).toBe(200);
    expect(saved.body).toEqual({ profile: { nickname: '小明同学', avatarUrl: null } });
    expect(stack.wechat.textChecks().at(-1)).toEqual({ version: 2, openid: stack.wechat.identityOf(APP_A, person).openid, scene: 1, content: '小明同学' });
    expect(await me(token)).toMatchObject({ nickname: '小明同学', avatarUrl: null });
    const elsewhere = await loggedIn(person, APP_B);
    expect(await me(elsewhere.token)).toMatchObject({ nickname: '小明同学' });
    expect((await setNickname(token, null)).body.profile.nickname).toBeNull();
    expect((await me(elsewhere.token)).nickname).toBeNull();
  });

  it('is refused with WeChat\'s label when WeChat rates it risky or for review, and nothing changes', async () => {
    const { token } = await loggedIn();
    await setNickname(token, '老实人');
    stack.wechat.flagText('违禁词', { suggest: 'risky', label: 20001 });
    stack.wechat.flagText('可疑词', { suggest: 'review', label: 20003 });
    const risky = await setNickname(token, '我是违禁词');
    expectProblem(risky, 400, 'content_rejected');
    expect(risky.body.label).toBe(20001);
    expect((await setNickname(token, '可疑词')).body).toMatchObject({ code: 'content_rejected', label: 20003 });
    expect((await me(token)).nickname).toBe('老实人');
  });

  it('refuses control and bidi-control characters, lone surrogates and overlong names without asking WeChat', async () => {
    const { token } = await loggedIn();
    const asked = stack.wechat.textChecks().length;
    for (const name of ['a\u202eb', 'a\u2066b', 'a\u0000b', 'a\u0085b', 'a\ud800b', '   ', 'x'.repeat(33), 42]) {
      expectProblem(await setNickname(token, name), 400, 'invalid_request');
    }
    expect(stack.wechat.textChecks().length).toBe(asked);
    expect((await setNickname(token, '😀'.repeat(32))).status).toBe(200);
  });

  it('is refused with 503 and stored nowhere when WeChat cannot be asked', async () => {
    const { token } = await loggedIn();
    await setNickname(token, '之前的名字'); // the access_token is fetched: the faults below meet msg_sec_check
    stack.wechat.injectFaults('busy', 'busy', 'busy', 'busy');
    const answer = await setNickname(token, '新名字');
    expectProblem(answer, 503, 'wechat_unavailable');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await me(token)).nickname).toBe('之前的名字');
    stack.wechat.resetCounts();
  });
});

describe('the avatar', () => {
  it('is stored by content hash, sent to media_check_async and served back byte for byte, cached for a year', async () => {
    const { person, token } = await loggedIn();
    const image = jpeg();
    const saved = await putAvatar(token, image, "application/octet-stream");
    expect(saved.status).toBe(200);
    expect(saved.body.profile.avatarUrl).toBe(urlOf(image));
    expect(stack.wechat.imageChecks().at(-1)).toMatchObject({ appid: APP_A, mediaUrl: urlOf(image), openid: stack.wechat.identityOf(APP_A, person).openid });
    expect((await me(token)).avatarUrl).toBe(urlOf(image));

    const served = await getAvatar(image);
    expect(served.status).toBe(200);
    expect(served.bytes.equals(image)).toBe(true);
    expect(served.headers.get('content-type')).toBe('image/jpeg');
    expect(served.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(served.headers.get('cdn-cache-control')).toBe('no-store');
    expect(served.headers.get('etag')).toBe(`"${hashOf(image)}"`);
    const again = await getAvatar(image, { 'if-none-match': `"${hashOf(image)}"` });
    expect([again.status, again.bytes.length]).toEqual([304, 0]);
  });

  it('takes PNG and WebP too, and a wx.uploadFile multipart upload; the image it replaces is deleted', async () => {
    const { token } = await loggedIn();
    const [first, second] = [png(), webp()];
    expect((await putAvatar(token, first, 'image/png')).status).toBe(200);
    const form = new FormData();
    form.append('avatar', new Blob([new Uint8Array(second)]), 'tmp_avatar.jpg');
    const upload = new Request('http://localhost/', { method: 'POST', body: form });
    const sent = await stack.call('me/avatar', 'POST', {
      token,
      body: new Uint8Array(await upload.arrayBuffer()),
      headers: { 'content-type': upload.headers.get('content-type')! },
    });
    expect(sent.body.profile.avatarUrl).toBe(urlOf(second));
    expect((await getAvatar(second)).headers.get('content-type')).toBe('image/webp');
    expectProblem(await getAvatar(first), 404, 'avatar_not_found');
  });

  it('is refused over 256 KB, and when its bytes are not JPEG, PNG or WebP whatever it claims to be', async () => {
    const { token } = await loggedIn();
    const before = stack.wechat.imageChecks().length;
    expectProblem(await putAvatar(token, Buffer.concat([jpeg(), randomBytes(256 * 1024)])), 413, 'payload_too_large');
    expectProblem(await putAvatar(token, Buffer.concat([Buffer.from('GIF89a'), randomBytes(100)]), 'image/gif'), 415, 'unsupported_image');
    const disguised = Buffer.from('<html><script>alert(1)</script></html>');
    expectProblem(await putAvatar(token, disguised, 'image/png'), 415, 'unsupported_image');
    expectProblem(await getAvatar(disguised), 404, 'avatar_not_found');
    expect(stack.wechat.imageChecks().length).toBe(before);
    expect((await me(token)).avatarUrl).toBeNull();
  });

  it('changes nothing with 503 when WeChat cannot be asked to check it, and keeps no bytes', async () => {
    const { token } = await loggedIn();
    await setNickname(token, '先取到令牌');
    stack.wechat.injectFaults('busy', 'busy', 'busy', 'busy');
    const image = jpeg();
    expectProblem(await putAvatar(token, image), 503, 'wechat_unavailable');
    expect(await query('select 1 from avatars where hash = $1', [hashOf(image)])).toEqual([]);
    stack.wechat.resetCounts();
  });
});

describe('WeChat\'s later verdict (消息推送)', () => {
  it('verifies the push URL: echoes echostr for WeChat\'s signature only', async () => {
    const { query: signed, echostr } = stack.wechat.pushVerification(APP_A);
    const answer = await stack.call(`wechat/push/${APP_A}?${signed}`, 'GET');
    expect([answer.status, answer.body]).toEqual([200, echostr]);
    const forged = signed.replace(/signature=(\w)/, (_, first: string) => `signature=${first === '0' ? '1' : '0'}`);
    expectProblem(await stack.call(`wechat/push/${APP_A}?${forged}`, 'GET'), 403, 'push_refused');
  });

  it('takes a risky image down for everyone showing it (明文模式), refuses it if uploaded again, and refuses a replay', async () => {
    const [one, two] = [await loggedIn(), await loggedIn()];
    const image = jpeg();
    await putAvatar(one.token, image);
    await putAvatar(two.token, image);
    const push = stack.wechat.imageVerdictPush(traceOf(image), { suggest: 'risky', label: 20002 });
    const answer = await deliver(APP_A, push);
    expect([answer.status, answer.body]).toEqual([200, 'success']);
    expectProblem(await getAvatar(image), 404, 'avatar_not_found');
    expect((await me(one.token)).avatarUrl).toBeNull();
    expect((await me(two.token)).avatarUrl).toBeNull();
    // The newest event is this look-up itself (person_viewed); the take-down comes before it.
    const { events } = (await admin(`admin/people/${one.id}`)).body.person;
    expect(events.find((event: { kind: string }) => event.kind === 'avatar_taken_down')).toMatchObject({ actor: 'system', details: { reason: 'wechat:20002' } });
    expectProblem(await putAvatar(one.token, image), 400, 'content_rejected');
    expectProblem(await deliver(APP_A, push), 403, 'push_refused');
  });

  it('arrives over HTTP as WeChat sends it: an errcode (WeChat could not fetch the image) leaves it for operators', async () => {
    const server = await startServer({ port: 0 });
    try {
      const { token, id } = await loggedIn();
      const image = jpeg();
      await putAvatar(token, image);
      const sent = await stack.wechat.sendImageVerdict(`${server.url}/api/wechat/push/${APP_A}`, traceOf(image), { errcode: -1008, errmsg: '下载错误' });
      expect(sent).toEqual({ status: 200, body: 'success' });
      expect((await admin(`admin/people/${id}`)).body.person.profile).toMatchObject({ avatarUrl: urlOf(image), avatarCheck: 'review' });
    } finally {
      await server.close();
    }
  });

  it('opens 安全模式 pushes; review keeps the image and shows operators the verdict', async () => {
    const { token, id } = await loggedIn(stack.person(), APP_B);
    const image = png();
    await putAvatar(token, image, 'image/png');
    expect((await admin(`admin/people/${id}`)).body.person.profile).toMatchObject({ avatarUrl: urlOf(image), avatarCheck: 'pending' });
    const push = stack.wechat.imageVerdictPush(traceOf(image), { suggest: 'review', label: 21000 });
    expect(push.query).toContain('encrypt_type=aes');
    expect((await deliver(APP_B, push)).status).toBe(200);
    expect((await getAvatar(image)).status).toBe(200);
    expect((await admin(`admin/people/${id}`)).body.person.profile).toMatchObject({ avatarCheck: 'review' });
  });

  it('refuses pushes that are not WeChat\'s, are stale, or were encrypted for another app', async () => {
    const { token } = await loggedIn(stack.person(), APP_B);
    const image = jpeg();
    await putAvatar(token, image);
    const push = stack.wechat.imageVerdictPush(traceOf(image), { suggest: 'risky', label: 20002 });
    const forged = { ...push, body: push.body.replace(/"Encrypt":"[^"]{8}/, '"Encrypt":"AAAAAAAA') };
    expectProblem(await deliver(APP_B, forged), 403, 'push_refused');
    const event = { Event: 'wxa_media_check', trace_id: traceOf(image), errcode: 0, result: { suggest: 'risky', label: 20002 } };
    const stale = signedPush(apps[1]!, event, Math.floor(Date.now() / 1000) - 600);
    expectProblem(await deliver(APP_B, stale), 403, 'push_refused');
    // Signed with B's Token and key, sent as A's (明文, A's Token): not A's.
    expectProblem(await deliver(APP_A, push), 403, 'push_refused');
    expect((await getAvatar(image)).status).toBe(200);
  });
});

it('a merge keeps the survivor\'s nickname and takes the avatar it lacked from the folded person', async () => {
  const human = stack.person('merged');
  const older = await loggedIn(human, APP_A);
  await setNickname(older.token, '老账号的名字');
  const unbound = await loggedIn(human, APP_D);
  expect(unbound.id).not.toBe(older.id);
  await setNickname(unbound.token, '新账号的名字');
  const image = jpeg();
  await putAvatar(unbound.token, image);

  stack.wechat.bindOpenPlatform(APP_D);
  const merged = await loggedIn(human, APP_D);
  expect(merged.id).toBe(older.id);
  expect(await me(merged.token)).toMatchObject({ nickname: '老账号的名字', avatarUrl: urlOf(image) });
  expect(await me(older.token)).toMatchObject({ nickname: '老账号的名字', avatarUrl: urlOf(image) });
  expect(await query('select person_id from profiles where person_id = any($1)', [[older.id, unbound.id]])).toEqual([{ person_id: older.id }]);
});

it('operators take a nickname or an avatar down, recorded under their name', async () => {
  const { token, id } = await loggedIn();
  await setNickname(token, '广告位招租');
  const image = jpeg();
  await putAvatar(token, image);
  const nickname = await admin(`admin/people/${id}/takedown`, 'POST', { what: 'nickname', reason: '广告' });
  expect(nickname.body.person.profile).toMatchObject({ nickname: null, avatarUrl: urlOf(image) });
  expect(nickname.body.person.events[0]).toMatchObject({ kind: 'nickname_taken_down', actor: 'admin:alice', details: { reason: '广告' } });
  const avatar = await admin(`admin/people/${id}/takedown`, 'POST', { what: 'avatar', reason: '不当图片' });
  expect(avatar.body.person.profile).toMatchObject({ nickname: null, avatarUrl: null });
  expect(await me(token)).toMatchObject({ nickname: null, avatarUrl: null });
  expectProblem(await getAvatar(image), 404, 'avatar_not_found');
  expectProblem(await admin(`admin/people/${crypto.randomUUID()}/takedown`, 'POST', { what: 'avatar', reason: 'x' }), 404, 'person_not_found');
});

it('deletion (注销) leaves the nickname and the avatar nowhere: not in Postgres, not in Redis, not served', async () => {
  const { token, id } = await loggedIn();
  const nickname = `独一无二${randomBytes(4).toString('hex')}`;
  const image = jpeg();
  await setNickname(token, nickname);
  await putAvatar(token, image);
  await stack.login(`${nickname}-other-device`); // another person's data stays
  expect((await stack.call('me', 'DELETE', { token, json: { confirm: 'delete' } })).status).toBe(204);

  expect(await query('select 1 from profiles where person_id = $1 or nickname = $2', [id, nickname])).toEqual([]);
  expect(await query('select 1 from avatars where hash = $1', [hashOf(image)])).toEqual([]);
  expect(await query('select 1 from events where details::text like $1', [`%${nickname}%`])).toEqual([]);
  expectProblem(await getAvatar(image), 404, 'avatar_not_found');

  const redis = stack.gateway.redis;
  const stored: string[] = [];
  for (const key of await stack.redisKeys()) {
    const type = await redis.type(key);
    if (type === 'string') stored.push((await redis.get(key)) ?? '');
    if (type === 'hash') stored.push(JSON.stringify(await redis.hgetall(key)));
    if (type === 'zset') stored.push(JSON.stringify(await redis.zrange(key, 0, -1)));
  }
  expect(stored.length).toBeGreaterThan(0);
  expect(stored.filter((value) => value.includes(nickname) || value.includes(hashOf(image)))).toEqual([]);
});
