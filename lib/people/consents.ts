// Consent records: which version of which document (the 隐私保护指引, the 用户协议, others the
// deployment names) a person agreed to in which mini program, when, and when they withdrew it.
// Recorded per account (the session's appid + openid), so a merge carries them and a deletion takes
// them; each agreement and withdrawal is also an audit event.
import { unauthorized } from '../platform/errors.js';
import { query } from '../platform/postgres.js';

export interface Consent {
  document: string;
  version: string;
  /** The mini program it was given in. */
  appid: string;
  agreedAt: string;
  /** null while in force. */
  withdrawnAt: string | null;
}

interface ConsentRow {
  document: string;
  version: string;
  appid: string;
  agreed_at: Date;
  withdrawn_at: Date | null;
}

export interface Account {
  appid: string;
  openid: string;
}

/**
 * Records the account's agreement to this version of the document; agreeing again to a version in
 * force finds the same record (`created` false). 401 when the account is gone (deleted meanwhile).
 */
export async function recordConsent({ appid, openid }: Account, document: string, version: string): Promise<{ consent: Consent; created: boolean }> {
  const [row] = await query<ConsentRow & { created: boolean }>(
    'select document, version, appid, agreed_at, withdrawn_at, created from record_consent($1, $2, $3, $4)',
    [appid, openid, document, version],
  );
  if (!row) throw unauthorized('The token is unknown, expired or revoked');
  return { consent: consentOf(row), created: row.created };
}

/** Withdraws the account's agreement to the document (every version in force), if it gave one. */
export async function withdrawConsent({ appid, openid }: Account, document: string): Promise<void> {
  await query('select withdraw_consent($1, $2, $3)', [appid, openid, document]);
}

/** Every consent of the person, in every mini program, oldest first. */
export async function listConsents(personId: string): Promise<Consent[]> {
  const rows = await query<ConsentRow>(
    `select c.document, c.version, c.appid, c.agreed_at, c.withdrawn_at
       from consents c join accounts a on a.appid = c.appid and a.openid = c.openid
      where a.person_id = $1 order by c.agreed_at, c.id`,
    [personId],
  );
  return rows.map(consentOf);
}

function consentOf(row: ConsentRow): Consent {
  return {
    document: row.document,
    version: row.version,
    appid: row.appid,
    agreedAt: row.agreed_at.toISOString(),
    withdrawnAt: row.withdrawn_at?.toISOString() ?? null,
  };
}
