// Upstash's REST protocol over a real Redis, so the real @upstash/redis client runs in tests:
// POST / (one command), /pipeline and /multi-exec (arrays of commands), Bearer auth,
// `Upstash-Encoding: base64` replies, {error} bodies. Counts round trips and the bytes they carry;
// can stage outages and a cold script cache.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Redis } from 'ioredis';

type Command = [string, ...(string | number)[]];
type Entry = { result: unknown } | { error: string };

/** One HTTP request and its reply. Times are this process's performance.now(). */
export interface Exchange {
  /** Lowercase command names: one for `/`, several for /pipeline and /multi-exec. */
  commands: string[];
  /** Answered NOSCRIPT: Redis lacked the script, and the client sends it again in full. */
  noscript: boolean;
  arrivedAt: number;
  answeredAt: number;
  /** On the wire: request line, headers and body; status line, headers and body. */
  bytesIn: number;
  bytesOut: number;
}

export interface UpstashGateway {
  url: string;
  token: string;
  /** HTTP requests (client round trips), Redis commands and wire bytes each way since the last reset. */
  counts(): { requests: number; commands: number; byCommand: Record<string, number>; bytesIn: number; bytesOut: number };
  resetCounts(): void;
  /** Hands every answered request to `listener` until called with null. */
  observe(listener: ((exchange: Exchange) => void) | null): void;
  setDelay(ms: number): void;
  /** Holds requests that run this script (by EVAL or EVALSHA) this long; 0 stops. */
  delayScript(script: string, ms: number): void;
  /** Answers these commands (lowercase names) with an error until cleared with []. */
  failCommands(names: string[]): void;
  /**
   * From now on answers EVALSHA with NOSCRIPT until the script has come through EVAL, as a Redis
   * whose script cache was flushed does (the real Redis's cache is shared with every other run).
   */
  forgetScripts(): void;
  /** Drops every connection and refuses new ones until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Direct access to the Redis behind the gateway, for assertions. */
  redis: Redis;
  close(): Promise<void>;
}

