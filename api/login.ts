import { endpoint, json } from '../lib/http/endpoint.js';
import { appid, optional, readInput, wechatCode } from '../lib/http/input.js';
import { login } from '../lib/people/login.js';
import { gatewayIdentity } from '../lib/wechat/cloudrun.js';

export default endpoint('/api/login', {
  async POST(request, context) {
    const gateway = gatewayIdentity(request.headers);
    const input = await readInput(request, { code: wechatCode, appid: optional(appid) });
    return json(200, await login(input, request.headers.get('referer'), context, gateway));
  },
});
