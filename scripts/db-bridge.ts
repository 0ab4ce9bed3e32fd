// npm run db:bridge: the Neon driver speaks only WebSocket, a plain PostgreSQL only TCP. This runs
// the bundled WebSocket-to-TCP bridge in front of DATABASE_URL's host and port (else
// 127.0.0.1:5432) and prints the NEON_WS_PROXY value that routes the driver through it.
import { startPgBridge } from './local/pg-bridge.js';

const env = process.env;
const database = new URL(env.DATABASE_URL || 'postgres://127.0.0.1:5432');
const target = { host: database.hostname, port: Number(database.port || 5432) };
const port = Number(env.BRIDGE_PORT ?? 6543);

try {
  const bridge = await startPgBridge(target, port);
  console.log(
    [
      `Bridging WebSocket to ${target.host}:${target.port}. Keep this running, and set in the other shell:`,
      '',
      `  NEON_WS_PROXY=${bridge.address}`,
      '',
      'Ctrl-C stops it.',
    ].join('\n'),
  );
} catch (error) {
  if ((error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
  console.error(`port ${port} is in use; set BRIDGE_PORT`);
  process.exit(1);
}
