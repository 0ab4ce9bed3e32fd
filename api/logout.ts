import { bearerToken, endpoint, noContent } from '../lib/http/endpoint.js';
import { boolean, optional, readInput } from '../lib/http/input.js';
import { revokeAllSessions, revokeSession, sessionLogId } from '../lib/sessions/tokens.js';

export default endpoint('/api/logout', {
  // Not rate-limited: a session can be ended only once, and a limit would only stop a sign-out.
  async POST(request, context) {
    const token = bearerToken(request);
    context.log.session = sessionLogId(token);
    const { all = false } = await readInput(request, { all: optional(boolean) }, { emptyAllowed: true });
    await (all ? revokeAllSessions(token, context) : revokeSession(token, context));
    return noContent();
  },
});
