// The mini program opened a scan-to-login code: the ticket becomes this person's to decide, and
// the page learns who is asking.
import { bearerToken, endpoint, json } from '../../../../lib/http/endpoint.js';
import { integer, readInput } from '../../../../lib/http/input.js';
import { requireSession } from '../../../../lib/sessions/tokens.js';
import { scanTicket } from '../../../../lib/web/tickets.js';

export default endpoint('/api/web/tickets/[id]/scan', {
  async POST(request, context, { id }) {
    const token = bearerToken(request);
    const { launchScene } = await readInput(request, { launchScene: integer(1000, 9999) });
    return json(200, await scanTicket(id!, launchScene, await requireSession(token, context)));
  },
});
