import { operatorView } from '../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { requireOperator } from '../../lib/http/keys.js';

export default endpoint('/api/admin/me', {
  /** Who the key belongs to and their role, and the mini programs served, by name: what the console starts with. */
  async GET(request, context) {
    const { name, role } = requireOperator('viewer', bearerToken(request), context);
    return json(200, operatorView(name, role));
  },
});
