import { personNotFound, personView } from '../../../../lib/people/operators.js';
import { deletePerson } from '../../../../lib/people/deletion.js';
import { bearerToken, endpoint, json, noContent } from '../../../../lib/http/endpoint.js';
import { literal, optional, personId, readQuery } from '../../../../lib/http/input.js';
import { requireKey } from '../../../../lib/http/keys.js';

export default endpoint('/api/admin/people/[id]', {
  async GET(request, context, params) {
    const actor = requireKey('admin', bearerToken(request), context);
    const { reveal } = readQuery(request, { reveal: optional(literal('phone')) });
    return json(200, { person: await personView(personId(params.id, 'id'), { revealPhone: reveal === 'phone', actor }) });
  },

  /** The same account deletion (注销) as DELETE /api/me, by an operator. */
  async DELETE(request, context, params) {
    const actor = requireKey('admin', bearerToken(request), context);
    if (!(await deletePerson(personId(params.id, 'id'), actor))) throw personNotFound();
    return noContent();
  },
});
