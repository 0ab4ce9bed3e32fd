import { bearerToken, endpoint, json, readJsonObject } from '../lib/http.js';
import { bindPhone, PHONE_FIELDS } from '../lib/phone.js';

export default endpoint('/api/phone', {
  async POST(request, context) {
    const token = bearerToken(request);
    const body = await readJsonObject(request, PHONE_FIELDS);
    return json(200, await bindPhone(token, body, context));
  },
});
