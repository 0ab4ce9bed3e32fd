// The parent's handle on backend-process.ts: start it, set its latencies, record what one request
// sends to each backend.
import { fork } from 'node:child_process';
import type { WechatExchange } from '../local/fake-wechat.js';
import type { PostgresAddress } from '../local/postgres.js';
import type { Exchange } from '../local/upstash-gateway.js';

export interface BackendOptions {
  appid: string;
  secret: string;
  redisUrl: string;
  postgres: PostgresAddress;
}

/** Every request that reached WeChat and Upstash between 'begin' and 'end', and the Postgres round trips. */
export interface Traffic {
  wechat: WechatExchange[];
  redis: Exchange[];
  postgres: number;
  /** Commands through the Redis TCP pipe (the standard stack). */
  redisCommands: number;
}

export type BackendCommand =
  /** 'begin' starts recording Traffic, 'end' stops and returns it. */
  | { op: 'begin' | 'end' | 'forgetScripts' | 'close' }
  /** Added to every WeChat call, and to every Postgres and Redis round trip (bridge and gateway). */
  | { op: 'latency'; wechatMs: number; backendMs: number };
export type BackendRequest = BackendCommand & { id: number };
export type BackendReply = {
  id: number;
  traffic?: Traffic;
  ready?: { wechatUrl: string; gatewayUrl: string; gatewayToken: string; bridgeAddress: string; redisPipeUrl: string; pgPipeAddress: string };
};

export async function startBackends(options: BackendOptions) {
  const child = fork(new URL('./backend-process.ts', import.meta.url).pathname, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map<number, (reply: BackendReply) => void>();
  let nextId = 1;
  const ready = new Promise<NonNullable<BackendReply['ready']>>((resolve, reject) => {
    pending.set(0, (reply) => resolve(reply.ready!));
    child.once('exit', (code) => reject(new Error(`the backend process exited early (code ${code})`)));
  });
  child.on('message', (reply: BackendReply) => {
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  const ask = (command: BackendCommand) =>
    new Promise<BackendReply>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ ...command, id } satisfies BackendRequest);
    });

  return {
    ...(await ready),
    async setLatency(wechatMs: number, backendMs: number): Promise<void> {
      await ask({ op: 'latency', wechatMs, backendMs });
    },
    /** What `work` sent to the backends. */
    async record(work: () => Promise<unknown>): Promise<Traffic> {
      await ask({ op: 'begin' });
      await work();
      return (await ask({ op: 'end' })).traffic!;
    },
    /** The gateway answers NOSCRIPT from now on until each script is sent again in full. */
    async forgetScripts(): Promise<void> {
      await ask({ op: 'forgetScripts' });
    },
    async close(): Promise<void> {
      await ask({ op: 'close' });
      child.disconnect();
    },
  };
}

export type Backends = Awaited<ReturnType<typeof startBackends>>;
