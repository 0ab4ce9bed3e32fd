import { lookUp, personNotFound } from '../../../../lib/people/operators.js';
import { deletePerson } from '../../../../lib/people/deletion.js';
import { bearerToken, endpoint, json, noContent } from '../../../../lib/http/endpoint.js';
import { personId, readQuery } from '../../../../lib/http/input.js';
import { requireOperator } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]', {
  /** A look-up by id (recorded as person_viewed); a folded person's id shows the survivor. */
  async GET(request, context, params) {
    const { actor } = requireOperator('viewer', bearerToken(request), context);
    readQuery(request, {}); // nothing: `reveal=phone` is POST …/reveal with a purpose now
    return json(200, { person: await lookUp({ id: personId(params.id, 'id') }, actor) });
  },

  /** The same account deletion (注销) as DELETE /api/me, by an operator. */
  async DELETE(request, context, params) {
    const { actor } = requireOperator('admin', bearerToken(request), context);
    if (!(await deletePerson(personId(params.id, 'id'), actor))) throw personNotFound();
    return noContent();
  },
});
