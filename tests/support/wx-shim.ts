// The platform APIs the mini program kit uses, made of real parts and shaped as each platform
// documents them. wx.request is real HTTP with WeChat's semantics (success for every HTTP status,
// fail only when no response came, errMsg "request:fail ...", 60 s default timeout, a RequestTask
// with abort()); wx.login hands out codes the fake WeChat accepts; storage is a Map holding
// serialized copies, and its sync calls throw when a test makes them (storage full, unavailable).
// - uni (uni-app): the same calls and results; without success/fail/complete a call returns a Promise.
// - Taro: request and login return Promises (request's has abort()) resolving with the same results
//   and rejecting with { errMsg }; this shim calls no callbacks, so the kit must work from the Promise.
// - wx.cloud (微信云托管): new wx.cloud.Cloud({ resourceEnv, resourceAppid? }), init(), then
//   callContainer({ config: { env }, path, header: { 'X-WX-SERVICE' }, method, data, ... }), which
//   answers as wx.request does ({ data, statusCode, header, cookies }, errMsg "cloud.callContainer:ok")
//   or fails with { errCode, errMsg } (102002 on timeout). Its gateway drops the caller's X-WX-*
//   headers and sets its own: X-WX-SOURCE, X-WX-ENV, X-WX-APPID, X-WX-OPENID, X-WX-UNIONID, or
//   under 资源复用 (a mini program other than the environment's owner) X-WX-FROM-APPID/-OPENID/-UNIONID.
// miniprogramRuntime() runs mini program files the way the runtime does: a CommonJS wrapper in a
// realm with only the standard built-ins, timers, console, the platform global, App/Page/getApp,
// relative require() and require('<package>') from miniprogram_npm (no process, Buffer or fetch).
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createContext, runInContext } from 'node:vm';

export interface ShimOptions {
  /** What getAccountInfoSync().miniProgram.appId answers. */
  appid: string;
  /** What login's success hands over: a code from the (fake) WeChat. */
  issueCode: () => string;
  /** wx only: the 云托管 environment this mini program may call with wx.cloud.callContainer. */
  cloud?: CloudGateway;
}

export interface CloudGateway {
  env: string;
  /** Each service's address, by the name callers put in X-WX-SERVICE. */
  services: Record<string, string>;
  /** The mini program owning the environment: any other calls it under 资源复用. */
  ownerAppid: string;
  /** The user as WeChat knows them in this mini program. */
  user: () => { openid: string; unionid: string | null };
}

/** callContainer's upper bound: WeChat ends the call after 15 s whatever `timeout` says. */
const CONTAINER_TIMEOUT_MS = 15_000;

type Callbacks<T> = { success?: (result: T) => void; fail?: (result: { errMsg: string }) => void; complete?: (result: unknown) => void };

export interface RequestOptions extends Callbacks<RequestSuccess> {
  url: string;
  method?: string;
  data?: unknown;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: string;
  responseType?: string;
  [option: string]: unknown;
}

export interface RequestSuccess {
  data: unknown;
  statusCode: number;
  header: Record<string, string>;
  cookies: string[];
  errMsg: 'request:ok';
}

type Outcome<T> = { ok: true; result: T } | { ok: false; errMsg: string };
type Pending<T> = Promise<Outcome<T>>;

