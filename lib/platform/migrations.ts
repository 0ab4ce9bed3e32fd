// The schema: versioned migrations (tables, db/migrations) applied once each, in order; then the
// functions (db/functions, one per file, current body only), re-created whenever any of them
// changed. All of it under one lock, so concurrent migrators wait for each other.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { inTransaction, withDirectConnection } from './postgres.js';

const MIGRATIONS_DIR = new URL('../../db/migrations/', import.meta.url);
const FUNCTIONS_DIR = new URL('../../db/functions/', import.meta.url);
/** Any constant: the advisory lock every migrator takes. */
const MIGRATION_LOCK = 4_242_001;

type Run = Parameters<Parameters<typeof withDirectConnection>[0]>[0];

export interface Migrated {
  /** Migrations applied by this run, by file name. */
  migrations: string[];
  /** Functions (re-)created by this run, in the order they were created; empty if none changed. */
  functions: string[];
}

/** Brings the database's schema up to date. Safe to run again: a second run changes nothing. */
export async function migrate(): Promise<Migrated> {
  const [migrations, functions] = await Promise.all([readSqlFiles(MIGRATIONS_DIR), readSqlFiles(FUNCTIONS_DIR)]);
  return withDirectConnection(async (run) => {
    await run('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      return { migrations: await applyMigrations(run, migrations), functions: await replaceFunctions(run, functions) };
    } finally {
      await run('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}

async function applyMigrations(run: Run, files: Map<string, string>): Promise<string[]> {
  await run(`create table if not exists schema_migrations (
    name text primary key, applied_at timestamptz not null default now())`);
  const applied = new Set((await run<{ name: string }>('select name from schema_migrations')).map((r) => r.name));
  const pending = [...files.keys()].filter((name) => !applied.has(name));
  for (const name of pending) {
    await inTransaction(run, async () => {
      await run(files.get(name)!);
      await run('insert into schema_migrations (name) values ($1)', [name]);
    });
  }
  return pending;
}

/**
 * Drops every function of ours and creates them all from db/functions, in one transaction, when
 * the files differ from what the database last got. Dropping first lets a function change its
 * signature, and removes functions whose file is gone.
 */
async function replaceFunctions(run: Run, sqlFiles: Map<string, string>): Promise<string[]> {
  const files = new Map([...sqlFiles].map(([file, sql]) => [file.slice(0, -'.sql'.length), sql]));
  for (const [name, sql] of files) {
    if (!new RegExp(`create or replace function ${name}\\(`).test(sql)) {
      throw new Error(`db/functions/${name}.sql must define the function ${name} (create or replace function ${name}(...))`);
    }
  }
  const digest = createHash('sha256').update(JSON.stringify([...files])).digest('hex');
  await run('create table if not exists schema_functions (digest text not null)');
  const [current] = await run<{ digest: string }>('select digest from schema_functions');
  if (current?.digest === digest) return [];
  const order = dependencyOrder(files);
  await inTransaction(run, async () => {
    const ours = await run<{ signature: string }>(
      `select p.oid::regprocedure::text as signature from pg_proc p
        where p.pronamespace = current_schema()::regnamespace
          and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')`,
    );
    if (ours.length > 0) await run(`drop function ${ours.map((f) => f.signature).join(', ')}`);
    for (const name of order) await run(files.get(name)!);
    await run('delete from schema_functions');
    await run('insert into schema_functions (digest) values ($1)', [digest]);
  });
  return order;
}

/** Function names (file names without .sql), each after the functions its body calls. */
export function dependencyOrder(files: Map<string, string>): string[] {
  const names = [...files.keys()];
  const calls = (name: string) =>
    names.filter((other) => other !== name && new RegExp(`\\b${other}\\s*\\(`).test(files.get(name)!));
  const order: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new Error(`db/functions: ${name} is part of a call cycle`);
    visiting.add(name);
    for (const callee of calls(name)) visit(callee);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of names) visit(name);
  return order;
}

async function readSqlFiles(dir: URL): Promise<Map<string, string>> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const texts = await Promise.all(names.map((name) => readFile(new URL(name, dir), 'utf8')));
  return new Map(names.map((name, i) => [name, texts[i]!]));
}
