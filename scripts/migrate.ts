// npm run db:migrate: applies db/migrations to DATABASE_URL.
import { closeDatabase } from '../lib/db.js';
import { migrate } from '../lib/migrations.js';

try {
  const applied = await migrate();
  console.log(applied.length ? `Applied ${applied.join(', ')}` : 'Database schema is up to date');
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await closeDatabase();
}
