import { bearerToken, endpoint, noContent } from '../../../lib/http/endpoint.js';
import { consentDocument } from '../../../lib/http/input.js';
import { withdrawConsent } from '../../../lib/people/consents.js';
import { requireSession } from '../../../lib/sessions/tokens.js';

export default endpoint('/api/me/consents/[document]', {
  /** Withdraws the person's agreement to the document in this mini program; 204 whether or not one was in force. */
  async DELETE(request, context, params) {
    const token = bearerToken(request);
    const document = consentDocument(params.document, 'document');
    const { session } = await requireSession(token, context);
    await withdrawConsent(session, document);
    return noContent();
  },
});
