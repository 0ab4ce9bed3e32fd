// 公众号 / 网站应用 sign-in, step one: to WeChat's page, with a state bound to this browser.
import { endpoint } from '../../../lib/http/endpoint.js';
import { appid, literal, optional, readQuery, returnUrl } from '../../../lib/http/input.js';
import { startSignIn, stateCookie } from '../../../lib/web/oauth.js';

export default endpoint('/api/web/oauth/authorize', {
  async GET(request) {
    const query = readQuery(request, {
      appid,
      returnTo: returnUrl,
      scope: optional(literal('userinfo')),
    });
    const { location, state } = await startSignIn(query.appid, query.returnTo, query.scope === 'userinfo');
    return new Response(null, { status: 302, headers: { Location: location, 'Set-Cookie': stateCookie(state) } });
  },
});
