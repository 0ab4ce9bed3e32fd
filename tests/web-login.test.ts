// Scan-to-login against the real Redis and Postgres and the fake WeChat: a PC browser's ticket, the
// mini program's scan and confirm, the one-time code only the secret's holder collects, and the
// site's backend trading it for a web session of the same person.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_A, APP_B, startStack, type CallResult, type Stack } from './support/stack.js';

const SERVICE_KEY = randomBytes(32).toString('base64url');
const SITE = 'https://www.example.com';
const DEVICE = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { SERVICE_KEYS: `site:${SERVICE_KEY}`, TRUST_PROXY_HEADERS: '1', RATE_LIMIT_WEB_TICKET_PER_IP: '3/1m', SESSION_WEB_MAX: '2' },
  });
});
afterAll(() => stack.close());

/** A browser at its own address. */
const browser = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;

async function newTicket(ip = browser()): Promise<{ ticket: string; secret: string; ip: string; response: CallResult }> {
  const response = await stack.call('web/tickets', 'POST', { json: { appid: APP_A }, headers: { origin: SITE, 'user-agent': DEVICE, 'x-real-ip': ip } });
  expect(response.status).toBe(201);
  return { ticket: response.body.ticket, secret: response.body.secret, ip, response };
}

/** A person logged in to the mini program, as the confirm page's session. */
async function scanner(appid = APP_A): Promise<string> {
  return (await stack.login(stack.person('scanner'), appid)).body.token;
}

const scan = (ticket: string, token: string, launchScene = 1047) => stack.call(`web/tickets/${ticket}/scan`, 'POST', { token, json: { launchScene } });
const decide = (ticket: string, token: string, action: 'confirm' | 'deny') => stack.call(`web/tickets/${ticket}/${action}`, 'POST', { token });
const collect = (ticket: string, secret: string) => stack.call(`web/tickets/${ticket}/collect`, 'POST', { json: { secret } });
const exchange = (code: string) => stack.call('web/exchange', 'POST', { json: { code }, headers: { authorization: `Bearer ${SERVICE_KEY}` } });

/** Scan, confirm, collect and exchange: the web session's token. */
async function signIn(token: string): Promise<string> {
  const { ticket, secret } = await newTicket();
  expect((await scan(ticket, token)).status).toBe(200);
  expect((await decide(ticket, token, 'confirm')).status).toBe(204);
  const collected = await collect(ticket, secret);
  const exchanged = await exchange(collected.body.code);
  expect(exchanged.status).toBe(200);
  return exchanged.body.token;
}

