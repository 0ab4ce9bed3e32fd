import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { nickname, nullable, readInput } from '../../lib/http/input.js';
import { setNickname } from '../../lib/people/profile.js';

export default endpoint('/api/me/profile', {
  /** The nickname, checked by WeChat's content security before it is stored; null clears it. */
  async PUT(request, context) {
    const token = bearerToken(request);
    const input = await readInput(request, { nickname: nullable(nickname) });
    return json(200, { profile: await setNickname(token, input.nickname, context) });
  },
});
