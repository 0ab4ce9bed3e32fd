import { ApiError } from '../../lib/platform/errors.js';
import { bearerToken, endpoint, noContent } from '../../lib/http/endpoint.js';
import { sessionHandle } from '../../lib/http/input.js';
import { requireSession, revokeSessionByHandle } from '../../lib/sessions/tokens.js';

export default endpoint('/api/sessions/[handle]', {
  /** Ends one of the person's own sessions (another device, say). */
  async DELETE(request, context, { handle }) {
    const { person } = await requireSession(bearerToken(request), context);
    if (!(await revokeSessionByHandle(person.id, sessionHandle(handle, 'handle')))) throw new ApiError('session_not_found');
    return noContent();
  },
});
