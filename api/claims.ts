import { claimBenefit, listClaims } from '../lib/benefits/claims.js';
import { bearerToken, endpoint, json } from '../lib/http/endpoint.js';
import { benefitKey, readInput, text } from '../lib/http/input.js';
import { requireSession } from '../lib/sessions/tokens.js';

/** Idempotency-Key (IETF draft): a client-chosen string naming one logical claim across its retries. */
const idempotencyKey = text(/^[\x21-\x7e]{1,255}$/, '1 to 255 printable ASCII characters');

export default endpoint('/api/claims', {
  async POST(request, context) {
    const token = bearerToken(request);
    const { benefit } = await readInput(request, { benefit: benefitKey });
    const key = request.headers.get('idempotency-key');
    const retryKey = key === null ? null : idempotencyKey(key, 'Idempotency-Key');
    const authenticated = await requireSession(token, context);
    return json(201, await claimBenefit(authenticated, benefit, retryKey, context));
  },

  async GET(request, context) {
    const { person } = await requireSession(bearerToken(request), context);
    return json(200, { claims: await listClaims(person.id) });
  },
});
