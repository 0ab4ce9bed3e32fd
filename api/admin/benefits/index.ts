import { allBenefits } from '../../../lib/benefits/claims.js';
import { bearerToken, endpoint, json } from '../../../lib/http/endpoint.js';
import { requireOperator } from '../../../lib/http/keys.js';

export default endpoint('/api/admin/benefits', {
  async GET(request, context) {
    requireOperator('viewer', bearerToken(request), context);
    return json(200, { benefits: await allBenefits() });
  },
});
