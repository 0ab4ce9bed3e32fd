import { personView } from '../../../../lib/people/operators.js';
import { takeDown } from '../../../../lib/people/profile.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { oneOf, personId, readInput, reason } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]/takedown', {
  /**
   * Takes the person's nickname or avatar down (the image for everyone showing it, and refused if
   * uploaded again); recorded in the audit trail. The support role and above.
   */
  async POST(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    const input = await readInput(request, { what: oneOf('nickname', 'avatar'), reason });
    await takeDown(id, input.what, input.reason, actor);
    return json(200, { person: await personView(id) });
  },
});
