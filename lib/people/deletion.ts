// Account deletion (注销): every session ends, the accounts, unionid, phone and profile are removed,
// the person row is anonymized, and Redis forgets them (card, risk rank). Kept on purpose, to stop
// abuse: a keyed hash of each identity of the person per benefit they had claimed (erased_claims),
// so deleting the account and signing up again never grants a once-per-person benefit twice; and
// each identity's first sight (identity_first_seen), so it makes no one new either.
import { inTransaction, withConnection } from '../platform/postgres.js';
import { identityHash, identityHashKeyHex } from '../platform/sealing.js';
import type { LinkedAccount } from '../sessions/card.js';
import { endAllSessionsOf, forgetPerson } from '../sessions/tokens.js';
import { forgetRiskRank } from '../wechat/risk-rank.js';

export interface Identities {
  unionid: string | null;
  accounts: Pick<LinkedAccount, 'appid' | 'openid'>[];
}

/** Keyed hashes (IDENTITY_HASH_KEY) of a person's identities: their unionid, and each account. */
export function identityHashes({ unionid, accounts }: Identities): string[] {
  const names = [...(unionid ? [`unionid:${unionid}`] : []), ...accounts.map(({ appid, openid }) => `account:${appid}:${openid}`)];
  return names.map(identityHash);
}

/** Deletes the person's account; false if there is no such live person. `actor` as the audit trail records it. */
export async function deletePerson(personId: string, actor: string): Promise<boolean> {
  return withConnection((run) =>
    inTransaction(run, async () => {
      // The person stays locked until the deletion commits: a login waits, then sees it.
      const rows = await run<{ unionid: string | null; appid: string | null; openid: string | null }>(
        'select unionid, appid, openid from lock_identities($1)',
        [personId],
      );
      if (rows.length === 0) return false;
      // Sessions end now and stay out, so a login that read the person earlier leaves none behind.
      await endAllSessionsOf(personId, { block: true });
      const accounts = rows.flatMap(({ appid, openid }) => (appid && openid ? [{ appid, openid }] : []));
      await run('select delete_person($1, $2, $3, $4)', [personId, actor, identityHashes({ unionid: rows[0]!.unionid, accounts }), identityHashKeyHex()]);
      // Every copy in Redis too: the card (unionid, accounts, masked phone, profile) and the risk rank.
      await Promise.all([forgetPerson(personId), forgetRiskRank(personId)]);
      return true;
    }),
  );
}
