import { bearerToken, endpoint, invalid, noContent, readJsonObject } from '../lib/http.js';
import { revokeAllSessions, revokeSession, sessionLogId } from '../lib/sessions.js';

export default endpoint('/api/logout', {
  // Not rate-limited: a session can be ended only once, and a limit would only stop a sign-out.
  async POST(request, context) {
    const token = bearerToken(request);
    context.log.session = sessionLogId(token);
    const { all = false } = await readJsonObject(request, ['all'], { emptyAllowed: true });
    if (typeof all !== 'boolean') throw invalid('"all", when given, must be true or false');
    await (all ? revokeAllSessions(token) : revokeSession(token));
    return noContent();
  },
});
