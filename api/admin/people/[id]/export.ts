import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { personId, purpose, readInput } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';
import { operatorCopy } from '../../../../lib/privacy/copy.js';

export default endpoint('/api/admin/people/[id]/export', {
  /** The person's copy of their data, for a request received another way; audited with its purpose. */
  async POST(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const { purpose: stated } = await readInput(request, { purpose });
    return json(200, { export: await operatorCopy(personId(params.id, 'id'), actor, stated, context) });
  },
});
