// People and their mini program accounts, in Postgres.
import { query } from './db.js';

export interface LoggedInUser {
  id: string;
  unionid: string | null;
  createdAt: Date;
  /** true only on the very first login of this person, in any mini program. */
  isNew: boolean;
}

/** Finds or creates the account and its person, in one round trip (see record_login in db/). */
export async function recordLogin(appid: string, openid: string, unionid: string | null): Promise<LoggedInUser> {
  const [row] = await query<{ user_id: string; unionid: string | null; created_at: Date; is_new: boolean }>(
    'select user_id, unionid, created_at, is_new from record_login($1, $2, $3)',
    [appid, openid, unionid],
  );
  if (!row) throw new Error('record_login returned no row');
  return { id: row.user_id, unionid: row.unionid, createdAt: row.created_at, isNew: row.is_new };
}
