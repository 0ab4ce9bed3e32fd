// People and their mini program accounts, in Postgres.
import { query } from './db.js';

export interface LinkedAccount {
  appid: string;
  openid: string;
  /** ISO 8601. */
  linkedAt: string;
}

export interface LoggedInUser {
  id: string;
  unionid: string | null;
  createdAt: Date;
  /** true only on the very first login of this person, in any mini program. */
  isNew: boolean;
  /** Grows whenever accounts or unionid change: orders cached copies of this person. */
  revision: number;
  accounts: LinkedAccount[];
  /** The user this login merged into this one (a late unionid), if it did. */
  foldedUserId: string | null;
}

interface LoginRow {
  user_id: string;
  unionid: string | null;
  created_at: Date;
  is_new: boolean;
  revision: number;
  accounts: { appid: string; openid: string; linkedAt: string }[];
  folded_user_id: string | null;
}

/** Finds or creates the account and its person, merging on a late unionid, in one round trip (see record_login in db/). */
export async function recordLogin(appid: string, openid: string, unionid: string | null): Promise<LoggedInUser> {
  const [row] = await query<LoginRow>(
    'select user_id, unionid, created_at, is_new, revision, accounts, folded_user_id from record_login($1, $2, $3)',
    [appid, openid, unionid],
  );
  if (!row) throw new Error('record_login returned no row');
  return {
    id: row.user_id,
    unionid: row.unionid,
    createdAt: row.created_at,
    isNew: row.is_new,
    revision: row.revision,
    accounts: row.accounts.map((account) => ({
      appid: account.appid,
      openid: account.openid,
      linkedAt: new Date(account.linkedAt).toISOString(),
    })),
    foldedUserId: row.folded_user_id,
  };
}
