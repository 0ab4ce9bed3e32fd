// The Postgres pool and the boundary where its failures become typed. Two drivers behind one path:
// Neon's over WebSockets (Neon, from serverless functions) and node-postgres over TCP (any other
// PostgreSQL); Neon's Pool and Client are drop-ins of pg's. Only the configured one is loaded.
import type { Client, Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import { ConfigError, databaseConfig, isNeonUrl } from './config.js';
import { DependencyError } from './errors.js';

const CONNECT_TIMEOUT_MS = 3000;
/** A statement's bound, once connected: what a write needs left of the request's budget. */
export const QUERY_TIMEOUT_MS = 3000;

interface Driver {
  Pool: new (config: PoolConfig) => Pool;
  Client: new (config: PoolConfig) => Client;
}

let driver: Promise<Driver> | undefined;
let pool: Promise<Pool> | undefined;

function loadDriver(): Promise<Driver> {
  driver ??= databaseConfig().databaseDriver === 'pg' ? import('pg').then(({ default: pg }) => pg) : neonDriver();
  return driver;
}

async function neonDriver(): Promise<Driver> {
  const [{ Client, neonConfig, Pool }, { default: ws }] = await Promise.all([import('@neondatabase/serverless'), import('ws')]);
  // Always the ws package, never Node 22's built-in WebSocket: the path the tests run is the one
  // production runs, whatever the Node version.
  neonConfig.webSocketConstructor = ws as unknown as typeof WebSocket;
  const { neonWsProxy } = databaseConfig();
  if (neonWsProxy) {
    // A plain local proxy: no TLS, no pipelined cleartext password (SCRAM servers refuse it).
    neonConfig.wsProxy = () => `${neonWsProxy}/`;
    neonConfig.useSecureWebSocket = false;
    neonConfig.pipelineTLS = false;
    neonConfig.pipelineConnect = false;
    // Coalescing waits a timer tick per write: worth it over the internet, pure latency on loopback.
    neonConfig.coalesceWrites = false;
  }
  return { Pool, Client } as unknown as Driver;
}

function database(): Promise<Pool> {
  pool ??= loadDriver().then(({ Pool }) => {
    const { databaseUrl, databasePoolMax } = databaseConfig();
    const created = new Pool({
      connectionString: databaseUrl,
      max: databasePoolMax,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
    });
    // An idle connection dropped by the server must not crash the process; the pool replaces it.
    created.on('error', () => {});
    return created;
  });
  return pool;
}

/** One statement, one round trip. Connection-class failures become DependencyError (503). */
export async function query<Row extends QueryResultRow>(text: string, values: unknown[] = []): Promise<Row[]> {
  try {
    return (await (await database()).query<Row>(text, values)).rows;
  } catch (error) {
    throw isUnavailability(error) ? unavailable(error) : error;
  }
}

/** Runs `work` on one pooled connection of its own (for transactions). */
export async function withConnection<T>(work: (run: typeof query) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await (await database()).connect();
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
  const { Client } = await loadDriver();
  const client = new Client({ connectionString: databaseConfig().directDatabaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
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
  await (await closing)?.end();
}

/**
 * A failure to reach the database: DependencyError (503), unless Neon's driver was chosen for a
 * plain PostgreSQL (DATABASE_DRIVER=neon without NEON_WS_PROXY), whose WebSocket can never reach it.
 * Told apart only once failed: the WebSocket did not open (an ErrorEvent, not an Error).
 */
function unavailable(error: unknown): DependencyError | ConfigError {
  const { databaseUrl, databaseDriver, neonWsProxy } = databaseConfig();
  if (error instanceof Error || databaseDriver === 'pg' || neonWsProxy || isNeonUrl(databaseUrl)) return new DependencyError('postgres', error);
  return new ConfigError(
    'DATABASE_URL is not reachable by the Neon driver, which speaks WebSocket (wss://<host>/v2) where a plain ' +
      'PostgreSQL speaks only TCP. Leave DATABASE_DRIVER unset (or pg) to connect over TCP.',
  );
}

/** Errors that say "not now" rather than "wrong": no SQLSTATE (network, timeout) or a transient class. */
function isUnavailability(error: unknown): boolean {
  const sqlstate = (error as { code?: unknown })?.code;
  if (typeof sqlstate !== 'string' || !/^[0-9A-Z]{5}$/.test(sqlstate)) return true;
  return /^(08|53|57|58)/.test(sqlstate) || sqlstate === '40001' || sqlstate === '40P01';
}
