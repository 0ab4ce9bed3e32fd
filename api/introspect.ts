// Token introspection (RFC 7662) for the company's other services: is this a live session, and whose?
import { bearerToken, endpoint, json } from '../lib/http/endpoint.js';
import { bearerTokenValue, optional, readInput, text } from '../lib/http/input.js';
import { requireKey } from '../lib/http/keys.js';
import { introspect } from '../lib/sessions/tokens.js';

export default endpoint('/api/introspect', {
  async POST(request, context) {
    requireKey('service', bearerToken(request), context);
    const { token } = await readInput(
      request,
      { token: bearerTokenValue, token_type_hint: optional(text(/^[\w-]{1,32}$/, 'a token type')) },
      { form: true },
    );
    return json(200, await introspect(token));
  },
});
