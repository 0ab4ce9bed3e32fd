import { clientIp, endpoint, json } from '../lib/http.js';
import { appid, optional, readInput, wechatCode } from '../lib/input.js';
import { login } from '../lib/login.js';

export default endpoint('/api/login', {
  async POST(request, context) {
    const input = await readInput(request, { code: wechatCode, appid: optional(appid) });
    const origin = { referer: request.headers.get('referer'), ip: clientIp(request) };
    return json(200, await login(input, origin, context));
  },
});
