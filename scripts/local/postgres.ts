// Throwaway databases on a real PostgreSQL, created and dropped over TCP, migrated through the Neon driver
// and the local bridge, as the test run and the benchmark need them.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { runAdminStatements } from './pg-admin.js';
import { startPgBridge } from './pg-bridge.js';

export interface PostgresAddress {
  host: string;
  port: number;
}

const run = promisify(execFile);

export async function recreateDatabase(postgres: PostgresAddress, adminUrl: string, name: string): Promise<void> {
  await runAdminStatements(postgres, adminUrl, [`drop database if exists ${name} with (force)`, `create database ${name}`]);
}

export async function dropDatabase(postgres: PostgresAddress, adminUrl: string, name: string): Promise<void> {
  await runAdminStatements(postgres, adminUrl, [`drop database if exists ${name} with (force)`]);
}

/** The real CLI, as a user runs it after deploying. */
export async function migrateDatabase(postgres: PostgresAddress, databaseUrl: string, env: Record<string, string> = {}): Promise<string> {
  const bridge = await startPgBridge(postgres);
  try {
    const { stdout } = await run('npx', ['tsx', 'scripts/migrate.ts'], {
      env: { ...process.env, DATABASE_URL: databaseUrl, NEON_WS_PROXY: bridge.address, ...env },
    });
    return stdout;
  } finally {
    await bridge.close();
  }
}

export function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => resolve(false));
  });
}
