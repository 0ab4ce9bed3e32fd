// Phone number binding (手机号快速验证): the one-time code from <button open-type="getPhoneNumber">
// → WeChat's verified number → stored on the person → shown masked by every session (/api/me).
import { config } from '../platform/config.js';
import { QUERY_TIMEOUT_MS } from '../platform/postgres.js';
import { ApiError, unauthorized } from '../platform/errors.js';
import { assignPhone, personExists, type VerifiedPhone } from './records.js';
import { REDIS_REQUEST_MAX_MS } from '../platform/redis.js';
import { requireTimeFor, type RequestContext } from '../platform/request-context.js';
import { refreshCards, requireSession } from '../sessions/tokens.js';
import { getUserPhoneNumber } from '../wechat/api.js';

export async function bindPhone(token: string, code: string, context: RequestContext): Promise<VerifiedPhone> {
  const { session, person } = await requireSession(token, context);
  const app = config().apps.get(session.appid);
  if (!app) throw new ApiError('unknown_app', { detail: 'This session\'s mini program is no longer configured' });
  // The getPhoneNumber button exists only in mini programs.
  if (app.kind !== 'miniprogram' || session.channel !== 'miniprogram') throw new ApiError('unknown_app', { detail: 'Bind a phone number from a mini program' });
  // The lookup spends the code: never for a session whose person is gone.
  if (!(await personExists(person.id))) throw unauthorized('The session\'s person no longer exists');

  // A lookup spends the code: it starts only if the number it gets can still be stored in time.
  const lookupDeadline = context.deadline - QUERY_TIMEOUT_MS;
  const { watermarkAppid, ...phone } = await getUserPhoneNumber(app, code, session.openid, lookupDeadline);
  if (watermarkAppid !== app.appid) {
    throw new ApiError('phone_app_mismatch', { detail: 'Ask for the number again from this mini program' });
  }
  requireTimeFor(context.deadline, QUERY_TIMEOUT_MS, 'assign_phone');
  const changed = await assignPhone(person.id, phone);
  if (changed.length === 0) throw unauthorized('The session\'s person no longer exists');
  requireTimeFor(context.deadline, REDIS_REQUEST_MAX_MS, 'refresh_cards');
  await refreshCards(changed);
  return phone;
}
