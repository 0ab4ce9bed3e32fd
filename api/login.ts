import { endpoint, json } from '../lib/http.js';
import { appid, optional, readInput, wechatCode } from '../lib/input.js';
import { login } from '../lib/login.js';

export default endpoint('/api/login', {
  async POST(request, context) {
    const input = await readInput(request, { code: wechatCode, appid: optional(appid) });
    return json(200, await login(input, request.headers.get('referer'), context));
  },
});
