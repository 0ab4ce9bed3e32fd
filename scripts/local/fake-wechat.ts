// A local stand-in for api.weixin.qq.com, answering as the official docs say: text/plain JSON bodies
// with HTTP 200 for errors too.
// - jscode2session: errcode -1/40029/40163/40226/45011 (plus the undocumented 40013/40125/41002),
//   single-use codes that live 5 minutes, unionid only for apps bound to an Open Platform account,
//   and 100 calls per minute per user.
// - stable_token (POST JSON only): normal mode returns the same token while it has more than
//   5 minutes left, with expires_in = the seconds remaining; in its last 5 minutes a new token,
//   while the old one keeps working until it expires. force_refresh revokes every earlier token, at
//   most 20 times a day; within 30 s of the previous one it does not refresh.
// - APIs taking ?access_token=: 41001 missing, 40014 malformed, 40001 unknown or revoked, 42001 expired.
// - getuserphonenumber: {code, openid?} → phone_info with a watermark; codes work once and live
//   5 minutes (40029 otherwise); a code issued to another mini program is 40013; each success is
//   billed and counted.
// - getuserriskrank (安全风控): {appid, openid, scene, client_ip, mobile_no?} → risk_rank 0-4 and a
//   request id spelled unoin_id, as documented; 47001 for a malformed body, 61010 for a user WeChat
//   has no record of (as it answers for suspected fraud accounts).
// - 开放接口服务 (微信云托管): under /open-api-service, WeChat's sidecar: it takes a call without an
//   access_token, adds the live token of the from_appid app, and serves it as the API would.
// - Faults stage the errcodes no local condition produces (stable_token's 40164 server IP not
//   whitelisted, 40243 AppSecret frozen, 45009 daily quota...), with WeChat's errmsg, after a delay.
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
/**
 * busy: errcode -1; rate_limited: errcode 45011; an object: wait `delayMs`, then answer `errcode`
 * (with WeChat's errmsg for it) instead of serving the request, or serve it if there is none.
 */
export type Fault = 'busy' | 'rate_limited' | 'http_502' | 'non_json' | 'reset' | 'lost_reply' | { delayMs?: number; errcode?: number };

/** WeChat's errmsg for the errcodes it answers or a test stages (a request id is appended, as WeChat does). */
const ERRMSGS: Record<number, string> = {
  [-1]: 'system error',
  40001: 'invalid credential, access_token is invalid or not latest',
  40002: 'invalid grant_type',
  40013: 'invalid appid',
  40125: 'invalid appsecret',
  40164: 'invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist',
  40243: 'AppSecret已被冻结，请登录小程序平台解冻后再次调用',
  41002: 'appid missing',
  41004: 'appsecret missing',
  43002: 'require POST method',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
};

export interface PhoneCodeOptions {
  purePhoneNumber?: string;
  countryCode?: string;
  /** The docs' example sends 86 as a number, their table says string: the fake does both. */
  countryCodeAsNumber?: boolean;
  /** Stage a watermark naming another mini program. */
  watermarkAppid?: string;
}

/** One request and its answer. Times are this process's performance.now(). */
export interface WechatExchange {
  path: string;
  arrivedAt: number;
  answeredAt: number;
}

export interface FakeWechatOptions {
  apps: FakeApp[];
  /** Mock mode for local development: every code is accepted, "mock:<name>" picks a person. */
  acceptAnyCode?: boolean;
  /** Added to every request before it is answered (faults included), as the real network would. */
  latencyMs?: number;
}

const CODE_LIFETIME_MS = 5 * 60_000;
const PER_USER_LIMIT_PER_MINUTE = 100;
const TOKEN_LIFETIME_MS = 7200_000;
/** Normal mode hands out the next token in the current one's last 5 minutes. */
const TOKEN_ROTATION_MS = 5 * 60_000;
const FORCE_REFRESH_PER_DAY = 20;
const FORCE_REFRESH_SPACING_MS = 30_000;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{32,512}$/;
/** Where the 开放接口服务 stand-in answers (WECHAT_OPEN_API_BASE in tests). */
const OPEN_API_SERVICE = '/open-api-service';

