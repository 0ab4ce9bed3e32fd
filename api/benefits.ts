import { benefitStatuses } from '../lib/benefits/claims.js';
import { bearerToken, endpoint, json } from '../lib/http/endpoint.js';
import { requireSession } from '../lib/sessions/tokens.js';

export default endpoint('/api/benefits', {
  /** Every active benefit as this person sees it: available, claimed (where and when) or ineligible (why). */
  async GET(request, context) {
    return json(200, { benefits: await benefitStatuses(await requireSession(bearerToken(request), context)) });
  },
});
