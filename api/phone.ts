import { bearerToken, endpoint, json } from '../lib/http/endpoint.js';
import { phoneCode, readInput } from '../lib/http/input.js';
import { bindPhone } from '../lib/people/phone.js';

export default endpoint('/api/phone', {
  async POST(request, context) {
    const token = bearerToken(request);
    const { code } = await readInput(request, { code: phoneCode });
    return json(200, await bindPhone(token, code, context));
  },
});
