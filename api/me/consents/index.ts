import { bearerToken, endpoint, json } from '../../../lib/http/endpoint.js';
import { consentDocument, consentVersion, readInput } from '../../../lib/http/input.js';
import { listConsents, recordConsent } from '../../../lib/people/consents.js';
import { requireSession } from '../../../lib/sessions/tokens.js';

export default endpoint('/api/me/consents', {
  /** The person agreed, in this mini program, to this version of the document: 201 recorded, 200 on record already. */
  async POST(request, context) {
    const token = bearerToken(request);
    const { document, version } = await readInput(request, { document: consentDocument, version: consentVersion });
    const { session } = await requireSession(token, context);
    const { consent, created } = await recordConsent(session, document, version);
    return json(created ? 201 : 200, { consent });
  },

  /** Every agreement of the person, in every mini program, withdrawn ones included. */
  async GET(request, context) {
    const { person } = await requireSession(bearerToken(request), context);
    return json(200, { consents: await listConsents(person.id) });
  },
});
