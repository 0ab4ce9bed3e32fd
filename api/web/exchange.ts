// The site's backend trades a scan-to-login one-time code for a web session (service key).
import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { readInput, text } from '../../lib/http/input.js';
import { requireKey } from '../../lib/http/keys.js';
import { exchangeCode } from '../../lib/web/grants.js';

export default endpoint('/api/web/exchange', {
  async POST(request, context) {
    requireKey('service', bearerToken(request), context);
    const { code } = await readInput(request, { code: text(/^wxw_[A-Za-z0-9_-]{43}$/, 'the one-time code the browser collected') });
    return json(200, await exchangeCode(code, context));
  },
});
