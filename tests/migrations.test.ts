// The migrator against a real PostgreSQL database of this file's own: tables by versioned
// migrations, functions re-created from db/functions only when they changed, in call order.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrateDatabase } from '../scripts/local/postgres.js';
import { query } from '../lib/platform/postgres.js';
import { dependencyOrder, migrate } from '../lib/platform/migrations.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ isolated: true });
});
afterAll(() => stack.close());

const FUNCTIONS_DIR = new URL('../db/functions/', import.meta.url);
const functionFiles = new Map(
  readdirSync(FUNCTIONS_DIR).map((file) => [file.replace(/\.sql$/, ''), readFileSync(new URL(file, FUNCTIONS_DIR), 'utf8')]),
);

it('a second run changes nothing', async () => {
  expect(await migrate()).toEqual({ migrations: [], functions: [] });
});

it('creates every function after the functions it calls', () => {
  const order = dependencyOrder(functionFiles);
  expect(new Set(order)).toEqual(new Set(functionFiles.keys()));
  const before = (callee: string, caller: string) => expect(order.indexOf(callee)).toBeLessThan(order.indexOf(caller));
  before('merge_people', 'record_login');
  before('move_phone_on_merge', 'merge_people');
  before('person_facts', 'record_login');
  before('live_person', 'claim_benefit');
  before('live_person', 'assign_phone');
});

it('refuses a call cycle', () => {
  expect(() => dependencyOrder(new Map([['a', 'select b()'], ['b', 'select a()']]))).toThrow(/cycle/);
});

it('re-creates the functions when they changed, and drops the ones whose file is gone', async () => {
  await query(`create function obsolete_rule() returns int language sql as 'select 1'`);
  await query(`update schema_functions set digest = 'an older set of files'`);
  const { migrations, functions } = await migrate();
  expect(migrations).toEqual([]);
  expect(new Set(functions)).toEqual(new Set(functionFiles.keys()));
  const names = await query<{ proname: string }>(
    `select proname from pg_proc where pronamespace = current_schema()::regnamespace order by proname`,
  );
  expect(names.map((row) => row.proname)).toEqual([...functionFiles.keys()].sort());
  // And the re-created functions work: a login goes through record_login, merge_people and person_facts.
  expect((await stack.login(stack.person())).status).toBe(200);
});

describe('DATABASE_URL at a plain PostgreSQL', () => {
  /** An npm script with this file's database and `env`; its exit code and output. */
  async function npmRun(script: string, env: Record<string, string>) {
    try {
      const { stdout, stderr } = await promisify(execFile)('npm', ['run', '--silent', script], {
        env: { ...process.env, DATABASE_URL: process.env.DATABASE_URL, ...env },
      });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, output: stdout + stderr };
    }
  }

  it('npm run db:migrate at a plain PostgreSQL, no bridge: node-postgres over TCP', async () => {
    const { code, output } = await npmRun('db:migrate', { NEON_WS_PROXY: '' });
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'Database schema is up to date' });
  });

  it('DATABASE_DRIVER=neon at a plain PostgreSQL without NEON_WS_PROXY: says the Neon driver speaks WebSocket, and what to set', async () => {
    const { code, output } = await npmRun('db:migrate', { NEON_WS_PROXY: '', DATABASE_DRIVER: 'neon' });
    expect(code).toBe(1);
    expect(output).toMatch(/WebSocket/);
    expect(output).toContain('DATABASE_DRIVER');
    expect(output).not.toContain(process.env.DATABASE_URL);
  });

  it('npm run db:bridge prints the NEON_WS_PROXY that makes it work', async () => {
    const bridge = spawn('npm', ['run', '--silent', 'db:bridge'], {
      env: { ...process.env, BRIDGE_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let printed = '';
        bridge.stdout!.on('data', (chunk) => {
          printed += chunk;
          const match = /NEON_WS_PROXY=(\S+)/.exec(printed);
          if (match) resolve(match[1]!);
        });
        bridge.once('close', () => reject(new Error(`db:bridge exited: ${printed}`)));
      });
      const { code, output } = await npmRun('db:migrate', { NEON_WS_PROXY: address });
      expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'Database schema is up to date' });
    } finally {
      if (bridge.exitCode === null) process.kill(-bridge.pid!, 'SIGTERM');
    }
  });
});

it('the CLI migrates through DATABASE_URL_UNPOOLED when set (the pooled URL would break its lock)', async () => {
  const direct = inject('databaseUrl');
  const pooled = Object.assign(new URL(direct), { pathname: '/no_such_database_here' }).toString();
  const output = await migrateDatabase(inject('postgres'), pooled, { DATABASE_URL_UNPOOLED: direct });
  expect(output).toContain('Database schema is up to date');
});
