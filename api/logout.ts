import { bearerToken, endpoint, invalid, noContent, readJsonObject } from '../lib/http.js';
import { revokeAllSessions, revokeSession } from '../lib/sessions.js';

export default endpoint('/api/logout', {
  async POST(request) {
    const token = bearerToken(request);
    const { all = false } = await readJsonObject(request, ['all'], { emptyAllowed: true });
    if (typeof all !== 'boolean') throw invalid('"all", when given, must be true or false');
    await (all ? revokeAllSessions(token) : revokeSession(token));
    return noContent();
  },
});
