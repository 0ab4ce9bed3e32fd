// A WebSocket-to-TCP pipe in front of a local PostgreSQL (or PGlite), so the Neon driver runs
// unchanged (NEON_WS_PROXY). It counts client round trips (Sync and simple Query messages) and can
// be stopped and restarted on the same port to stage outages.
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface PgBridge {
  /** host:port, the value for NEON_WS_PROXY. */
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

export async function startPgBridge(target: { host: string; port: number }, port = 0): Promise<PgBridge> {
  let roundTrips = 0;
  let delayMs = 0;
  let server: Server;
  let wss: WebSocketServer;
  const pairs = new Set<{ ws: WebSocket; tcp: Socket }>();

  const listen = async (onPort: number) => {
    server = createServer();
    wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => {
      const tcp = connect(target.port, target.host);
      const pair = { ws, tcp };
      pairs.add(pair);
      const counter = messageCounter();
      const closeBoth = () => {
        pairs.delete(pair);
        tcp.destroy();
        ws.terminate();
      };
      tcp.setNoDelay(true);
      tcp.on('data', (data) => ws.send(data));
      tcp.on('close', closeBoth);
      tcp.on('error', closeBoth);
      ws.on('close', closeBoth);
      ws.on('error', closeBoth);
      ws.on('message', (data: Buffer) => {
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
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => resolve());
    });
  };

  await listen(port);
  const boundPort = (server!.address() as { port: number }).port;

  const stop = async () => {
    for (const { ws, tcp } of pairs) {
      tcp.destroy();
      ws.terminate();
    }
    pairs.clear();
    wss.close();
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
