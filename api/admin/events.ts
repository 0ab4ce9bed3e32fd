import { listEvents } from '../../lib/people/events.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { decimal, MAX_BIGINT, optional, personId, readQuery, text } from '../../lib/http/input.js';
import { requireKey } from '../../lib/http/keys.js';

export default endpoint('/api/admin/events', {
  /** The audit trail, oldest first, a page at a time: pass the page's `next` as `after`. */
  async GET(request, context) {
    requireKey('admin', bearerToken(request), context);
    const { person, kind, after, limit } = readQuery(request, {
      person: optional(personId),
      kind: optional(text(/^[a-z_]{1,32}$/, 'an event kind, e.g. login')),
      after: optional(decimal(MAX_BIGINT, 'the "next" cursor of an earlier page')),
      limit: optional(text(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, 'a page size from 1 to 500')),
    });
    return json(200, await listEvents({ personId: person, kind, after, limit: limit === undefined ? undefined : Number(limit) }));
  },
});
