// Statements on a local PostgreSQL's (or PGlite's) maintenance database over TCP: creating and
// dropping throwaway databases for tests and benchmarks.
import pg from 'pg';

export async function runAdminStatements(postgres: { host: string; port: number }, adminUrl: string, statements: string[]) {
  const url = Object.assign(new URL(adminUrl), { hostname: postgres.host, port: String(postgres.port) });
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}