export async function startUpstashGateway(redisUrl: string, token = 'test-token'): Promise<UpstashGateway> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  const idle: Redis[] = [];
  let requests = 0;
  let byCommand: Record<string, number> = {};
  let bytes = { in: 0, out: 0 };
  let observer: ((exchange: Exchange) => void) | null = null;
  /** Bytes each connection had carried at its previous answer: the difference is one exchange. */
  const carried = new WeakMap<Socket, { read: number; written: number }>();
  let delayMs = 0;
  const scriptDelays = new Map<string, number>();
  let failing = new Set<string>();
  /** Digests sent with EVAL since forgetScripts(); null: Redis's own script cache decides. */
  let loadedScripts: Set<string> | null = null;
  // Upstash accepts Lua shebang flags that Redis 7.0 rejects; scripts run with the first line
  // reduced to `#!lua`, and EVALSHA of the original digest reaches the rewritten script.
  const scriptDigests = new Map<string, string>();
  let server: Server;
  const sockets = new Set<Socket>();

  /** What handle() learns about an exchange before it is settled. */
  type Seen = Pick<Exchange, 'commands' | 'noscript'>;

  const count = (commands: Command[], seen: Seen) => {
    for (const [name] of commands) {
      const key = String(name).toLowerCase();
      byCommand[key] = (byCommand[key] ?? 0) + 1;
      seen.commands.push(key);
    }
  };

  const settle = (socket: Socket, { commands, noscript }: Seen, arrivedAt: number) => {
    const before = carried.get(socket) ?? { read: 0, written: 0 };
    const now = { read: socket.bytesRead, written: socket.bytesWritten };
    carried.set(socket, now);
    const bytesIn = now.read - before.read;
    const bytesOut = now.written - before.written;
    bytes = { in: bytes.in + bytesIn, out: bytes.out + bytesOut };
    observer?.({ commands, noscript, arrivedAt, answeredAt: performance.now(), bytesIn, bytesOut });
  };

  /** NOSCRIPT for a digest Redis would have forgotten; remembers the ones sent with EVAL. */
  const coldScriptCache = ([name, script]: Command): Entry | null => {
    const command = String(name).toLowerCase();
    if (!loadedScripts || typeof script !== 'string') return null;
    if (command === 'eval' || command === 'eval_ro') loadedScripts.add(sha1(script));
    if ((command === 'evalsha' || command === 'evalsha_ro') && !loadedScripts.has(script.toLowerCase())) {
      return { error: 'NOSCRIPT No matching script. Please use EVAL.' };
    }
    return null;
  };

  const asUpstash = ([name, ...args]: Command): Command => {
    const command = String(name).toLowerCase();
    if ((command === 'eval' || command === 'eval_ro') && typeof args[0] === 'string') {
      const script = args[0].replace(/^#!lua[^\n]*/, '#!lua');
      if (script !== args[0]) scriptDigests.set(sha1(args[0]), sha1(script));
      return [name, script, ...args.slice(1)];
    }
    if ((command === 'evalsha' || command === 'evalsha_ro') && typeof args[0] === 'string') {
      return [name, scriptDigests.get(args[0].toLowerCase()) ?? args[0], ...args.slice(1)];
    }
    return [name, ...args];
  };

  const run = async (client: Redis, command: Command): Promise<Entry> => {
    const cold = coldScriptCache(command);
    if (cold) return cold;
    const [name, ...args] = asUpstash(command);
    if (failing.has(String(name).toLowerCase())) return { error: `ERR injected failure of ${name}` };
    try {
      return { result: await client.callBuffer(String(name), args.map(String)) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };

  // MULTI/EXEC needs a connection of its own: other requests' commands must not land inside it.
  const multiExec = async (commands: Command[]): Promise<{ status: number; body: unknown }> => {
    const client = idle.pop() ?? redis.duplicate();
    try {
      await client.callBuffer('MULTI', []);
      for (const command of commands) {
        const queued = await run(client, command);
        if ('error' in queued) {
          await client.callBuffer('DISCARD', []);
          return { status: 400, body: { error: queued.error } };
        }
      }
      const replies = (await client.callBuffer('EXEC', [])) as unknown[];
      return {
        status: 200,
        body: replies.map((reply): Entry => (reply instanceof Error ? { error: reply.message } : { result: reply })),
      };
    } finally {
      idle.push(client);
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse, seen: Seen) => {
    const reply = (status: number, body: unknown) => {
      const entries: { error?: unknown }[] = Array.isArray(body) ? body : [body];
      seen.noscript = entries.some((entry) => String(entry.error).startsWith('NOSCRIPT'));
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    requests += 1;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (request.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'Unauthorized' });
    if (request.method !== 'POST') return reply(405, { error: 'Method not allowed' });
    const base64 = String(request.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return reply(400, { error: 'ERR failed to parse command' });
    }
    const path = new URL(request.url ?? '/', 'http://gateway').pathname;
    const held = Math.max(0, ...(Array.isArray(body) ? body : []).flat().map((part) => scriptDelays.get(String(part)) ?? 0));
    if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
    const encodeEntry = (entry: Entry): Entry => ('error' in entry ? entry : { result: encode(entry.result, base64) });

    if (path === '/') {
      if (!isCommand(body)) return reply(400, { error: 'ERR failed to parse command' });
      count([body], seen);
      const entry = await run(redis, body);
      return 'error' in entry ? reply(400, entry) : reply(200, encodeEntry(entry));
    }
    if (path !== '/pipeline' && path !== '/multi-exec') return reply(404, { error: 'Not found' });
    if (!Array.isArray(body) || !body.every(isCommand)) return reply(400, { error: 'ERR failed to parse pipeline' });
    const commands = body as Command[];
    count(commands, seen);
    if (path === '/pipeline') {
      // Sent together, answered in order: one round trip to Redis as on Upstash.
      return reply(200, (await Promise.all(commands.map((command) => run(redis, command)))).map(encodeEntry));
    }
    const { status, body: result } = await multiExec(commands);
    return reply(status, Array.isArray(result) ? result.map(encodeEntry) : result);
  };

  const listen = async (port: number) => {
    server = createServer((request, response) => {
      const arrivedAt = performance.now();
      const seen: Seen = { commands: [], noscript: false };
      response.once('finish', () => settle(request.socket, seen, arrivedAt));
      handle(request, response, seen).catch((error: Error) => {
        if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ error: error.message }));
      });
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  };
  await listen(0);
  const port = (server!.address() as { port: number }).port;

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    counts: () => ({
      requests,
      commands: Object.values(byCommand).reduce((a, b) => a + b, 0),
      byCommand: { ...byCommand },
      bytesIn: bytes.in,
      bytesOut: bytes.out,
    }),
    resetCounts: () => {
      requests = 0;
      byCommand = {};
      bytes = { in: 0, out: 0 };
    },
    observe: (listener) => {
      observer = listener;
    },
    delayScript: (script, ms) => {
      for (const form of [script, sha1(script)]) {
        if (ms > 0) scriptDelays.set(form, ms);
        else scriptDelays.delete(form);
      }
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    failCommands: (names) => {
      failing = new Set(names);
    },
    forgetScripts: () => {
      loadedScripts = new Set();
    },
    stop,
    start: () => listen(port),
    redis,
    close: async () => {
      await stop();
      for (const client of [redis, ...idle]) client.disconnect();
    },
  };
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function isCommand(value: unknown): value is Command {
  return (
    Array.isArray(value) &&
    typeof value[0] === 'string' &&
    value.every((part) => typeof part === 'string' || typeof part === 'number')
  );
}

/** Upstash's base64 encoding: bulk strings as base64 ("OK" stays plain), numbers and nil as JSON. */
function encode(value: unknown, base64: boolean): unknown {
  if (Buffer.isBuffer(value)) {
    const text = value.toString('utf8');
    return !base64 || text === 'OK' ? text : value.toString('base64');
  }
  if (Array.isArray(value)) return value.map((element) => encode(element, base64));
  return value;
}
