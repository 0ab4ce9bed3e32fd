import { endPersonSessions } from '../../../../lib/admin.js';
import { bearerToken, endpoint, json } from '../../../../lib/http.js';
import { personId } from '../../../../lib/input.js';
import { requireKey } from '../../../../lib/keys.js';

export default endpoint('/api/admin/people/[id]/logout', {
  /** Ends every session of the person ("someone is using my account"). */
  async POST(request, context, params) {
    const actor = requireKey('admin', bearerToken(request), context);
    return json(200, { ended: await endPersonSessions(personId(params.id, 'id'), actor) });
  },
});
