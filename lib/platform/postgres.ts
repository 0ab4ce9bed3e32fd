// The Postgres pool (Neon's driver over WebSockets) and the boundary where its failures become typed.
import { Client, neonConfig, Pool, type PoolClient, type QueryResultRow } from '@neondatabase/serverless';
import ws from 'ws';
import { ConfigError, databaseConfig } from './config.js';
import { DependencyError } from './errors.js';

const CONNECT_TIMEOUT_MS = 3000;
/** A statement's bound, once connected: what a write needs left of the request's budget. */
export const QUERY_TIMEOUT_MS = 3000;

let pool: Pool | undefined;

// Always the ws package, never Node 22's built-in WebSocket: the path the tests run is the one
// production runs, whatever the Node version.
neonConfig.webSocketConstructor = ws as unknown as typeof WebSocket;

/** Routes the driver through a plain local proxy: no TLS, no pipelined cleartext password. */
export function useWebSocketProxy(address: string): void {
  neonConfig.wsProxy = () => `${address}/`;
  neonConfig.useSecureWebSocket = false;
  neonConfig.pipelineTLS = false;
  // SCRAM servers refuse the pipelined cleartext password.
  neonConfig.pipelineConnect = false;
  // Coalescing waits a timer tick per write: worth it over the internet, pure latency on loopback.
  neonConfig.coalesceWrites = false;
}

function database(): Pool {
  if (pool) return pool;
  const { databaseUrl, databasePoolMax, neonWsProxy } = databaseConfig();
  if (neonWsProxy) useWebSocketProxy(neonWsProxy);
  pool = new Pool({
    connectionString: databaseUrl,
    max: databasePoolMax,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

/** One statement, one round trip. Connection-class failures become DependencyError (503). */
export async function query<Row extends QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
  try {
    return (await database().query<Row>(text, values)).rows;
  } catch (error) {
    throw isUnavailability(error) ? unavailable(error) : error;
  }
}

/** Runs `work` on one pooled connection of its own (for transactions). */
export async function withConnection<T>(work: (run: typeof query) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await database().connect();
  } catch (error) {
    throw unavailable(error);
  }
  try {
    return await work(runOn(client));
  } finally {
    client.release();
  }
}

/**
 * Runs `work` on a connection to the direct (unpooled) URL, DATABASE_URL_UNPOOLED: for work that
 * holds a session-level lock across statements (migrations), which a transaction-mode pooler
 * would hand to other clients between statements.
 */
export async function withDirectConnection<T>(work: (run: typeof query) => Promise<T>): Promise<T> {
  const { directDatabaseUrl, neonWsProxy } = databaseConfig();
  if (neonWsProxy) useWebSocketProxy(neonWsProxy);
  const client = new Client({ connectionString: directDatabaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    throw unavailable(error);
  }
  try {
    return await work(runOn(client));
  } finally {
    await client.end();
  }
}

function runOn(client: PoolClient | Client): typeof query {
  return async (text, values = []) => {
    try {
      return (await client.query(text, values)).rows;
    } catch (error) {
      throw isUnavailability(error) ? unavailable(error) : error;
    }
  };
}

/** Runs `work` inside BEGIN … COMMIT on `run`'s connection; any failure rolls back. */
export async function inTransaction<T>(run: typeof query, work: () => Promise<T>): Promise<T> {
  await run('begin');
  try {
    const result = await work();
    await run('commit');
    return result;
  } catch (error) {
    await run('rollback').catch(() => {});
    throw error;
  }
}

export async function closeDatabase(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.end();
}

/**
 * A failure to reach the database: DependencyError (503), unless it is the first thing a backend
 * developer tries, a plain PostgreSQL, which the driver's WebSocket can never reach. Told apart only
 * once failed: the driver's WebSocket did not open (an ErrorEvent, not an Error), no NEON_WS_PROXY
 * is set, and the host is not Neon's.
 */
function unavailable(error: unknown): DependencyError | ConfigError {
  const { databaseUrl, neonWsProxy } = databaseConfig();
  if (error instanceof Error || neonWsProxy || NEON_HOST.test(hostOf(databaseUrl))) return new DependencyError('postgres', error);
  return new ConfigError(
    'DATABASE_URL is not reachable by the Neon driver, which speaks WebSocket (wss://<host>/v2) where a plain ' +
      'PostgreSQL speaks only TCP. For a local PostgreSQL, run npm run db:bridge and set NEON_WS_PROXY to the address it prints.',
  );
}

/** Neon's hosts, directly or through Vercel Postgres: a failure there is an outage, not a misconfiguration. */
const NEON_HOST = /\.(neon\.tech|vercel-storage\.com)$/i;

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** Errors that say "not now" rather than "wrong": no SQLSTATE (network, timeout) or a transient class. */
function isUnavailability(error: unknown): boolean {
  const sqlstate = (error as { code?: unknown })?.code;
  if (typeof sqlstate !== 'string' || !/^[0-9A-Z]{5}$/.test(sqlstate)) return true;
  return /^(08|53|57|58)/.test(sqlstate) || sqlstate === '40001' || sqlstate === '40P01';
}