/** What every platform shares: storage, account info, and login/request as outcomes. */
function platformCore({ appid, issueCode }: ShimOptions) {
  const storage = new Map<string, string>();
  const calls = { login: 0, request: 0 };
  /** The options of every login and request call, callbacks left out. */
  const logins: Record<string, unknown>[] = [];
  const requests: Record<string, unknown>[] = [];
  /** Set by tests: the storage calls throw, or login never answers (not even after its timeout). */
  const faults = { getStorage: false, setStorage: false, removeStorage: false, loginHangs: false };
  const failIf = (fault: boolean, call: string) => {
    if (fault) throw new Error(`${call}:fail storage unavailable`);
  };

  const withoutCallbacks = ({ success, fail, complete, ...rest }: Record<string, unknown>) => rest;

  return {
    storage,
    calls,
    logins,
    requests,
    faults,
    getStorageSync(key: string): unknown {
      failIf(faults.getStorage, 'getStorageSync');
      const saved = storage.get(key);
      return saved === undefined ? '' : JSON.parse(saved);
    },
    setStorageSync(key: string, value: unknown): void {
      failIf(faults.setStorage, 'setStorageSync');
      storage.set(key, JSON.stringify(value));
    },
    removeStorageSync(key: string): void {
      failIf(faults.removeStorage, 'removeStorageSync');
      storage.delete(key);
    },
    getAccountInfoSync() {
      return { miniProgram: { appId: appid, envVersion: 'develop', version: '' } };
    },
    loginOutcome(options: Record<string, unknown>): Pending<{ code: string; errMsg: string }> {
      calls.login += 1;
      logins.push(withoutCallbacks(options));
      if (faults.loginHangs) return new Promise(() => {});
      return Promise.resolve({ ok: true, result: { code: issueCode(), errMsg: 'login:ok' } });
    },
    requestOutcome(options: RequestOptions): { outcome: Pending<RequestSuccess>; abort: () => void } {
      calls.request += 1;
      requests.push(withoutCallbacks(options));
      return httpOutcome(options, appid);
    },
  };
}

/** Real HTTP with the platforms' data rules; the answer as an outcome, never a thrown error. */
function httpOutcome(options: RequestOptions, appid: string): { outcome: Pending<RequestSuccess>; abort: () => void } {
  const method = (options.method ?? 'GET').toUpperCase();
  const header: Record<string, string> = { ...options.header };
  if (!Object.keys(header).some((name) => name.toLowerCase() === 'content-type')) {
    header['content-type'] = 'application/json';
  }
  // WeChat sets the Referer itself; callers cannot.
  header.Referer = `https://servicewechat.com/${appid}/0/page-frame.html`;
  const url = new URL(options.url);
  const body = encodeData(method, url, options.data, header);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  let settle!: (outcome: Outcome<RequestSuccess>) => void;
  const outcome = new Promise<Outcome<RequestSuccess>>((resolve) => (settle = resolve));
  const failed = (error: Error & { code?: string }) => settle({ ok: false, errMsg: `request:fail ${error.code ?? error.message}` });
  const outgoing = send(url, { method, headers: header, timeout: options.timeout ?? 60_000 }, (incoming) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('error', failed);
    incoming.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      let data: unknown = text;
      if (options.responseType === 'arraybuffer') data = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
      else if ((options.dataType ?? 'json') === 'json') data = parseJson(text);
      settle({ ok: true, result: { data, statusCode: incoming.statusCode ?? 0, header: headersAsSent(incoming), cookies: [], errMsg: 'request:ok' } });
    });
  });
  outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
  outgoing.on('error', failed);
  outgoing.end(body);
  return { outcome, abort: () => outgoing.destroy(Object.assign(new Error('abort'), { code: 'abort' })) };
}

/** Calls back asynchronously, never inside the call itself, as the platforms do. */
function callBack<T>(options: Callbacks<T>, pending: Pending<T>): void {
  void pending.then((outcome) =>
    setImmediate(() => {
      if (outcome.ok) options.success?.(outcome.result);
      else options.fail?.({ errMsg: outcome.errMsg });
      options.complete?.(outcome.ok ? outcome.result : { errMsg: outcome.errMsg });
    }),
  );
}

function asPromise<T>(pending: Pending<T>): Promise<T> {
  return pending.then((outcome) => (outcome.ok ? outcome.result : Promise.reject({ errMsg: outcome.errMsg })));
}

const core = ({ loginOutcome, requestOutcome, ...shared }: ReturnType<typeof platformCore>) => shared;

type PrivacyAnswer = { event: 'agree'; buttonId: string } | { event: 'disagree' } | { event: 'exposureAuthorization' };
type PrivacyListener = (resolve: (answer: PrivacyAnswer) => void, eventInfo: { referrer: string }) => void;

