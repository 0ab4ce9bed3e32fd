// A local stand-in for api.weixin.qq.com's jscode2session, answering as the official docs say:
// text/plain JSON bodies with HTTP 200 for errors too, errcode -1/40029/40163/40226/45011 (plus the
// undocumented 40013/40125/41002), single-use codes that live 5 minutes, unionid only for apps bound
// to an Open Platform account, and 100 calls per minute per user.
// `npm run dev` uses it as the loudly announced mock WeChat when no app is configured.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface FakeApp {
  appid: string;
  secret: string;
  /** Bound to an Open Platform account: logins carry a unionid. */
  openPlatform: boolean;
}

/** reset: the connection drops before WeChat reads the request; lost_reply: after it spent the code. */
export type Fault = 'busy' | 'http_502' | 'non_json' | 'reset' | 'lost_reply' | { delayMs: number };

export interface FakeWechatOptions {
  apps: FakeApp[];
  /** Mock mode for local development: every code is accepted, "mock:<name>" picks a person. */
  acceptAnyCode?: boolean;
}

const CODE_LIFETIME_MS = 5 * 60_000;
const PER_USER_LIMIT_PER_MINUTE = 100;

export async function startFakeWechat(options: FakeWechatOptions) {
  const apps = new Map(options.apps.map((app) => [app.appid, app]));
  const codes = new Map<string, { appid: string; person: string; issuedAt: number; used: boolean }>();
  const blocked = new Set<string>();
  const callsPerPerson = new Map<string, number[]>();
  const faults: Fault[] = [];
  const sockets = new Set<Socket>();
  let requests = 0;

  const identity = (app: FakeApp, person: string) => ({
    openid: `o${digest(`openid:${app.appid}:${person}`).slice(0, 27)}`,
    unionid: app.openPlatform ? `u${digest(`unionid:${person}`).slice(0, 27)}` : undefined,
  });

  const answer = (response: ServerResponse, body: object) => {
    // WeChat's real content type, whatever the body holds.
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end(JSON.stringify(body));
  };
  const error = (response: ServerResponse, errcode: number, errmsg: string) =>
    answer(response, { errcode, errmsg: `${errmsg}, rid: ${randomBytes(12).toString('hex')}` });

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    const url = new URL(request.url ?? '/', 'http://fake');
    const fault = faults.shift();
    if (fault === 'reset') return request.socket.destroy();
    if (fault === 'http_502') {
      response.writeHead(502, { 'Content-Type': 'text/html' });
      return response.end('<html><body>502 Bad Gateway</body></html>');
    }
    if (fault === 'non_json') {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      return response.end('<html>系统繁忙</html>');
    }
    if (typeof fault === 'object') await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault === 'busy') return error(response, -1, 'system error');
    if (url.pathname !== '/sns/jscode2session') {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      return response.end('not found');
    }

    const q = url.searchParams;
    const appid = q.get('appid');
    if (!appid) return error(response, 41002, 'appid missing');
    const app = apps.get(appid);
    if (!app) return error(response, 40013, 'invalid appid');
    if (q.get('secret') !== app.secret) return error(response, 40125, 'invalid appsecret');
    if (q.get('grant_type') !== 'authorization_code') return error(response, 40002, 'invalid grant_type');
    const code = q.get('js_code') ?? '';

    let person: string;
    if (options.acceptAnyCode) {
      person = code.startsWith('mock:') ? code.slice(5) : 'developer';
    } else {
      const issued = codes.get(code);
      if (!issued || issued.appid !== appid || Date.now() - issued.issuedAt > CODE_LIFETIME_MS) {
        return error(response, 40029, 'invalid code');
      }
      if (issued.used) return error(response, 40163, 'code been used');
      issued.used = true;
      person = issued.person;
    }
    if (blocked.has(person)) return error(response, 40226, 'high risk user');
    const now = Date.now();
    const recent = (callsPerPerson.get(person) ?? []).filter((at) => now - at < 60_000);
    callsPerPerson.set(person, [...recent, now]);
    if (recent.length >= PER_USER_LIMIT_PER_MINUTE) return error(response, 45011, 'api minute-quota reach limit');

    const { openid, unionid } = identity(app, person);
    if (fault === 'lost_reply') return request.socket.destroy();
    answer(response, { session_key: randomBytes(16).toString('base64'), openid, ...(unionid ? { unionid } : {}) });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch(() => request.socket.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `http://127.0.0.1:${port}`,
    /** What wx.login() would hand this person in this app: a fresh single-use code. */
    issueCode(appid: string, person: string): string {
      const code = randomBytes(16).toString('hex');
      codes.set(code, { appid, person, issuedAt: Date.now(), used: false });
      return code;
    },
    /** The openid/unionid WeChat gives this person in this app. */
    identityOf(appid: string, person: string) {
      const app = apps.get(appid);
      if (!app) throw new Error(`fake WeChat has no app ${appid}`);
      const { openid, unionid } = identity(app, person);
      return { openid, unionid: unionid ?? null };
    },
    /** Later logins of this app carry a unionid (the app got bound to an Open Platform account). */
    bindOpenPlatform(appid: string) {
      const app = apps.get(appid);
      if (app) app.openPlatform = true;
    },
    block(person: string) {
      blocked.add(person);
    },
    /** The next requests meet these faults, one each, in order. */
    injectFaults(...next: Fault[]) {
      faults.push(...next);
    },
    requestCount: () => requests,
    resetCounts() {
      requests = 0;
      faults.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export type FakeWechat = Awaited<ReturnType<typeof startFakeWechat>>;

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').replace(/[-_]/g, 'x');
}
