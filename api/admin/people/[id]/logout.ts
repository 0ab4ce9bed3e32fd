import { endPersonSessions, personView } from '../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { personId } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/logout', {
  /** Ends every session of the person ("someone is using my account"); answers how many, and the person now. */
  async POST(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    const ended = await endPersonSessions(id, actor);
    return json(200, { ended, person: await personView(id) });
  },
});
