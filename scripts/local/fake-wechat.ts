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
//   counted (WeChat bills the client's tap that issued the code: one per code, the same count).
// - getuserriskrank (安全风控): {appid, openid, scene, client_ip, mobile_no?} → risk_rank 0-4 and a
//   request id spelled unoin_id, as documented; 47001 for a malformed body, 61010 for a user WeChat
//   has no record of (as it answers for suspected fraud accounts).
// - 开放接口服务 (微信云托管): under /open-api-service, WeChat's sidecar: it takes a call without an
//   access_token, adds the live token of the from_appid app, and serves it as the API would.
// - msg_sec_check (内容安全 2.0, POST JSON): {version: 2, openid, scene 1-4, content} → result
//   {suggest, label} and detail; 43302 not POST, 47001 malformed, 44002 empty, 40129 scene, 40003
//   an openid this app never issued. Texts containing a flagged word get its verdict; others pass (100).
// - media_check_async (2.0): {media_url, media_type 1|2, version 2, openid, scene} → trace_id, the
//   same errcodes; the verdict is pushed later: imageVerdictPush() builds that 消息推送 request
//   (wxa_media_check) as WeChat signs it, in 明文模式 or, with an EncodingAESKey, 安全模式.
// - getwxacodeunlimit (POST JSON, ?access_token=): a real PNG (image/png) for a valid request;
//   JSON errors: 40129 a scene outside the allowed characters, 40169 a scene over 32, 41030 a page
//   with a leading slash or, with check_path, not published, 40097 a bad env_version or width,
//   45009 past 5,000 calls a minute per mini program.
// - open.weixin.qq.com's pages: connect/oauth2/authorize (公众号, snsapi_base or snsapi_userinfo)
//   and connect/qrconnect (网站应用, snsapi_login) check their parameters in WeChat's order (appid,
//   redirect_uri, response_type, scope, state) and redirect (302) to redirect_uri?code=&state= as
//   the person signInAs() names; otherwise the page WeChat shows for a bad link.
// - sns/oauth2/access_token: codes work once (40163), live 5 minutes (10 for 网站应用; 42003
//   after), 40029 unknown, 41008 missing; unionid only for snsapi_userinfo / snsapi_login on apps
//   bound to the open platform; a snapshot-page (快照页) user gets is_snapshotuser 1 and virtual ids.
// - Faults stage the errcodes no local condition produces (stable_token's 40164 server IP not
//   whitelisted, 40243 AppSecret frozen, 45009 daily quota...), with WeChat's errmsg, after a delay.
// `npm run dev` uses it as the loudly announced mock WeChat when no app is configured.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { crc32, deflateSync } from 'node:zlib';
import type { Socket } from 'node:net';

export interface FakeApp {
  appid: string;
  secret: string;
  /** Bound to an Open Platform account: logins carry a unionid. */
  openPlatform: boolean;
  /** miniprogram (default), mp (公众号) or website (网站应用). */
  kind?: 'miniprogram' | 'mp' | 'website';
  /** 消息推送配置: the Token and, for 安全模式, the EncodingAESKey (43 characters). */
  push?: { token: string; encodingAesKey?: string };
}

/** A content-security verdict (result.suggest, result.label). */
export interface FakeVerdict {
  suggest: 'pass' | 'review' | 'risky';
  label: number;
}

/** A 消息推送 request as WeChat sends it: the query to append to the push URL, and the JSON body. */
export interface FakePush {
  query: string;
  body: string;
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
  43302: 'method error, please use post',
  44002: 'empty post data',
  45009: 'reach max api daily quota limit',
  45011: 'api minute-quota reach limit mustslower retry next minute',
  47001: 'data format error',
  40097: 'invalid args',
  40129: 'invalid scene',
  40169: 'invalid length for scene, or the data is not json string',
  41030: 'invalid page',
};

