import { clientIp, endpoint, json, readJsonObject } from '../lib/http.js';
import { login, LOGIN_FIELDS } from '../lib/login.js';

export default endpoint('/api/login', {
  async POST(request, context) {
    const body = await readJsonObject(request, LOGIN_FIELDS);
    const origin = { referer: request.headers.get('referer'), ip: clientIp(request) };
    return json(200, await login(body, origin, context));
  },
});
