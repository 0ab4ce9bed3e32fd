// The Upstash Redis client, tuned for short serverless functions, and the one place that decides
// whether this deployment has Redis at all (local development may run without it). One client per
// process. It speaks Upstash's REST protocol through @upstash/redis over one undici keep-alive pool
// whose timeouts are set once on the pool: no timer or AbortSignal per request.
import { errors, Redis, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';
import { Agent, request } from 'undici';
import { config } from './config.js';
import { DependencyError } from './errors.js';

/** Per HTTP request; with one retry of a failed connection a dead Redis costs about 3 s of a 10 s function. */
const REQUEST_TIMEOUT_MS = 1500;
export const REDIS_REQUEST_MAX_MS = 2 * REQUEST_TIMEOUT_MS;

const dispatcher = new Agent({
  connect: { timeout: REQUEST_TIMEOUT_MS },
  headersTimeout: REQUEST_TIMEOUT_MS,
  bodyTimeout: REQUEST_TIMEOUT_MS,
  keepAliveTimeout: 30_000,
});

/** Failures after which the command may have run: not retried. */
const MAY_HAVE_RUN = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Upstash's REST protocol: POST {url}/{path} with a JSON command (or an array of them for
 * /pipeline), `{result}` or `{error}` back. Values are our own UTF-8 text, so replies come without
 * Upstash's base64 encoding. Carries Upstash's read-your-writes token from reply to request.
 */
class UndiciRequester implements Requester {
  readYourWrites = true;
  upstashSyncToken = '';

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
    const url = [this.url.replace(/\/+$/, ''), ...(req.path ?? [])].join('/');
    const options = {
      method: 'POST' as const,
      dispatcher,
      headers: {
        authorization: `Bearer ${this.token}`,
        'content-type': 'application/json',
        'upstash-sync-token': this.upstashSyncToken,
      },
      body: JSON.stringify(req.body),
    };
    let response;
    try {
      response = await request(url, options);
    } catch (error) {
      if (MAY_HAVE_RUN.has(String((error as { code?: unknown }).code))) throw error;
      response = await request(url, options);
    }
    const text = await response.body.text();
    const body = JSON.parse(text) as UpstashResponse<TResult>;
    if (response.statusCode < 200 || response.statusCode >= 300) throw new errors.UpstashError(String(body.error));
    const syncToken = response.headers['upstash-sync-token'];
    if (typeof syncToken === 'string') this.upstashSyncToken = syncToken;
    return body;
  }
}

/** @upstash/redis on our requester, returning values as stored: "123" stays a string. */
class UpstashRedis extends Redis {
  constructor(requester: Requester) {
    super(requester);
    this.opts = { automaticDeserialization: false };
  }
}

export function upstashClient(url: string, token: string): Redis {
  return new UpstashRedis(new UndiciRequester(url, token));
}

let shared: Redis | null | undefined;

/** This process's client when Upstash is configured; null means "keep state in process memory". */
export function sharedRedis(): Redis | null {
  if (shared === undefined) {
    const { redis } = config();
    shared = redis ? upstashClient(redis.url, redis.token) : null;
  }
  return shared;
}

type Script = ReturnType<Redis['createScript']>;
const scripts = new WeakMap<Redis, Map<string, Script>>();

/**
 * Runs a script of lib/sessions/scripts.ts in one request: EVALSHA, and EVAL when Redis does not hold
 * the script yet (NOSCRIPT). Text replies are the scripts' JSON. Any failure becomes a 503 that
 * names Redis.
 */
export async function runScript<T>(redis: Redis, text: string, keys: string[], args: (string | number)[]): Promise<T> {
  let known = scripts.get(redis);
  if (!known) scripts.set(redis, (known = new Map()));
  let script = known.get(text);
  if (!script) known.set(text, (script = redis.createScript(text)));
  const reply = await redisCall(() => script.exec(keys, args.map(String)));
  return (typeof reply === 'string' ? JSON.parse(reply) : reply) as T;
}

/** Runs one Redis request; any failure becomes a 503 that names Redis. */
export async function redisCall<T>(command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw new DependencyError('redis', error);
  }
}
