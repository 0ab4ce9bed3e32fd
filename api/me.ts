import { bearerToken, endpoint, json, noContent } from '../lib/http/endpoint.js';
import { literal, readInput } from '../lib/http/input.js';
import { avatarUrl } from '../lib/sessions/card.js';
import { requireSession } from '../lib/sessions/tokens.js';

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
        nickname: person.card.nickname ?? null,
        avatarUrl: avatarUrl(person.card.avatarHash),
        channel: session.channel,
      },
    });
  },

  /** Account deletion (注销): the person types the confirmation; every session of theirs ends. */
  async DELETE(request, context) {
    const token = bearerToken(request);
    await readInput(request, { confirm: literal('delete') });
    const { person } = await requireSession(token, context);
    // Loaded here only: it brings the Postgres driver, which GET /api/me never needs on a cold start.
    const { deletePerson } = await import('../lib/people/deletion.js');
    await deletePerson(person.id, 'self');
    return noContent();
  },
});
