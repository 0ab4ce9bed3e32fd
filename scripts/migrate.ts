// npm run db:migrate: brings DATABASE_URL's schema up to date (db/migrations, then db/functions).
import { closeDatabase } from '../lib/platform/postgres.js';
import { migrate } from '../lib/platform/migrations.js';

try {
  const { migrations, functions } = await migrate();
  if (migrations.length) console.log(`Applied migrations: ${migrations.join(', ')}`);
  if (functions.length) console.log(`Created functions: ${functions.join(', ')}`);
  if (!migrations.length && !functions.length) console.log('Database schema is up to date');
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await closeDatabase();
}