/** wx: callbacks only; request returns its RequestTask. */
/** wx: callbacks only; request returns its RequestTask. wx.cloud when `options.cloud` is given. */
export function createWx(options: ShimOptions) {
  const platform = platformCore(options);
  /**
   * WeChat's record of the person's agreement to the 隐私保护指引 (base library 2.32.3+), and what
   * they answer its own popup (tests set both); `onNeed` is the app's custom popup, if it has one.
   */
  const privacy: { agreed: boolean; popupAnswer: 'agree' | 'disagree'; asked: number; onNeed: PrivacyListener | null } = {
    agreed: false,
    popupAnswer: 'agree',
    asked: 0,
    onNeed: null,
  };
  return {
    ...core(platform),
    privacy,
    onNeedPrivacyAuthorization(listener: PrivacyListener): void {
      privacy.onNeed = listener;
    },
    /**
     * As documented: success at once when agreed before; else the app's listener (its popup
     * resolves agree or disagree) or, without one, WeChat's own popup; disagreeing fails.
     */
    requirePrivacyAuthorize(callbacks: Callbacks<{ errMsg: string }>): void {
      const answered = new Promise<boolean>((resolve) => {
        if (privacy.agreed) return resolve(true);
        privacy.asked += 1;
        if (!privacy.onNeed) return resolve(privacy.popupAnswer === 'agree');
        privacy.onNeed((answer) => {
          if (answer.event !== 'exposureAuthorization') resolve(answer.event === 'agree');
        }, { referrer: 'requirePrivacyAuthorize' });
      });
      callBack(
        callbacks,
        answered.then((agreed): Outcome<{ errMsg: string }> => {
          privacy.agreed ||= agreed;
          return agreed ? { ok: true, result: { errMsg: 'requirePrivacyAuthorize:ok' } } : { ok: false, errMsg: 'requirePrivacyAuthorize:fail privacy permission is not authorized' };
        }),
      );
    },
    cloud: cloudApi(options),
    login(login: Callbacks<{ code: string; errMsg: string }> & { timeout?: number }): void {
      callBack(login, platform.loginOutcome(login));
    },
    request(request: RequestOptions) {
      const { outcome, abort } = platform.requestOutcome(request);
      callBack(request, outcome);
      return { abort };
    },
  };
}

/** wx.cloud: Cloud instances whose callContainer goes through a gateway that names the user. */
function cloudApi({ appid, cloud: gateway }: ShimOptions) {
  /** The options of every Cloud created and of every callContainer, callbacks left out. */
  const instances: Record<string, unknown>[] = [];
  const calls: Record<string, unknown>[] = [];
  class Cloud {
    private ready = false;
    constructor(readonly options: { resourceEnv: string; resourceAppid?: string }) {
      instances.push(options);
    }
    init(): Promise<void> {
      this.ready = true;
      return Promise.resolve();
    }
    callContainer(request: RequestOptions & { path: string; config?: { env?: string } }) {
      const { success, fail, complete, ...sent } = request;
      calls.push(sent);
      if (!this.ready) throw new Error('shim: callContainer before init()');
      if (!gateway) throw new Error('shim: this mini program has no 云托管 environment');
      const env = request.config?.env ?? this.options.resourceEnv;
      const service = Object.entries(request.header ?? {}).find(([name]) => name.toLowerCase() === 'x-wx-service')?.[1] ?? '';
      const address = gateway.services[service];
      if (env !== gateway.env || !address) throw new Error(`shim: no service ${service} in environment ${env}`);
      const header = Object.fromEntries(Object.entries(request.header ?? {}).filter(([name]) => !/^x-wx-/i.test(name)));
      const { openid, unionid } = gateway.user();
      const caller = appid === gateway.ownerAppid ? 'X-WX-' : 'X-WX-FROM-';
      Object.assign(header, { 'X-WX-SOURCE': 'wx_client', 'X-WX-ENV': env, 'X-WX-APPID': gateway.ownerAppid, [`${caller}APPID`]: appid, [`${caller}OPENID`]: openid });
      if (unionid) header[`${caller}UNIONID`] = unionid;
      const timeout = Math.min(request.timeout ?? CONTAINER_TIMEOUT_MS, CONTAINER_TIMEOUT_MS);
      const answered = httpOutcome({ ...sent, url: address + request.path, header, timeout }, appid).outcome.then((outcome) => {
        if (outcome.ok) return { ok: true as const, result: { ...outcome.result, errMsg: 'cloud.callContainer:ok' } };
        const failure = /timeout/.test(outcome.errMsg)
          ? { errCode: 102002, errMsg: 'cloud.callContainer:fail errCode: 102002 | errMsg: 请求超时' }
          : { errCode: -1, errMsg: `cloud.callContainer:fail ${outcome.errMsg}` };
        return { ok: false as const, failure };
      });
      if (!success && !fail && !complete) return answered.then((outcome) => (outcome.ok ? outcome.result : Promise.reject(outcome.failure)));
      void answered.then((outcome) =>
        setImmediate(() => {
          if (outcome.ok) (success as ((result: unknown) => void) | undefined)?.(outcome.result);
          else (fail as ((result: unknown) => void) | undefined)?.(outcome.failure);
          (complete as ((result: unknown) => void) | undefined)?.(outcome.ok ? outcome.result : outcome.failure);
        }),
      );
      return undefined;
    }
  }
  return { Cloud, instances, calls };
}

