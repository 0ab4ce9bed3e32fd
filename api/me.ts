import { bearerToken, endpoint, json } from '../lib/http.js';
import { requireSessionWithinLimit } from '../lib/sessions.js';

export default endpoint('/api/me', {
  async GET(request, context) {
    const session = await requireSessionWithinLimit(bearerToken(request), context);
    return json(200, {
      user: {
        id: session.userId,
        appid: session.appid,
        openid: session.openid,
        unionid: session.unionid,
        createdAt: session.userCreatedAt.toISOString(),
        phone: session.maskedPhone,
        accounts: session.accounts,
      },
    });
  },
});
