import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { ownCopy } from '../../lib/privacy/copy.js';
import { requireSession } from '../../lib/sessions/tokens.js';

export default endpoint('/api/me/export', {
  /** The person's copy of everything we hold about them (PIPL Art. 45), a few a day. */
  async GET(request, context) {
    const authenticated = await requireSession(bearerToken(request), context);
    return json(200, { export: await ownCopy(authenticated, context) });
  },
});