/** uni: callbacks when given (request then returns its RequestTask), a Promise otherwise. */
export function createUni(options: ShimOptions) {
  const platform = platformCore(options);
  const hasCallbacks = (given: Callbacks<never>) => Boolean(given.success || given.fail || given.complete);
  return {
    ...core(platform),
    login(login: Callbacks<{ code: string; errMsg: string }> & { provider?: string; timeout?: number }) {
      const outcome = platform.loginOutcome(login);
      if (!hasCallbacks(login)) return asPromise(outcome);
      callBack(login, outcome);
      return undefined;
    },
    request(request: RequestOptions) {
      const { outcome, abort } = platform.requestOutcome(request);
      if (!hasCallbacks(request)) return asPromise(outcome);
      callBack(request, outcome);
      return { abort };
    },
  };
}

/** Taro: login and request return Promises; request's carries abort(), as Taro's RequestTask does. */
export function createTaro(options: ShimOptions) {
  const platform = platformCore(options);
  return {
    ...core(platform),
    login(login: { timeout?: number } = {}) {
      return asPromise(platform.loginOutcome(login));
    },
    request(request: RequestOptions) {
      const { outcome, abort } = platform.requestOutcome(request);
      return Object.assign(asPromise(outcome), { abort });
    },
  };
}

export type Wx = ReturnType<typeof createWx>;
export type Platform = ReturnType<typeof createWx> | ReturnType<typeof createUni> | ReturnType<typeof createTaro>;

/** Each platform by the name code uses for it, and whether the runtime has it as a global. */
export const platforms = {
  wx: { create: createWx, global: 'wx' },
  uni: { create: createUni, global: 'uni' },
  // Taro is imported (`import Taro from '@tarojs/taro'`), never a global.
  Taro: { create: createTaro, global: null },
} as const;

export type PlatformName = keyof typeof platforms;

