// The browser holding the ticket's secret asks how it stands; once confirmed it gets a one-time
// code, once, for the site's backend to exchange.
import { endpoint, json } from '../../../../lib/http/endpoint.js';
import { readInput, text } from '../../../../lib/http/input.js';
import { collectTicket } from '../../../../lib/web/tickets.js';

export default endpoint('/api/web/tickets/[id]/collect', {
  async POST(request, _context, { id }) {
    const { secret } = await readInput(request, { secret: text(/^[A-Za-z0-9_-]{43}$/, 'the secret the ticket came with') });
    return json(200, await collectTicket(id!, secret));
  },
});
