import { liftSuspension, personView } from '../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { personId } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/suspension', {
  /** Lifts the suspension: the person can log in again at once. */
  async DELETE(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    await liftSuspension(id, actor);
    return json(200, { person: await personView(id) });
  },
});
