// A WebSocket-to-TCP pipe in front of a local PostgreSQL (or PGlite), so the Neon driver runs
// unchanged (NEON_WS_PROXY); or, for node-postgres (the standard stack), a TCP-to-TCP one. It counts
// client round trips (Sync and simple Query messages) and can be stopped and restarted on the same
// port to stage outages.
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';

export interface PgBridge {
  /** host:port: the value for NEON_WS_PROXY, or the host and port of DATABASE_URL over TCP. */
  readonly address: string;
  /** Round trips since the last reset: one per Sync or simple Query the clients sent. */
  roundTrips(): number;
  resetCounts(): void;
  /** Drops every connection and refuses new ones until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Holds every client message this long before forwarding it. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/** The client's end of one connection, whichever transport carries it. */
interface ClientEnd {
  send(data: Buffer): void;
  terminate(): void;
  on(event: 'close' | 'error', listener: () => void): unknown;
}

export async function startPgBridge(
  target: { host: string; port: number },
  port = 0,
  transport: 'websocket' | 'tcp' = 'websocket',
): Promise<PgBridge> {
  let roundTrips = 0;
  let delayMs = 0;
  let server: Server | ReturnType<typeof createTcpServer>;
  let wss: WebSocketServer | undefined;
  const pairs = new Set<{ client: ClientEnd; tcp: Socket }>();

  /** Forwards what the client sends after the delay, counting round trips; closes both ends together. */
  const pipe = (client: ClientEnd, onMessage: (listener: (data: Buffer) => void) => void) => {
    const tcp = connect(target.port, target.host);
    const pair = { client, tcp };
    pairs.add(pair);
    const counter = messageCounter();
    const closeBoth = () => {
      pairs.delete(pair);
      tcp.destroy();
      client.terminate();
    };
    tcp.setNoDelay(true);
    tcp.on('data', (data) => client.send(data));
    tcp.on('close', closeBoth);
    tcp.on('error', closeBoth);
    client.on('close', closeBoth);
    client.on('error', closeBoth);
    onMessage((data) => {
      const { syncs, terminated } = counter(data);
      roundTrips += syncs;
      const forward = () => {
        if (tcp.destroyed) return;
        tcp.write(data);
        // PGlite's socket server never closes after Terminate; the driver waits for that close.
        if (terminated) tcp.end();
      };
      if (delayMs > 0) setTimeout(forward, delayMs);
      else forward();
    });
  };

  const listen = async (onPort: number) => {
    if (transport === 'tcp') {
      server = createTcpServer((socket) => {
        socket.setNoDelay(true);
        const client: ClientEnd = { send: (data) => socket.write(data), terminate: () => socket.destroy(), on: (event, listener) => socket.on(event, listener) };
        pipe(client, (listener) => socket.on('data', listener));
      });
    } else {
      const http = createServer();
      server = http;
      wss = new WebSocketServer({ server: http });
      wss.on('connection', (ws) => pipe(ws, (listener) => ws.on('message', listener)));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => resolve());
    });
  };

  await listen(port);
  const boundPort = (server!.address() as { port: number }).port;

  const stop = async () => {
    for (const { client, tcp } of pairs) {
      tcp.destroy();
      client.terminate();
    }
    pairs.clear();
    wss?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    address: `127.0.0.1:${boundPort}`,
    roundTrips: () => roundTrips,
    resetCounts: () => {
      roundTrips = 0;
    },
    stop,
    start: () => listen(boundPort),
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: stop,
  };
}

/**
 * Frames the client→server byte stream into Postgres messages. The first message (startup or
 * SSL request) has no type byte; every later one is type(1) + length(4, including itself).
 */
function messageCounter() {
  let pending = Buffer.alloc(0);
  let started = false;
  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    let syncs = 0;
    let terminated = false;
    for (;;) {
      if (!started) {
        if (pending.length < 4) break;
        const length = pending.readInt32BE(0);
        if (pending.length < length) break;
        // An SSL request (80877103) is followed by the real startup message, also untyped.
        started = pending.readInt32BE(4) !== 80877103;
        pending = pending.subarray(length);
        continue;
      }
      if (pending.length < 5) break;
      const length = pending.readInt32BE(1) + 1;
      if (pending.length < length) break;
      const type = String.fromCharCode(pending[0]!);
      if (type === 'S' || type === 'Q') syncs += 1;
      if (type === 'X') terminated = true;
      pending = pending.subarray(length);
    }
    return { syncs, terminated };
  };
}
