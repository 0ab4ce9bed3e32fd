import { CLAIM_FIELDS, claimBenefit, listClaims } from '../lib/claims.js';
import { bearerToken, endpoint, json, readJsonObject } from '../lib/http.js';
import { requireSessionWithinLimit } from '../lib/sessions.js';

export default endpoint('/api/claims', {
  async POST(request, context) {
    const token = bearerToken(request);
    const body = await readJsonObject(request, CLAIM_FIELDS);
    const session = await requireSessionWithinLimit(token, context);
    return json(201, await claimBenefit(session.userId, session.appid, body));
  },

  async GET(request, context) {
    const session = await requireSessionWithinLimit(bearerToken(request), context);
    return json(200, { claims: await listClaims(session.userId) });
  },
});
