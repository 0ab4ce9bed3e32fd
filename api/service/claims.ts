import { readClaimFeed } from '../../lib/benefits/feed.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { MAX_BIGINT, MAX_XID8, optional, readQuery, text, type Field } from '../../lib/http/input.js';
import { requireKey } from '../../lib/http/keys.js';
import { invalid } from '../../lib/platform/errors.js';

export default endpoint('/api/service/claims', {
  /** The fulfilment feed for the company's coupon system: each claim (and reversal) once, by cursor. */
  async GET(request, context) {
    requireKey('service', bearerToken(request), context);
    const { after, limit } = readQuery(request, {
      after: optional(feedCursor),
      limit: optional(text(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, 'a page size from 1 to 500')),
    });
    return json(200, await readClaimFeed(after, limit === undefined ? undefined : Number(limit)));
  },
});

const CURSOR = 'the "next" of an earlier page';

/** <transaction id (xid8)>-<position (bigint)>, each within what Postgres holds. */
const feedCursor: Field<string> = (value, name) => {
  const cursor = text(/^\d{1,20}-\d{1,19}$/, CURSOR)(value, name);
  const [txid, position] = cursor.split('-').map(BigInt) as [bigint, bigint];
  if (txid > MAX_XID8 || position > MAX_BIGINT) throw invalid(`"${name}" must be ${CURSOR}`);
  return cursor;
};