/** The mini program pages a published release has, for getwxacodeunlimit's check_path. */
const PUBLISHED_PAGES = new Set(['pages/index/index', 'pages/web-login/index']);
const CODES_PER_MINUTE = 5000;
const SCENE = /^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]+$/;

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
  /** appid:openid of every login this WeChat answered: content security knows no other user. */
  const issuedOpenids = new Set<string>();
  const flaggedWords = new Map<string, FakeVerdict>();
  const textChecks: Record<string, unknown>[] = [];
  const imageChecks: { appid: string; traceId: string; mediaUrl: string; openid: string }[] = [];
  const riskRequests: Record<string, unknown>[] = [];
  let billedPhoneNumbers = 0;
  let openApiServiceCalls = 0;
  let latencyMs = options.latencyMs ?? 0;
  /** Every mini program code drawn: which app, scene, page, env_version. */
  const codesDrawn: { appid: string; scene: string; page: string; envVersion: string }[] = [];
  /** Who is using WeChat on the authorize pages, and whether WeChat shows them a snapshot page. */
  let signedIn = { person: 'developer', snapshot: false };
  const oauthCodes = new Map<string, { appid: string; person: string; scope: string; snapshot: boolean; issuedAt: number; used: boolean }>();
  const codeCalls = new Map<string, number[]>();
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

  /** The content-security request's app and body, or the errcode WeChat answers for it. */
  const securityRequest = async (request: IncomingMessage, url: URL): Promise<{ appid: string; body: Record<string, unknown> } | { errcode: number; errmsg?: string }> => {
    if (request.method !== 'POST') return { errcode: 43302 };
    const owner = tokenOwner(url);
    if ('errcode' in owner) return owner;
    const body = await readJson(request);
    if (!body || body.version !== 2) return { errcode: 47001 };
    if (!body.openid) return { errcode: 44002 };
    if (typeof body.openid !== 'string' || (!options.acceptAnyCode && !issuedOpenids.has(`${owner.appid}:${body.openid}`))) return { errcode: 40003, errmsg: 'invalid openid' };
    if (![1, 2, 3, 4].includes(body.scene as number)) return { errcode: 40129, errmsg: 'invalid scene' };
    return { appid: owner.appid, body };
  };
  const traceId = () => `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

  const msgSecCheck = async (request: IncomingMessage, url: URL, response: ServerResponse) => {
    const checked = await securityRequest(request, url);
    if ('errcode' in checked) return error(response, checked.errcode, checked.errmsg);
    const { content } = checked.body;
    if (typeof content !== 'string' || !content) return error(response, 44002);
    if ([...content].length > 2500) return error(response, 47001);
    textChecks.push(checked.body);
    const flagged = [...flaggedWords].find(([word]) => content.includes(word));
    const verdict = flagged?.[1] ?? { suggest: 'pass', label: 100 };
    answer(response, {
      errcode: 0,
      errmsg: 'ok',
      result: verdict,
      detail: [
        { strategy: 'content_model', errcode: 0, suggest: verdict.suggest, label: verdict.label, prob: flagged ? 90 : 0 },
        { strategy: 'keyword', errcode: 0, suggest: verdict.suggest, label: verdict.label, ...(flagged ? { level: 90, keyword: flagged[0] } : {}) },
      ],
      trace_id: traceId(),
    });
  };

  const mediaCheckAsync = async (request: IncomingMessage, url: URL, response: ServerResponse) => {
    const checked = await securityRequest(request, url);
    if ('errcode' in checked) return error(response, checked.errcode, checked.errmsg);
    const { media_url: mediaUrl, media_type: mediaType, openid } = checked.body;
    if (typeof mediaUrl !== 'string' || !/^https?:\/\//.test(mediaUrl) || ![1, 2].includes(mediaType as number)) return error(response, 47001);
    const id = traceId();
    imageChecks.push({ appid: checked.appid, traceId: id, mediaUrl, openid: openid as string });
    answer(response, { errcode: 0, errmsg: 'ok', trace_id: id });
  };

  const miniProgramCode = async (request: IncomingMessage, url: URL, response: ServerResponse) => {
    if (request.method !== 'POST') return error(response, 43002);
    const owner = tokenOwner(url);
    if ('errcode' in owner) return error(response, owner.errcode, owner.errmsg);
    const body = await readJson(request);
    if (!body) return error(response, 40169);
    const { scene, page = 'pages/index/index', check_path: checkPath = true, env_version: envVersion = 'release', width = 430 } = body;
    if (typeof scene !== 'string' || !SCENE.test(scene)) return error(response, 40129);
    if (scene.length > 32) return error(response, 40169);
    if (!['release', 'trial', 'develop'].includes(envVersion as string) || typeof width !== 'number' || width < 280 || width > 1280) {
      return error(response, 40097);
    }
    if (typeof page !== 'string' || page.startsWith('/') || (checkPath !== false && !PUBLISHED_PAGES.has(page))) return error(response, 41030);
    const recent = (codeCalls.get(owner.appid) ?? []).filter((at) => now() - at < 60_000);
    codeCalls.set(owner.appid, [...recent, now()]);
    if (recent.length >= CODES_PER_MINUTE) return error(response, 45009);
    codesDrawn.push({ appid: owner.appid, scene, page, envVersion: envVersion as string });
    response.writeHead(200, { 'Content-Type': 'image/png' });
    response.end(pngOf(scene));
  };

  const authorizePage = (url: URL, response: ServerResponse) => {
    const website = url.pathname === '/connect/qrconnect';
    const q = url.searchParams;
    const app = apps.get(q.get('appid') ?? '');
    const order = [...q.keys()].join(',');
    const scope = q.get('scope') ?? '';
    const scopes = website ? ['snsapi_login'] : ['snsapi_base', 'snsapi_userinfo'];
    const redirect = q.get('redirect_uri') ?? '';
    if (!app || (app.kind === 'website') !== website || order !== 'appid,redirect_uri,response_type,scope,state' || q.get('response_type') !== 'code' || !scopes.includes(scope) || !/^https?:\/\//.test(redirect)) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      return response.end('<html><body>该链接无法访问</body></html>');
    }
    const code = randomBytes(16).toString('hex');
    oauthCodes.set(code, { appid: app.appid, ...signedIn, scope, issuedAt: now(), used: false });
    const back = new URL(redirect);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state') ?? '');
    response.writeHead(302, { Location: back.href });
    response.end();
  };

  const oauthAccessToken = (url: URL, response: ServerResponse) => {
    const q = url.searchParams;
    const app = apps.get(q.get('appid') ?? '');
    if (!q.get('appid')) return error(response, 41002);
    if (!app) return error(response, 40013);
    if (q.get('secret') !== app.secret) return error(response, 40125);
    if (q.get('grant_type') !== 'authorization_code') return error(response, 40002);
    const code = q.get('code');
    if (!code) return error(response, 41008, 'missing code');
    const issued = oauthCodes.get(code);
    if (!issued || issued.appid !== app.appid) return error(response, 40029, 'invalid code');
    if (issued.used) return error(response, 40163, 'code been used');
    if (now() - issued.issuedAt > (app.kind === 'website' ? 10 : 5) * 60_000) return error(response, 42003, 'code expired');
    issued.used = true;
    // A snapshot page's ids are virtual: never the person's.
    const who = issued.snapshot ? `snapshot-${randomBytes(6).toString('hex')}` : issued.person;
    const { openid, unionid } = identity(app, who);
    answer(response, {
      access_token: randomBytes(32).toString('base64url'),
      expires_in: 7200,
      refresh_token: randomBytes(32).toString('base64url'),
      openid,
      scope: issued.scope,
      ...(unionid && issued.scope !== 'snsapi_base' ? { unionid } : {}),
      ...(issued.snapshot ? { is_snapshotuser: 1 } : {}),
    });
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
    if (url.pathname === '/wxa/msg_sec_check') return msgSecCheck(request, url, response);
    if (url.pathname === '/wxa/media_check_async') return mediaCheckAsync(request, url, response);
    if (url.pathname === '/wxa/getwxacodeunlimit') return miniProgramCode(request, url, response);
    if (url.pathname === '/connect/oauth2/authorize' || url.pathname === '/connect/qrconnect') return authorizePage(url, response);
    if (url.pathname === '/sns/oauth2/access_token') return oauthAccessToken(url, response);
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
    issuedOpenids.add(`${app.appid}:${openid}`);
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
    /** Who the authorize pages sign in from now on; `snapshot`: WeChat shows them a 快照页. */
    signInAs(person: string, { snapshot = false } = {}) {
      signedIn = { person, snapshot };
    },
    /** Every mini program code drawn (getwxacodeunlimit), oldest first. */
    codesDrawn: () => [...codesDrawn],
    /** What getuserriskrank received since the last reset. */
    riskRequests: () => [...riskRequests],
    /** msg_sec_check rates every text containing `word` so. */
    flagText(word: string, verdict: FakeVerdict) {
      flaggedWords.set(word, verdict);
    },
    /** What msg_sec_check received since the last reset. */
    textChecks: () => [...textChecks],
    /** What media_check_async accepted since the last reset, with the trace_id it answered. */
    imageChecks: () => [...imageChecks],
    /**
     * The wxa_media_check push WeChat sends when the check `traceId` is done: a verdict, or an
     * errcode (-1008: the image could not be downloaded). Signed with the app's Token; in 安全模式
     * when the app has an EncodingAESKey.
     */
    imageVerdictPush(traceId: string, outcome: FakeVerdict | { errcode: number; errmsg: string }): FakePush {
      const check = imageChecks.find((entry) => entry.traceId === traceId);
      if (!check) throw new Error(`fake WeChat issued no trace_id ${traceId}`);
      const event = {
        ToUserName: `gh_${digest(check.appid).slice(0, 12)}`,
        FromUserName: check.openid,
        CreateTime: Math.floor(now() / 1000),
        MsgType: 'event',
        Event: 'wxa_media_check',
        appid: check.appid,
        trace_id: traceId,
        version: 2,
        ...('suggest' in outcome
          ? {
              detail: [{ strategy: 'content_model', errcode: 0, suggest: outcome.suggest, label: outcome.label, prob: 90 }],
              errcode: 0,
              errmsg: 'ok',
              result: outcome,
            }
          : { detail: [], errcode: outcome.errcode, errmsg: outcome.errmsg }),
      };
      return signedPush(apps.get(check.appid)!, event, Math.floor(now() / 1000));
    },
    /** Sends the verdict push to the app's 消息推送 URL over HTTP, as WeChat does; its answer as text. */
    async sendImageVerdict(pushUrl: string, traceId: string, outcome: FakeVerdict | { errcode: number; errmsg: string }) {
      const { query, body } = this.imageVerdictPush(traceId, outcome);
      const response = await fetch(`${pushUrl}?${query}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      return { status: response.status, body: await response.text() };
    },
    /** The GET WeChat sends when 消息推送配置 is submitted: the query, and the echostr to be echoed. */
    pushVerification(appid: string): { query: string; echostr: string } {
      const { token } = pushSettings(apps.get(appid));
      const timestamp = String(Math.floor(now() / 1000));
      const nonce = String(randomBytes(4).readUInt32BE());
      const echostr = String(randomBytes(8).readBigUInt64BE());
      return { query: new URLSearchParams({ signature: sha1Sorted([token, timestamp, nonce]), echostr, timestamp, nonce }).toString(), echostr };
    },
    /** The next requests meet these faults, one each, in order. */
    injectFaults(...next: Fault[]) {
      faults.push(...next);
    },
    /** Codes, session_keys, access_tokens and phone numbers handed out: what must never reach a log. */
    credentialsHandedOut: () => [
      ...codes.keys(),
      ...oauthCodes.keys(),
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
      textChecks.length = 0;
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

function pushSettings(app: FakeApp | undefined): { token: string; encodingAesKey?: string } {
  if (!app?.push) throw new Error('this fake app has no 消息推送 settings');
  return app.push;
}

function sha1Sorted(parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

/** A push as WeChat signs it: 明文模式 signs Token, timestamp, nonce; 安全模式 also encrypts and signs the ciphertext. */
export function signedPush(app: FakeApp, event: object, timestamp: number): FakePush {
  const { token, encodingAesKey } = pushSettings(app);
  const time = String(timestamp);
  const nonce = String(randomBytes(4).readUInt32BE());
  const signature = sha1Sorted([token, time, nonce]);
  if (!encodingAesKey) return { query: new URLSearchParams({ signature, timestamp: time, nonce }).toString(), body: JSON.stringify(event) };
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  const message = Buffer.from(JSON.stringify(event));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(message.length);
  const plain = Buffer.concat([randomBytes(16), length, message, Buffer.from(app.appid)]);
  const pad = 32 - (plain.length % 32);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])), cipher.final()]).toString('base64');
  const query = { signature, timestamp: time, nonce, encrypt_type: 'aes', msg_signature: sha1Sorted([token, time, nonce, encrypted]) };
  return { query: new URLSearchParams(query).toString(), body: JSON.stringify({ ToUserName: (event as { ToUserName: string }).ToUserName, Encrypt: encrypted }) };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').replace(/[-_]/g, 'x');
}

/** A real PNG: a 29×29 grid of black and white cells drawn from the scene's hash, 8 px each. */
function pngOf(scene: string): Buffer {
  const cells = 29;
  const scale = 8;
  const size = cells * scale;
  const bits = createHash('sha512').update(scene).digest();
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(size + 1); // filter byte 0, then one grey byte per pixel
    for (let x = 0; x < size; x++) {
      const cell = Math.floor(y / scale) * cells + Math.floor(x / scale);
      row[x + 1] = (bits[cell % bits.length]! >> (cell % 8)) & 1 ? 0 : 255;
    }
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8-bit greyscale, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
