import { bearerToken, endpoint, json } from '../lib/http.js';
import { requireSession } from '../lib/sessions.js';

export default endpoint('/api/me', {
  async GET(request, context) {
    const { session, person } = await requireSession(bearerToken(request), context);
    return json(200, {
      user: {
        id: person.id,
        appid: session.appid,
        openid: session.openid,
        unionid: person.card.unionid,
        createdAt: person.card.createdAt,
        phone: person.card.phone,
        accounts: person.card.accounts,
      },
    });
  },
});
