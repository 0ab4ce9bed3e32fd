// The person who scanned confirms the web sign-in, after an explicit tap.
import { bearerToken, endpoint, noContent } from '../../../../lib/http/endpoint.js';
import { requireSession } from '../../../../lib/sessions/tokens.js';
import { decideTicket } from '../../../../lib/web/tickets.js';

export default endpoint('/api/web/tickets/[id]/confirm', {
  async POST(request, context, { id }) {
    await decideTicket(id!, 'confirm', await requireSession(bearerToken(request), context));
    return noContent();
  },
});