export async function startFakeWechat(options: FakeWechatOptions) {
  const apps = new Map(options.apps.map((app) => [app.appid, app]));
  const codes = new Map<string, { appid: string; person: string; issuedAt: number; used: boolean }>();
  const blocked = new Set<string>();
  const callsPerPerson = new Map<string, number[]>();
  const faults: Fault[] = [];
  const sessionKeys: string[] = [];
  const sockets = new Set<Socket>();
  let requests = 0;
  /** Tests move WeChat's clock to expire tokens and codes. */
  let clockOffsetMs = 0;
  const now = () => Date.now() + clockOffsetMs;
  const callsByPath = new Map<string, number>();
  /** Every token still honoured (until its expiry), by app; revoked ones are forgotten: 40001. */
  const accessTokens = new Map<string, { appid: string; expiresAt: number }>();
  const currentToken = new Map<string, string>();
  const forceRefreshes = new Map<string, number[]>();
  const phoneCodes = new Map<string, Required<Omit<PhoneCodeOptions, 'watermarkAppid'>> & {
    appid: string;
    watermarkAppid: string;
    issuedAt: number;
    used: boolean;
  }>();
  const phoneRequests: { appid: string; code: unknown; openid: unknown }[] = [];
  const riskRanks = new Map<string, number>();
  const riskRequests: Record<string, unknown>[] = [];
  let billedPhoneNumbers = 0;
  let openApiServiceCalls = 0;
  let latencyMs = options.latencyMs ?? 0;
  let observer: ((exchange: WechatExchange) => void) | null = null;

  const identity = (app: FakeApp, person: string) => ({
    openid: `o${digest(`openid:${app.appid}:${person}`).slice(0, 27)}`,
    unionid: app.openPlatform ? `u${digest(`unionid:${person}`).slice(0, 27)}` : undefined,
  });

  const answer = (response: ServerResponse, body: object) => {
    // WeChat's real content type, whatever the body holds.
    response.writeHead(200, { 'Content-Type': 'text/plain' });
    response.end(JSON.stringify(body));
  };
  const error = (response: ServerResponse, errcode: number, errmsg = ERRMSGS[errcode] ?? 'error') =>
    answer(response, { errcode, errmsg: `${errmsg}, rid: ${randomBytes(12).toString('hex')}` });

  const readJson = async (request: IncomingMessage): Promise<Record<string, unknown> | null> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };

  const issueToken = (appid: string) => {
    const token = randomBytes(48).toString('base64url');
    accessTokens.set(token, { appid, expiresAt: now() + TOKEN_LIFETIME_MS });
    currentToken.set(appid, token);
    return token;
  };
  const tokenReply = (token: string) => ({
    access_token: token,
    expires_in: Math.ceil((accessTokens.get(token)!.expiresAt - now()) / 1000),
  });

  const stableToken = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST') return error(response, 43002);
    const body = await readJson(request);
    if (!body) return error(response, 47001);
    if (body.grant_type !== 'client_credential') return error(response, 40002);
    if (!body.appid) return error(response, 41002);
    const app = apps.get(String(body.appid));
    if (!app) return error(response, 40013);
    if (!body.secret) return error(response, 41004);
    if (body.secret !== app.secret) return error(response, 40125);

    const current = currentToken.get(app.appid);
    const live = current === undefined ? undefined : accessTokens.get(current);
    if (body.force_refresh === true) {
      const today = (forceRefreshes.get(app.appid) ?? []).filter((at) => now() - at < 24 * 3600_000);
      if (today.length >= FORCE_REFRESH_PER_DAY) return error(response, 45009);
      const last = today[today.length - 1];
      if (current && live && live.expiresAt > now() && last !== undefined && now() - last < FORCE_REFRESH_SPACING_MS) {
        return answer(response, tokenReply(current));
      }
      forceRefreshes.set(app.appid, [...today, now()]);
      for (const [token, issued] of accessTokens) if (issued.appid === app.appid) accessTokens.delete(token);
      return answer(response, tokenReply(issueToken(app.appid)));
    }
    if (current && live && live.expiresAt - now() > TOKEN_ROTATION_MS) return answer(response, tokenReply(current));
    return answer(response, tokenReply(issueToken(app.appid)));
  };

  /** The app an ?access_token= belongs to, or the errcode WeChat would answer. */
  const tokenOwner = (url: URL): { appid: string } | { errcode: number; errmsg: string } => {
    const token = url.searchParams.get('access_token');
    if (!token) return { errcode: 41001, errmsg: 'access_token missing' };
    if (!TOKEN_PATTERN.test(token)) return { errcode: 40014, errmsg: 'invalid access_token' };
    const issued = accessTokens.get(token);
    if (!issued) return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
    if (issued.expiresAt <= now()) return { errcode: 42001, errmsg: 'access_token expired' };
    return { appid: issued.appid };
  };

  const phoneNumber = async (request: IncomingMessage, url: URL, response: ServerResponse, fault: Fault | undefined) => {
    if (request.method !== 'POST') return error(response, 43002);
    const owner = tokenOwner(url);
    if ('errcode' in owner) return error(response, owner.errcode, owner.errmsg);
    const body = await readJson(request);
    if (!body) return error(response, 47001);
    phoneRequests.push({ appid: owner.appid, code: body.code, openid: body.openid });
    let phone: Omit<PhoneCodeOptions, 'watermarkAppid'> & { watermarkAppid: string };
    if (options.acceptAnyCode) {
      const code = String(body.code ?? '');
      phone = { purePhoneNumber: code.startsWith('mock:') ? code.slice(5) : '13800000000', watermarkAppid: owner.appid };
    } else {
      const issued = phoneCodes.get(String(body.code));
      if (!issued || issued.used || now() - issued.issuedAt > CODE_LIFETIME_MS) return error(response, 40029, 'invalid code');
      // This errcode means "issued to another appid" here, unlike on stable_token.
      if (issued.appid !== owner.appid) return error(response, 40013);
      issued.used = true;
      phone = issued;
    }
    billedPhoneNumbers += 1;
    if (fault === 'lost_reply') return request.socket.destroy();
    const { purePhoneNumber = '13800000000', countryCode = '86', countryCodeAsNumber = true } = phone;
    answer(response, {
      errcode: 0,
      errmsg: 'ok',
      phone_info: {
        phoneNumber: countryCode === '86' ? purePhoneNumber : `+${countryCode}${purePhoneNumber}`,
        purePhoneNumber,
        countryCode: countryCodeAsNumber ? Number(countryCode) : countryCode,
        watermark: { timestamp: Math.floor(now() / 1000), appid: phone.watermarkAppid },
      },
    });
  };

  const riskRank = async (request: IncomingMessage, url: URL, response: ServerResponse) => {
    if (request.method !== 'POST') return error(response, 43002, 'require POST method');
    const owner = tokenOwner(url);
    if ('errcode' in owner) return error(response, owner.errcode, owner.errmsg);
    const body = await readJson(request);
    if (!body) return error(response, 47001, 'data format error');
    riskRequests.push(body);
    const { appid, openid, scene, client_ip: clientIp } = body;
    if (appid !== owner.appid || typeof openid !== 'string' || ![0, 1, 2].includes(scene as number) || typeof clientIp !== 'string' || !clientIp) {
      return error(response, 47001, 'data format error');
    }
    const rank = options.acceptAnyCode ? 0 : riskRanks.get(openid);
    if (rank === undefined) return error(response, 61010, 'code is expired');
    answer(response, { errcode: 0, errmsg: 'getuserriskrank succ', risk_rank: rank, unoin_id: randomBytes(4).readUInt32BE() });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    requests += 1;
    const url = new URL(request.url ?? '/', 'http://fake');
    if (url.pathname.startsWith(OPEN_API_SERVICE)) {
      const app = apps.get(url.searchParams.get('from_appid') ?? '');
      if (!app) return error(response, 40013);
      openApiServiceCalls += 1;
      const current = currentToken.get(app.appid);
      const live = current !== undefined && (accessTokens.get(current)?.expiresAt ?? 0) > now();
      url.pathname = url.pathname.slice(OPEN_API_SERVICE.length);
      url.searchParams.delete('from_appid');
      url.searchParams.set('access_token', live ? current : issueToken(app.appid));
    }
    callsByPath.set(url.pathname, (callsByPath.get(url.pathname) ?? 0) + 1);
    const fault = faults.shift();
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    if (fault === 'reset') return request.socket.destroy();
    if (fault === 'http_502') {
      response.writeHead(502, { 'Content-Type': 'text/html' });
      return response.end('<html><body>502 Bad Gateway</body></html>');
    }
    if (fault === 'non_json') {
      response.writeHead(200, { 'Content-Type': 'text/html' });
      return response.end('<html>系统繁忙</html>');
    }
    if (typeof fault === 'object') {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs ?? 0));
      if (fault.errcode !== undefined) return error(response, fault.errcode);
    }
    if (fault === 'busy') return error(response, -1);
    if (fault === 'rate_limited') return error(response, 45011);
    if (url.pathname === '/cgi-bin/stable_token') return stableToken(request, response);
    if (url.pathname === '/wxa/business/getuserphonenumber') return phoneNumber(request, url, response, fault);
    if (url.pathname === '/wxa/getuserriskrank') return riskRank(request, url, response);
    if (url.pathname !== '/sns/jscode2session') {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      return response.end('not found');
    }

    const q = url.searchParams;
    const appid = q.get('appid');
    if (!appid) return error(response, 41002);
    const app = apps.get(appid);
    if (!app) return error(response, 40013);
    if (q.get('secret') !== app.secret) return error(response, 40125);
    if (q.get('grant_type') !== 'authorization_code') return error(response, 40002);
    const code = q.get('js_code') ?? '';

    let person: string;
    let unbound = false;
    if (options.acceptAnyCode) {
      // "mock-unbound:<name>": as if the app were not yet bound to the Open Platform; a later "mock:<name>" brings the unionid.
      const mock = /^mock(-unbound)?:/.exec(code);
      person = mock ? code.slice(mock[0].length) : 'developer';
      unbound = mock?.[1] !== undefined;
    } else {
      const issued = codes.get(code);
      if (!issued || issued.appid !== appid || now() - issued.issuedAt > CODE_LIFETIME_MS) {
        return error(response, 40029, 'invalid code');
      }
      if (issued.used) return error(response, 40163, 'code been used');
      issued.used = true;
      person = issued.person;
    }
    if (blocked.has(person)) return error(response, 40226, 'high risk user');
    const at = now();
    const recent = (callsPerPerson.get(person) ?? []).filter((then) => at - then < 60_000);
    callsPerPerson.set(person, [...recent, at]);
    if (recent.length >= PER_USER_LIMIT_PER_MINUTE) return error(response, 45011, 'api minute-quota reach limit');

    const { openid, unionid } = identity(app, person);
    if (fault === 'lost_reply') return request.socket.destroy();
    const sessionKey = randomBytes(16).toString('base64');
    sessionKeys.push(sessionKey);
    answer(response, { session_key: sessionKey, openid, ...(unionid && !unbound ? { unionid } : {}) });
  };

  const server = createServer((request, response) => {
    const arrivedAt = performance.now();
    const path = new URL(request.url ?? '/', 'http://fake').pathname;
    response.once('finish', () => observer?.({ path, arrivedAt, answeredAt: performance.now() }));
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
    /** 微信云托管's 开放接口服务 sidecar, in front of this fake. */
    openApiServiceUrl: `http://127.0.0.1:${port}${OPEN_API_SERVICE}`,
    /** Calls the 开放接口服务 stand-in forwarded since the last reset. */
    openApiServiceCalls: () => openApiServiceCalls,
    /** What wx.login() would hand this person in this app: a fresh single-use code. */
    issueCode(appid: string, person: string): string {
      const code = randomBytes(16).toString('hex');
      codes.set(code, { appid, person, issuedAt: now(), used: false });
      return code;
    },
    /** What the getPhoneNumber button would hand the page in this app: a fresh single-use code. */
    issuePhoneCode(appid: string, phone: PhoneCodeOptions = {}): string {
      const code = randomBytes(32).toString('hex');
      phoneCodes.set(code, {
        purePhoneNumber: '13800000000',
        countryCode: '86',
        countryCodeAsNumber: true,
        ...phone,
        watermarkAppid: phone.watermarkAppid ?? appid,
        appid,
        issuedAt: now(),
        used: false,
      });
      return code;
    },
    /** Moves WeChat's clock forward (token and code expiry). */
    advanceClock(ms: number) {
      clockOffsetMs += ms;
    },
    /** Requests to one API path (e.g. /cgi-bin/stable_token) since the last reset. */
    callsTo: (path: string) => callsByPath.get(path) ?? 0,
    /** Successful phone number lookups since the last reset: what WeChat bills. */
    billedPhoneNumbers: () => billedPhoneNumbers,
    /** What getuserphonenumber received since the last reset. */
    phoneRequests: () => [...phoneRequests],
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
    /** What getuserriskrank answers for this openid (0-4); without one, 61010 (no record). */
    setRiskRank(openid: string, rank: number) {
      riskRanks.set(openid, rank);
    },
    /** What getuserriskrank received since the last reset. */
    riskRequests: () => [...riskRequests],
    /** The next requests meet these faults, one each, in order. */
    injectFaults(...next: Fault[]) {
      faults.push(...next);
    },
    /** Codes, session_keys, access_tokens and phone numbers handed out: what must never reach a log. */
    credentialsHandedOut: () => [
      ...codes.keys(),
      ...sessionKeys,
      ...accessTokens.keys(),
      ...phoneCodes.keys(),
      ...[...phoneCodes.values()].map((phone) => phone.purePhoneNumber),
    ],
    /** Every later request waits this long before it is answered. */
    setLatency(ms: number) {
      latencyMs = ms;
    },
    requestCount: () => requests,
    /** Hands every answered request to `listener` until called with null. */
    observe(listener: ((exchange: WechatExchange) => void) | null) {
      observer = listener;
    },
    resetCounts() {
      requests = 0;
      faults.length = 0;
      callsByPath.clear();
      phoneRequests.length = 0;
      riskRequests.length = 0;
      billedPhoneNumbers = 0;
      openApiServiceCalls = 0;
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
