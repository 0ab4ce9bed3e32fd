import { claimBenefit, listClaims } from '../lib/benefits.js';
import { bearerToken, endpoint, json } from '../lib/http.js';
import { benefitKey, readInput } from '../lib/input.js';
import { requireSession } from '../lib/sessions.js';

export default endpoint('/api/claims', {
  async POST(request, context) {
    const token = bearerToken(request);
    const { benefit } = await readInput(request, { benefit: benefitKey });
    const { session, person } = await requireSession(token, context);
    return json(201, await claimBenefit(person.id, session.appid, benefit, person.card));
  },

  async GET(request, context) {
    const { person } = await requireSession(bearerToken(request), context);
    return json(200, { claims: await listClaims(person.id) });
  },
});
