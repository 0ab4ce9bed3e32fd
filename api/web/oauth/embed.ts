// 网站应用 sign-in with the QR inside the page (WeChat's wxLogin.js): its options, the state bound to this browser.
import { endpoint, json } from '../../../lib/http/endpoint.js';
import { appid, readQuery, returnUrl } from '../../../lib/http/input.js';
import { startEmbeddedSignIn, stateCookie } from '../../../lib/web/oauth.js';

export default endpoint('/api/web/oauth/embed', {
  async GET(request) {
    const query = readQuery(request, { appid, returnTo: returnUrl });
    const { options, state } = await startEmbeddedSignIn(query.appid, query.returnTo);
    const response = json(200, { wxLogin: options });
    response.headers.set('Set-Cookie', stateCookie(state));
    return response;
  },
});
