// Statements on a local PostgreSQL's maintenance database through a short-lived bridge: creating
// and dropping throwaway databases for tests and benchmarks.
import { Client } from '@neondatabase/serverless';
import { useWebSocketProxy } from '../../lib/platform/postgres.js';
import { startPgBridge } from './pg-bridge.js';

export async function runAdminStatements(postgres: { host: string; port: number }, adminUrl: string, statements: string[]) {
  const bridge = await startPgBridge(postgres);
  useWebSocketProxy(bridge.address);
  const client = new Client(adminUrl);
  try {
    await client.connect();
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
    await bridge.close();
  }
}
