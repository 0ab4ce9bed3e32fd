// Versioned SQL migrations from db/migrations, applied once each, in order, under a lock.
import { readdir, readFile } from 'node:fs/promises';
import { withConnection } from './db.js';

const MIGRATIONS_DIR = new URL('../db/migrations/', import.meta.url);
/** Any constant: concurrent migrators wait for each other instead of racing. */
const MIGRATION_LOCK = 4_242_001;

/** Applies pending migrations; returns the names it applied. Safe to run again. */
export async function migrate(): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).sort();
  return withConnection(async (run) => {
    await run('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await run(`create table if not exists schema_migrations (
        name text primary key, applied_at timestamptz not null default now())`);
      const applied = new Set((await run<{ name: string }>('select name from schema_migrations')).map((r) => r.name));
      const pending = files.filter((name) => !applied.has(name));
      for (const name of pending) {
        const sql = await readFile(new URL(name, MIGRATIONS_DIR), 'utf8');
        await run('begin');
        try {
          await run(sql);
          await run('insert into schema_migrations (name) values ($1)', [name]);
          await run('commit');
        } catch (error) {
          await run('rollback');
          throw error;
        }
      }
      return pending;
    } finally {
      await run('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  });
}
