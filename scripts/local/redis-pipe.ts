// A TCP pipe in front of a real Redis, for the standard stack's tests (REDIS_URL): the client speaks
// RESP to the real server through it, one connection each. It frames the commands and their replies,
// so it counts round trips, and can stage what the Upstash gateway stages: a slow or stopped Redis,
// failing commands, a slow script, a cold script cache. Each connection's commands pass one at a
// time, so a reply it makes up itself lands in order.
import { createHash } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { UpstashGateway } from './upstash-gateway.js';

/** What a client sends to set its connection up, not a request of ours: neither counted nor delayed. */
const SETUP_COMMANDS = new Set(['hello', 'auth', 'client', 'select']);

/**
 * What the Upstash gateway stages, over TCP: `url` is redis://127.0.0.1:<port>, the value for
 * REDIS_URL, and each command counts as a request (a client round trip).
 */
export type RedisPipe = Omit<UpstashGateway, 'token' | 'observe'>;

export async function startRedisPipe(redisUrl: string): Promise<RedisPipe> {
  const target = new URL(redisUrl);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  let byCommand: Record<string, number> = {};
  let bytes = { in: 0, out: 0 };
  let delayMs = 0;
  const scriptDelays = new Map<string, number>();
  let failing = new Set<string>();
  let loadedScripts: Set<string> | null = null;
  const sockets = new Set<Socket>();
  let server: Server;
  /** Commands held by a delay: a delay lifted (set to 0) lets them go at once, as a Redis that recovers. */
  const held = new Set<() => void>();
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const go = () => {
        clearTimeout(timer);
        held.delete(go);
        resolve();
      };
      const timer = setTimeout(go, ms);
      held.add(go);
    });
  const lift = () => {
    for (const go of [...held]) go();
  };

  /** The reply made up here for this command, if any. */
  const madeUp = (name: string, args: Buffer[]): string | null => {
    if (failing.has(name)) return '-ERR staged failure\r\n';
    if (!loadedScripts) return null;
    if (name === 'eval' || name === 'eval_ro') loadedScripts.add(sha1(args[1]!.toString()));
    if ((name === 'evalsha' || name === 'evalsha_ro') && !loadedScripts.has(args[1]!.toString().toLowerCase())) {
      return '-NOSCRIPT No matching script. Please use EVAL.\r\n';
    }
    return null;
  };

  const delayOf = (name: string, args: Buffer[]): number => {
    const script = name.startsWith('eval') ? args[1]?.toString() : undefined;
    const own = script === undefined ? 0 : (scriptDelays.get(script) ?? scriptDelays.get(script.toLowerCase()) ?? 0);
    return delayMs + own;
  };

  const serve = (client: Socket) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', closeBoth);
      socket.on('close', closeBoth);
    }
    let fromClient = Buffer.alloc(0);
    let fromServer = Buffer.alloc(0);
    let awaitingReply: (() => void) | null = null;
    let busy = false;
    upstream.on('data', (chunk: Buffer) => {
      fromServer = Buffer.concat([fromServer, chunk]);
      awaitingReply?.();
    });
    const nextReply = () =>
      new Promise<Buffer>((resolve) => {
        const take = () => {
          const end = replyEnd(fromServer, 0);
          if (end < 0) return;
          awaitingReply = null;
          const reply = fromServer.subarray(0, end);
          fromServer = fromServer.subarray(end);
          resolve(reply);
        };
        awaitingReply = take;
        take();
      });
    const pump = async () => {
      if (busy) return;
      busy = true;
      for (;;) {
        const parsed = parseCommand(fromClient);
        if (!parsed) break;
        fromClient = fromClient.subarray(parsed.length);
        const name = parsed.args[0]!.toString().toLowerCase();
        const counted = !SETUP_COMMANDS.has(name);
        if (counted) byCommand[name] = (byCommand[name] ?? 0) + 1;
        const delay = counted ? delayOf(name, parsed.args) : 0;
        if (delay > 0) await hold(delay);
        if (client.destroyed) break;
        let reply: Buffer;
        const made = madeUp(name, parsed.args);
        if (made !== null) {
          reply = Buffer.from(made);
        } else {
          upstream.write(parsed.raw);
          reply = await nextReply();
        }
        if (counted) bytes = { in: bytes.in + parsed.length, out: bytes.out + reply.length };
        client.write(reply);
      }
      busy = false;
    };
    client.on('data', (chunk: Buffer) => {
      fromClient = Buffer.concat([fromClient, chunk]);
      void pump();
    });
  };

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server = createServer(serve);
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  await listen(0);
  const port = (server!.address() as { port: number }).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      server.close(() => resolve());
    });

  return {
    url: `redis://127.0.0.1:${port}`,
    counts: () => {
      const commands = Object.values(byCommand).reduce((a, b) => a + b, 0);
      return { requests: commands, commands, byCommand: { ...byCommand }, bytesIn: bytes.in, bytesOut: bytes.out };
    },
    resetCounts: () => {
      byCommand = {};
      bytes = { in: 0, out: 0 };
    },
    setDelay: (ms) => {
      delayMs = ms;
      if (ms === 0) lift();
    },
    delayScript: (script, ms) => {
      for (const form of [script, sha1(script)]) {
        if (ms > 0) scriptDelays.set(form, ms);
        else scriptDelays.delete(form);
      }
      if (ms === 0) lift();
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
      redis.disconnect();
    },
  };
}

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** One command as clients send it, an array of bulk strings; null until all of it has arrived. */
function parseCommand(buffer: Buffer): { args: Buffer[]; raw: Buffer; length: number } | null {
  if (buffer.length === 0 || buffer[0] !== 0x2a) return null;
  let at = buffer.indexOf('\r\n');
  if (at < 0) return null;
  const count = Number(buffer.subarray(1, at).toString());
  let offset = at + 2;
  const args: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    at = buffer.indexOf('\r\n', offset);
    if (at < 0) return null;
    const size = Number(buffer.subarray(offset + 1, at).toString());
    const start = at + 2;
    if (buffer.length < start + size + 2) return null;
    args.push(buffer.subarray(start, start + size));
    offset = start + size + 2;
  }
  return { args, raw: buffer.subarray(0, offset), length: offset };
}

/** Where the reply starting at `offset` ends (RESP2 and RESP3), or -1 until all of it has arrived. */
function replyEnd(buffer: Buffer, offset: number): number {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buffer[offset]!);
  const size = Number(buffer.subarray(offset + 1, lineEnd).toString());
  let end = lineEnd + 2;
  if ('$=!'.includes(type)) return size < 0 ? end : buffer.length >= end + size + 2 ? end + size + 2 : -1;
  if (!'*~>%|'.includes(type)) return end;
  const elements = size < 0 ? 0 : '%|'.includes(type) ? size * 2 : size;
  for (let i = 0; i < elements; i++) {
    end = replyEnd(buffer, end);
    if (end < 0) return -1;
  }
  return end;
}
