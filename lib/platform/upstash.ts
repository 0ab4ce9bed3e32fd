// Upstash's REST protocol, tuned for short serverless functions: @upstash/redis over one undici
// keep-alive pool whose timeouts are set once on the pool (no timer or AbortSignal per request).
import { errors, Redis, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';
import { Agent, request } from 'undici';
import { REQUEST_TIMEOUT_MS, type RedisClient } from './redis-client.js';

let agent: Agent | undefined;

/** Made on first use. */
function dispatcher(): Agent {
  agent ??= new Agent({
    connect: { timeout: REQUEST_TIMEOUT_MS },
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: 30_000,
  });
  return agent;
}

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
      dispatcher: dispatcher(),
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

/** The @upstash/redis client itself (the benchmark's bare calls use it as it is). */
export function upstashClient(url: string, token: string): Redis {
  return new UpstashRedis(new UndiciRequester(url, token));
}

export function upstashRedis(url: string, token: string): RedisClient {
  const redis = upstashClient(url, token);
  return {
    evalsha: (sha, keys, args) => redis.evalsha(sha, keys, args),
    eval: (script, keys, args) => redis.eval(script, keys, args),
    get: (key) => redis.get<string>(key),
    set: async (key, value, ttlSeconds) => void (await redis.set(key, value, { ex: ttlSeconds })),
    ping: async () => void (await redis.ping()),
    // Nothing to close: the undici pool lets idle sockets go on its own.
    close: async () => {},
  };
}
