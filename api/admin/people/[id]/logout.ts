import { endPersonSessions } from '../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { personId } from '../../../../lib/http/input.js';
import { requireKey } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/logout', {
  /** Ends every session of the person ("someone is using my account"). */
  async POST(request, context, params) {
    const actor = requireKey('admin', bearerToken(request), context);
    return json(200, { ended: await endPersonSessions(personId(params.id, 'id'), actor) });
  },
});
