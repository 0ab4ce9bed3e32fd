// The part of the mini program runtime the kit uses, made of real parts: wx.request is real HTTP
// with WeChat's semantics (success for every HTTP status, fail only when no response came, errMsg
// "request:fail ..."), wx.login hands out codes the fake WeChat accepts, storage is a Map holding
// serialized copies as wx storage does. miniprogramRuntime() runs mini program files the way
// the runtime does: a CommonJS wrapper in a realm with only the standard built-ins, timers,
// console, `wx`, App/Page/getApp and relative require() (no process, Buffer or fetch).
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createContext, runInContext } from 'node:vm';

export interface WxShimOptions {
  /** What wx.getAccountInfoSync().miniProgram.appId answers. */
  appid: string;
  /** What wx.login's success hands over: a code from the (fake) WeChat. */
  issueCode: () => string;
}

type Callbacks<T> = { success?: (result: T) => void; fail?: (result: { errMsg: string }) => void; complete?: (result: unknown) => void };

export interface WxRequestOptions extends Callbacks<WxRequestSuccess> {
  url: string;
  method?: string;
  data?: unknown;
  header?: Record<string, string>;
  timeout?: number;
  dataType?: string;
}

export interface WxRequestSuccess {
  data: unknown;
  statusCode: number;
  header: Record<string, string>;
  cookies: string[];
  errMsg: 'request:ok';
}

export function createWx({ appid, issueCode }: WxShimOptions) {
  const storage = new Map<string, string>();
  const calls = { login: 0, request: 0 };

  const settle = <T>(options: Callbacks<T>, outcome: { ok: true; result: T } | { ok: false; errMsg: string }) => {
    // wx calls back asynchronously, never inside the call itself.
    setImmediate(() => {
      if (outcome.ok) options.success?.(outcome.result);
      else options.fail?.({ errMsg: outcome.errMsg });
      options.complete?.(outcome.ok ? outcome.result : { errMsg: outcome.errMsg });
    });
  };

  return {
    storage,
    calls,
    getStorageSync(key: string): unknown {
      const saved = storage.get(key);
      return saved === undefined ? '' : JSON.parse(saved);
    },
    setStorageSync(key: string, value: unknown): void {
      storage.set(key, JSON.stringify(value));
    },
    removeStorageSync(key: string): void {
      storage.delete(key);
    },
    getAccountInfoSync() {
      return { miniProgram: { appId: appid, envVersion: 'develop', version: '' } };
    },
    login(options: Callbacks<{ code: string; errMsg: string }>): void {
      calls.login += 1;
      settle(options, { ok: true, result: { code: issueCode(), errMsg: 'login:ok' } });
    },
    request(options: WxRequestOptions) {
      calls.request += 1;
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
      const outgoing = send(url, { method, headers: header, timeout: options.timeout ?? 60_000 }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('error', (error) => settle(options, { ok: false, errMsg: `request:fail ${reason(error)}` }));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          settle(options, {
            ok: true,
            result: {
              data: (options.dataType ?? 'json') === 'json' ? parseJson(text) : text,
              statusCode: incoming.statusCode ?? 0,
              header: headersAsSent(incoming),
              cookies: [],
              errMsg: 'request:ok',
            },
          });
        });
      });
      outgoing.on('timeout', () => outgoing.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      outgoing.on('error', (error) => settle(options, { ok: false, errMsg: `request:fail ${reason(error)}` }));
      outgoing.end(body);
      return { abort: () => outgoing.destroy(Object.assign(new Error('abort'), { code: 'abort' })) };
    },
  };
}

export type Wx = ReturnType<typeof createWx>;

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

function reason(error: Error & { code?: string }): string {
  return error.code ?? error.message;
}

type Definition = Record<string, any>;

/**
 * The mini program runtime's module system and registries: files load once, in a CommonJS wrapper,
 * with relative require(); App() and Page() record their definitions.
 */
export function miniprogramRuntime(wx: Wx) {
  const registered: { app?: Definition; pages: Map<string, Definition> } = { pages: new Map() };
  let loading = '';
  const realm = createContext({
    wx,
    setTimeout,
    clearTimeout,
    console,
    App: (definition: Definition) => (registered.app = definition),
    Page: (definition: Definition) => registered.pages.set(loading, definition),
    getApp: () => registered.app,
  });
  const modules = new Map<string, { exports: unknown }>();

  function load<T>(file: URL): T {
    const cached = modules.get(file.href);
    if (cached) return cached.exports as T;
    const define = runInContext(`(function (module, exports, require) {\n${readFileSync(file, 'utf8')}\n})`, realm, {
      filename: file.pathname,
    });
    const module = { exports: {} };
    modules.set(file.href, module);
    const require = (name: string) => {
      if (!name.startsWith('.')) throw new Error(`${file.pathname}: mini programs without npm build cannot require "${name}"`);
      return load(new URL(name.endsWith('.js') ? name : `${name}.js`, file));
    };
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
