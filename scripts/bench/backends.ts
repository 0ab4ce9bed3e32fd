// The parent's handle on backend-process.ts: start it, read and reset its round-trip counters.
import { fork } from 'node:child_process';
import type { PostgresAddress } from '../local/postgres.js';

export interface BackendOptions {
  appid: string;
  secret: string;
  redisUrl: string;
  postgres: PostgresAddress;
}

export interface RoundTrips {
  wechat: number;
  postgres: number;
  redis: number;
}

export type BackendCommand =
  | { op: 'counts' | 'reset' | 'close' }
  /** Added to every WeChat call, and to every Postgres and Redis round trip (bridge and gateway). */
  | { op: 'latency'; wechatMs: number; backendMs: number };
export type BackendRequest = BackendCommand & { id: number };
export type BackendReply = {
  id: number;
  counts?: RoundTrips;
  ready?: { wechatUrl: string; gatewayUrl: string; gatewayToken: string; bridgeAddress: string };
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
    async counts(): Promise<RoundTrips> {
      return (await ask({ op: 'counts' })).counts!;
    },
    async reset(): Promise<void> {
      await ask({ op: 'reset' });
    },
    async close(): Promise<void> {
      await ask({ op: 'close' });
      child.disconnect();
    },
  };
}

export type Backends = Awaited<ReturnType<typeof startBackends>>;

