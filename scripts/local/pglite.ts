// PGlite (real Postgres compiled to WASM) served on a local TCP port: the embedded default database.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  host: string;
  port: number;
  close(): Promise<void>;
}

/** `dataDir` persists the database; undefined keeps it in memory. */
export async function startPglite(dataDir?: string): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(dataDir);
  // Queries from several connections are queued one at a time, as PGlite is single-session.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const port = Number(new URL(`postgres://${server.getServerConn()}`).port);
  return {
    host: '127.0.0.1',
    port,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
