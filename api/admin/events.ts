import { listEvents } from '../../lib/people/events.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { oneOf, optional, personId, readQuery, text, timestamp } from '../../lib/http/input.js';
import { requireOperator } from '../../lib/http/keys.js';

export default endpoint('/api/admin/events', {
  /** The audit trail, oldest first (or newest, `order=desc`), a page at a time: pass the page's `next` as `after`. */
  async GET(request, context) {
    requireOperator('viewer', bearerToken(request), context);
    const { person, kind, operator, from, to, order, after, limit } = readQuery(request, {
      person: optional(personId),
      kind: optional(text(/^[a-z_]{1,32}$/, 'an event kind, e.g. login')),
      operator: optional(text(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'an operator\'s key name from ADMIN_KEYS')),
      from: optional(timestamp),
      to: optional(timestamp),
      order: optional(oneOf('asc', 'desc')),
      after: optional(text(/^\d{1,18}$/, 'the "next" cursor of an earlier page')),
      limit: optional(text(/^(?:[1-9]\d?|[1-4]\d\d|500)$/, 'a page size from 1 to 500')),
    });
    return json(200, await listEvents({ personId: person, kind, operator, from, to, order, after, limit: limit === undefined ? undefined : Number(limit) }));
  },
});
