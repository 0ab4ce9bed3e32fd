import { personView, suspendPerson } from '../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { optional, personId, readInput, reason, timestamp } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/suspend', {
  /** Ends every session at once; logins are refused (403 user_suspended) until lifted or `until`. */
  async POST(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    const input = await readInput(request, { reason, until: optional(timestamp) });
    await suspendPerson(id, input, actor);
    return json(200, { person: await personView(id) });
  },
});
