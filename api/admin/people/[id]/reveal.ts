import { revealPhone } from '../../../../lib/people/operators.js';
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { personId, readInput, text } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

const purpose = text(/^[\s\S]{1,200}$/, 'why the number is needed, 1 to 200 characters (e.g. a ticket number)');

export default endpoint('/api/admin/people/[id]/reveal', {
  /** The person with the phone number in full; the look and its purpose go to the audit trail. */
  async POST(request, context, params) {
    const { actor } = requireOperator('support', bearerToken(request), context);
    const id = personId(params.id, 'id');
    const input = await readInput(request, { purpose });
    return json(200, { person: await revealPhone(id, input.purpose, actor) });
  },
});