/** WeChat's data rules: GET → query string; JSON content type → JSON.stringify; strings as they are. */
function encodeData(method: string, url: URL, data: unknown, header: Record<string, string>): string | Buffer | undefined {
  if (data === undefined || data === null) return undefined;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (typeof data === 'string') {
    if (method !== 'GET') return data;
    url.search = data;
    return undefined;
  }
  const entries = Object.entries(data as Record<string, unknown>).map(([key, value]): [string, string] => [key, String(value)]);
  if (method === 'GET') {
    for (const [key, value] of entries) url.searchParams.append(key, value);
    return undefined;
  }
  const type = Object.entries(header).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? '';
  return type.includes('x-www-form-urlencoded') ? new URLSearchParams(entries).toString() : JSON.stringify(data);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Header names as the server sent them (the platforms pass them on unchanged). */
function headersAsSent(incoming: IncomingMessage): Record<string, string> {
  const header: Record<string, string> = {};
  for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
    const name = incoming.rawHeaders[i]!;
    header[name] = header[name] === undefined ? incoming.rawHeaders[i + 1]! : `${header[name]}, ${incoming.rawHeaders[i + 1]}`;
  }
  return header;
}

type Definition = Record<string, any>;

export interface RuntimeOptions {
  /** How far the device's clock is from the real time, in ms (positive: ahead). */
  deviceClockOffsetMs?: number;
}

/**
 * The mini program runtime's module system and registries: files load once, in a CommonJS wrapper,
 * with relative require() and packages from miniprogram_npm; App() and Page() record their definitions.
 */
export function miniprogramRuntime(globals: Record<string, unknown>, { deviceClockOffsetMs = 0 }: RuntimeOptions = {}) {
  const registered: { app?: Definition; pages: Map<string, Definition> } = { pages: new Map() };
  let loading = '';
  const realm = createContext({
    ...globals,
    setTimeout,
    clearTimeout,
    console,
    App: (definition: Definition) => (registered.app = definition),
    Page: (definition: Definition) => registered.pages.set(loading, definition),
    getApp: () => registered.app,
  });
  if (deviceClockOffsetMs) setDeviceClock(realm, deviceClockOffsetMs);
  const modules = new Map<string, { exports: unknown }>();

  function load<T>(file: URL): T {
    const cached = modules.get(file.href);
    if (cached) return cached.exports as T;
    const define = runInContext(`(function (module, exports, require) {\n${readFileSync(file, 'utf8')}\n})`, realm, {
      filename: file.pathname,
    });
    const module = { exports: {} };
    modules.set(file.href, module);
    const require = (name: string) => load(resolve(name, file));
    const outer = loading;
    loading = file.href;
    try {
      define(module, module.exports, require);
    } finally {
      loading = outer;
    }
    return module.exports as T;
  }

  /** A page as the runtime builds it: its definition's methods, its own data, setData. */
  function openPage(file: URL) {
    load(file);
    const definition = registered.pages.get(file.href);
    if (!definition) throw new Error(`${file.pathname} did not call Page()`);
    const page: Definition = {
      ...definition,
      data: structuredClone(definition.data ?? {}),
      setData(patch: Definition) {
        Object.assign(page.data, patch);
      },
    };
    return page;
  }

  return { load, openPage, app: () => registered.app };
}

/** A relative path, or a package that DevTools' 构建 npm put in a miniprogram_npm folder up the tree. */
function resolve(name: string, from: URL): URL {
  const file = (path: string) => (path.endsWith('.js') ? path : `${path}.js`);
  if (name.startsWith('.')) return new URL(file(name), from);
  for (let dir = new URL('./', from); dir.pathname !== '/'; dir = new URL('../', dir)) {
    const entry = new URL(`miniprogram_npm/${name.includes('/') ? file(name) : `${name}/index.js`}`, dir);
    if (existsSync(entry)) return entry;
  }
  throw new Error(`${from.pathname}: "${name}" is neither relative nor in a miniprogram_npm folder (构建 npm)`);
}

/** The realm's Date runs `offsetMs` off the real clock, as a device whose clock is wrong. */
function setDeviceClock(realm: object, offsetMs: number): void {
  const shift = runInContext(
    `(function (offset) {
      var RealDate = Date;
      class DeviceDate extends RealDate {
        constructor(...args) { if (args.length === 0) super(RealDate.now() + offset); else super(...args); }
        static now() { return RealDate.now() + offset; }
      }
      globalThis.Date = DeviceDate;
    })`,
    realm,
  ) as (offset: number) => void;
  shift(offsetMs);
}
