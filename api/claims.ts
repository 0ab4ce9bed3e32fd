import { claimBenefit, listClaims } from '../lib/benefits.js';
import { bearerToken, endpoint, json } from '../lib/http.js';
import { benefitKey, readInput } from '../lib/input.js';
import { requireSessionWithinLimit } from '../lib/sessions.js';

export default endpoint('/api/claims', {
  async POST(request, context) {
    const token = bearerToken(request);
    const { benefit } = await readInput(request, { benefit: benefitKey });
    const session = await requireSessionWithinLimit(token, context);
    return json(201, await claimBenefit(session.userId, session.appid, benefit));
  },

  async GET(request, context) {
    const session = await requireSessionWithinLimit(bearerToken(request), context);
    return json(200, { claims: await listClaims(session.userId) });
  },
});
