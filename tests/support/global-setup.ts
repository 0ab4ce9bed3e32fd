// Once per test run: check the real services, create a fresh test database and migrate it, and
// read docs/openapi.yaml for every file's contract checker.
// Redis is required. PostgreSQL is required in CI; elsewhere PGlite stands in when none answers.
import { readFileSync } from 'node:fs';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startPglite, type EmbeddedPostgres } from '../../scripts/local/pglite.js';
import { dropDatabase, migrateDatabase, reachable, recreateDatabase } from '../../scripts/local/postgres.js';
import { parse } from 'yaml';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    postgres: { host: string; port: number };
    databaseUrl: string;
    /** docs/openapi.yaml, parsed. */
    openapi: Record<string, unknown>;
  }
}

// One database per run, so several checkouts can test at once on one server.
const TEST_DATABASE = `wxlogin_test_${process.pid}`;

export default async function setup(project: TestProject) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = new URL(redisUrl);
  if (!(await reachable(redis.hostname, Number(redis.port || 6379)))) {
    throw new Error(`Redis is required for the tests and does not answer at ${redis.host} (set REDIS_URL).`);
  }

  const host = process.env.PGHOST ?? '127.0.0.1';
  const port = Number(process.env.PGPORT ?? 5432);
  const user = process.env.PGUSER ?? 'postgres';
  let postgres: { host: string; port: number };
  let databaseUrl: string;
  let embedded: EmbeddedPostgres | undefined;

  if (await reachable(host, port)) {
    postgres = { host, port };
    databaseUrl = `postgres://${user}@${host}:${port}/${TEST_DATABASE}`;
    await recreateDatabase(postgres, `postgres://${user}@${host}:${port}/postgres`, TEST_DATABASE);
  } else if (process.env.CI === 'true') {
    throw new Error(`PostgreSQL is required in CI and does not answer at ${host}:${port}.`);
  } else {
    console.warn(`No PostgreSQL at ${host}:${port}: the tests run against PGlite instead.`);
    embedded = await startPglite();
    postgres = { host: embedded.host, port: embedded.port };
    databaseUrl = 'postgres://postgres@localhost/postgres';
  }
  await migrateDatabase(postgres, databaseUrl);

  project.provide('redisUrl', redisUrl);
  project.provide('postgres', postgres);
  project.provide('databaseUrl', databaseUrl);
  // Parsed once here rather than in each test file's process: YAML parsing is the slow part.
  project.provide('openapi', parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8')) as Record<string, unknown>);
  return async () => {
    if (embedded) await embedded.close();
    else await dropDatabase(postgres, `postgres://${user}@${host}:${port}/postgres`, TEST_DATABASE);
  };
}