describe('scan-to-login', () => {
  it('shows a real mini program code, then signs the browser in as the person who confirmed, once', async () => {
    const { ticket, secret, ip, response } = await newTicket();
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const png = Buffer.from(response.body.qrCode.replace(/^data:image\/png;base64,/, ''), 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(stack.wechat.codesDrawn().at(-1)).toEqual({ appid: APP_A, scene: ticket, page: 'pages/web-login/index', envVersion: 'develop' });
    const ttl = await stack.gateway.redis.pttl(`${stack.keyPrefix}wt:${ticket}`);
    expect(ttl).toBeGreaterThan(115_000);
    expect(ttl).toBeLessThanOrEqual(120_000);

    const token = await scanner();
    expect((await collect(ticket, secret)).body).toEqual({ state: 'pending' });
    const scanned = await scan(ticket, token);
    expect(scanned.status).toBe(200);
    expect(scanned.body).toMatchObject({ state: 'scanned', site: SITE, address: ip, device: DEVICE });
    expect((await collect(ticket, secret)).body).toEqual({ state: 'scanned' });
    expect((await decide(ticket, token, 'confirm')).status).toBe(204);

    const collected = await collect(ticket, secret);
    expect(collected.body).toEqual({ state: 'confirmed', code: expect.stringMatching(/^wxw_/), codeExpiresAt: expect.any(String) });
    const replayed = await collect(ticket, secret);
    expect([replayed.status, replayed.body.code]).toEqual([409, 'ticket_conflict']);

    const web = await exchange(collected.body.code);
    expect(web.status).toBe(200);
    const mine = (await stack.call('me', 'GET', { token })).body.user;
    expect(web.body.user.id).toBe(mine.id);
    const me = (await stack.call('me', 'GET', { token: web.body.token })).body.user;
    expect(me).toMatchObject({ id: mine.id, appid: APP_A, channel: 'web' });
    expect((await exchange(collected.body.code)).body.code).toBe('invalid_code');

    const sessions = (await stack.call('sessions', 'GET', { token })).body.sessions;
    expect(sessions.map((session: { channel: string }) => session.channel).sort()).toEqual(['miniprogram', 'web']);
    const web_ = sessions.find((session: { channel: string }) => session.channel === 'web');
    // SESSION_WEB_MAX_AGE (7 days) and SESSION_WEB_IDLE_TTL (12 h), not the mini program's.
    expect(Date.parse(web_.expiresAt) - Date.parse(web_.createdAt)).toBe(7 * 24 * 3600_000);
    expect(Date.parse(web_.idleExpiresAt) - Date.now()).toBeLessThanOrEqual(12 * 3600_000);

    expect((await stack.call('logout', 'POST', { token, json: { all: true } })).status).toBe(204);
    expect((await stack.call('me', 'GET', { token: web.body.token })).status).toBe(401);
  });

  it('answers a browser without the secret as if there were no ticket, and still serves the holder', async () => {
    const { ticket, secret } = await newTicket();
    const token = await scanner();
    await scan(ticket, token);
    await decide(ticket, token, 'confirm');
    const thief = await collect(ticket, randomBytes(32).toString('base64url'));
    expect([thief.status, thief.body.code]).toEqual([404, 'ticket_not_found']);
    expect((await collect(ticket, secret)).body.state).toBe('confirmed');
  });

  it('a denied ticket tells the browser so and cannot be confirmed after', async () => {
    const { ticket, secret } = await newTicket();
    const token = await scanner();
    await scan(ticket, token);
    expect((await decide(ticket, token, 'deny')).status).toBe(204);
    expect((await collect(ticket, secret)).body).toEqual({ state: 'denied' });
    expect((await decide(ticket, token, 'confirm')).body.code).toBe('ticket_conflict');
  });

  it('refuses a second confirmation, another person, a forwarded code and a web session', async () => {
    const { ticket } = await newTicket();
    const token = await scanner();
    const forwarded = await scan(ticket, token, 1048);
    expect([forwarded.status, forwarded.body.code]).toEqual([403, 'ticket_forwarded']);
    expect((await scan(ticket, token, 1049)).body.code).toBe('ticket_forwarded');
    expect((await scan(ticket, token)).status).toBe(200);
    expect((await scan(ticket, token)).status).toBe(200); // the same person again: the same answer
    const other = await scanner(APP_B);
    expect((await scan(ticket, other)).body.code).toBe('ticket_conflict');
    expect((await decide(ticket, other, 'confirm')).body.code).toBe('ticket_conflict');
    expect((await decide(ticket, token, 'confirm')).status).toBe(204);
    expect((await decide(ticket, token, 'confirm')).body.code).toBe('ticket_conflict');

    const webToken = await signIn(token);
    const next = await newTicket();
    expect((await scan(next.ticket, webToken)).body.code).toBe('ticket_conflict');
    // Nor does a web session bind a phone: the button lives in mini programs.
    const phone = await stack.call('phone', 'POST', { token: webToken, json: { code: stack.wechat.issuePhoneCode(APP_A) } });
    expect([phone.status, phone.body.code]).toEqual([400, 'unknown_app']);
    expect(stack.wechat.billedPhoneNumbers()).toBe(0);
  });

  it('forgets an expired ticket', async () => {
    const { ticket, secret } = await newTicket();
    const token = await scanner();
    await stack.gateway.redis.pexpire(`${stack.keyPrefix}wt:${ticket}`, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await scan(ticket, token)).body.code).toBe('ticket_not_found');
    expect((await collect(ticket, secret)).body.code).toBe('ticket_not_found');
  });

  it('keeps SESSION_WEB_MAX web sessions per person; the mini program session stays', async () => {
    const token = await scanner();
    const [first, second, third] = [await signIn(token), await signIn(token), await signIn(token)];
    expect((await stack.call('me', 'GET', { token: first })).status).toBe(401);
    for (const live of [second, third, token]) expect((await stack.call('me', 'GET', { token: live })).status).toBe(200);
  });

  it('limits tickets per address, and types what WeChat refuses', async () => {
    const ip = browser();
    for (let i = 0; i < 3; i++) await newTicket(ip);
    const limited = await stack.call('web/tickets', 'POST', { json: { appid: APP_A }, headers: { 'x-real-ip': ip } });
    expect([limited.status, limited.body.code]).toEqual([429, 'rate_limited']);

    stack.wechat.injectFaults({ errcode: 41030 });
    const unpublished = await stack.call('web/tickets', 'POST', { json: { appid: APP_A }, headers: { 'x-real-ip': browser() } });
    expect([unpublished.status, unpublished.body.code]).toEqual([500, 'server_misconfigured']);
    stack.wechat.injectFaults({ errcode: 45009 });
    const quota = await stack.call('web/tickets', 'POST', { json: { appid: APP_A }, headers: { 'x-real-ip': browser() } });
    expect([quota.status, quota.body.code, quota.headers.get('retry-after')]).toEqual([429, 'wechat_quota_exceeded', '60']);
  });
});
