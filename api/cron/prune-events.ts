// Vercel Cron (vercel.json) calls this daily with CRON_SECRET; an operator may too, with a key of the admin role.
import { config } from '../../lib/platform/config.js';
import { pruneEvents } from '../../lib/people/events.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { requireOperator, safeEqual } from '../../lib/http/keys.js';

export default endpoint('/api/cron/prune-events', {
  async GET(request, context) {
    const presented = bearerToken(request);
    const { cronSecret } = config();
    if (!(cronSecret !== null && safeEqual(presented, cronSecret))) requireOperator('admin', presented, context);
    return json(200, await pruneEvents());
  },
});
