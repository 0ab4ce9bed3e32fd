// Phone number binding (手机号快速验证): the one-time code from <button open-type="getPhoneNumber">
// → WeChat's verified number → stored on the person → shown masked by every session (/api/me).
import { config } from './config.js';
import { ApiError } from './errors.js';
import { QUERY_TIMEOUT_MS } from './db.js';
import { REQUEST_TIMEOUT_MS as REDIS_REQUEST_TIMEOUT_MS } from './redis.js';
import { requireTimeFor, type RequestContext } from './request-context.js';
import { refreshCards, requireSessionWithinLimit } from './sessions.js';
import { assignPhone, type VerifiedPhone } from './people.js';
import { getUserPhoneNumber } from './wechat.js';

export async function bindPhone(token: string, code: string, context: RequestContext): Promise<VerifiedPhone> {
  // Fail closed, as login does: this spends the WeChat phone-number quota.
  const session = await requireSessionWithinLimit(token, context, 'fail-closed');
  const app = config().apps.get(session.appid);
  if (!app) throw new ApiError('unknown_app', { detail: 'This session\'s mini program is no longer configured' });

  // Billed: a lookup starts only if the number it buys can still be stored in time.
  const lookupDeadline = context.deadline - QUERY_TIMEOUT_MS;
  const { watermarkAppid, ...phone } = await getUserPhoneNumber(app, code, session.openid, lookupDeadline);
  if (watermarkAppid !== app.appid) {
    throw new ApiError('phone_app_mismatch', { detail: 'Ask for the number again from this mini program' });
  }
  requireTimeFor(context.deadline, QUERY_TIMEOUT_MS, 'assign_phone');
  const cards = await assignPhone(session.userId, phone);
  requireTimeFor(context.deadline, REDIS_REQUEST_TIMEOUT_MS, 'refresh_cards');
  await refreshCards(cards);
  return phone;
}
