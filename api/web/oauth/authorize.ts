// 公众号 / 网站应用 sign-in, step one: to WeChat's page, with a state bound to this browser.
import { endpoint } from '../../../lib/http/endpoint.js';
import { appid, literal, optional, readQuery, text } from '../../../lib/http/input.js';
import { startSignIn, STATE_COOKIE } from '../../../lib/web/oauth.js';

export default endpoint('/api/web/oauth/authorize', {
  async GET(request) {
    const query = readQuery(request, {
      appid,
      returnTo: text(/^https?:\/\/\S{1,2000}$/, 'an absolute URL on the app\'s allow-list'),
      scope: optional(literal('userinfo')),
    });
    const { location, state } = await startSignIn(query.appid, query.returnTo, query.scope === 'userinfo');
    // SameSite=Lax: WeChat's redirect back is a cross-site top-level GET, which Strict would strip.
    const cookie = `${STATE_COOKIE}=${state}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`;
    return new Response(null, { status: 302, headers: { Location: location, 'Set-Cookie': cookie } });
  },
});
