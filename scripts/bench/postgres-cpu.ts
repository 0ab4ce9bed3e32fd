// The Postgres server's own CPU time per call, for the scale model: summed over the backends that
// serve this database, from /proc/<pid>/schedstat (nanoseconds on CPU). Measurable only where the
// server runs on this machine; elsewhere null.
import { readFile } from 'node:fs/promises';
import { Client } from '@neondatabase/serverless';

/** Milliseconds of server CPU per call of `work` (which must use connections already open). */
export async function serverCpuMs(databaseUrl: string, work: () => Promise<unknown>, calls: number): Promise<number | null> {
  const client = new Client(databaseUrl);
  await client.connect();
  try {
    await work();
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
    );
    const pids = rows.map((row) => row.pid);
    const before = await cpuNs(pids);
    if (before === null) return null;
    for (let i = 0; i < calls; i++) await work();
    const after = await cpuNs(pids);
    return after === null ? null : (after - before) / 1e6 / calls;
  } finally {
    await client.end();
  }
}

/** Total CPU nanoseconds of these Postgres processes; null if any is not a local Postgres process. */
async function cpuNs(pids: number[]): Promise<number | null> {
  let total = 0;
  for (const pid of pids) {
    try {
      if ((await readFile(`/proc/${pid}/comm`, 'utf8')).trim() !== 'postgres') return null;
      total += Number((await readFile(`/proc/${pid}/schedstat`, 'utf8')).split(' ')[0]);
    } catch {
      return null;
    }
  }
  return total;
}
