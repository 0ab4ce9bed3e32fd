// Scan-to-login, the browser's first step: a ticket, its secret and the mini program code to show.
import { endpoint, json } from '../../../lib/http/endpoint.js';
import { appid, optional, readInput } from '../../../lib/http/input.js';
import { createTicket } from '../../../lib/web/tickets.js';

const ORIGIN = /^https?:\/\/[A-Za-z0-9.:[\]-]{1,260}$/;

export default endpoint('/api/web/tickets', {
  async POST(request, context) {
    const input = await readInput(request, { appid: optional(appid) }, { emptyAllowed: true });
    const origin = request.headers.get('origin') ?? '';
    const requester = {
      site: ORIGIN.test(origin) ? origin : null,
      address: context.clientAddress,
      device: (request.headers.get('user-agent') ?? '').slice(0, 200),
    };
    return json(201, await createTicket(input.appid, requester, context));
  },
});
