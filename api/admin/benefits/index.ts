import { allBenefits } from '../../../lib/benefits.js';
import { bearerToken, endpoint, json } from '../../../lib/http.js';
import { requireKey } from '../../../lib/keys.js';

export default endpoint('/api/admin/benefits', {
  async GET(request, context) {
    requireKey('admin', bearerToken(request), context);
    return json(200, { benefits: await allBenefits() });
  },
});
