import { readClaimFeed } from '../../lib/benefits/feed.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { optional, readQuery, text } from '../../lib/http/input.js';
import { requireKey } from '../../lib/http/keys.js';

export default endpoint('/api/service/claims', {
  /** The fulfilment feed for the company's coupon system: each claim (and reversal) once, by cursor. */
  async GET(request, context) {
    requireKey('service', bearerToken(request), context);
    const { after, limit } = readQuery(request, {
      after: optional(text(/^\d{1,20}-\d{1,19}$/, 'the "next" of an earlier page')),
      limit: optional(text(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, 'a page size from 1 to 500')),
    });
    return json(200, await readClaimFeed(after, limit === undefined ? undefined : Number(limit)));
  },
});
