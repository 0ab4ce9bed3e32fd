import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { listSessions, requireSession, sessionHandle } from '../../lib/sessions/tokens.js';

export default endpoint('/api/sessions', {
  /** The person's live sessions in every mini program, the caller's marked current. */
  async GET(request, context) {
    const { session, person } = await requireSession(bearerToken(request), context);
    const [sessions, current] = [await listSessions(person.id), sessionHandle(session)];
    return json(200, { sessions: sessions.map((listed) => ({ ...listed, current: listed.handle === current })) });
  },
});
