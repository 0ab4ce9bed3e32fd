// The person who scanned denies the web sign-in.
import { bearerToken, endpoint, noContent } from '../../../../lib/http/endpoint.js';
import { requireSession } from '../../../../lib/sessions/tokens.js';
import { decideTicket } from '../../../../lib/web/tickets.js';

export default endpoint('/api/web/tickets/[id]/deny', {
  async POST(request, context, { id }) {
    await decideTicket(id!, 'deny', await requireSession(bearerToken(request), context));
    return noContent();
  },
});
