import { endPersonSession, personView } from '../../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../../lib/http/endpoint.js';
import { personId } from '../../../../../lib/http/input.js';
import { requireOperator } from '../../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/sessions/[handle]', {
  /** Ends one session of the person (a lost phone, say); the others stay. */
  async DELETE(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    await endPersonSession(id, params.handle!, actor);
    return json(200, { person: await personView(id) });
  },
});
