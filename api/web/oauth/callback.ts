// 公众号 / 网站应用 sign-in, step two: WeChat sends the browser back with a code and our state.
import { endpoint } from '../../../lib/http/endpoint.js';
import { optional, readQuery, text } from '../../../lib/http/input.js';
import { finishSignIn, STATE_COOKIE } from '../../../lib/web/oauth.js';

export default endpoint('/api/web/oauth/callback', {
  async GET(request, context) {
    const { code, state } = readQuery(request, {
      code: optional(text(/^[A-Za-z0-9_-]{1,128}$/, 'the code WeChat handed over')),
      state: text(/^[A-Za-z0-9]{1,128}$/, 'the state WeChat handed back'),
    });
    const location = await finishSignIn(code, state, cookieOf(request, STATE_COOKIE), context);
    // The state is spent either way: the cookie goes too.
    const cleared = `${STATE_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
    return new Response(null, { status: 302, headers: { Location: location, 'Set-Cookie': cleared } });
  },
});

function cookieOf(request: Request, name: string): string | null {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}
