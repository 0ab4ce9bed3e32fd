// WeChat's risk rank of a person (安全风控), asked only by claims of benefits with a risk limit,
// and remembered for a few minutes per person (in Redis, shared by instances; in memory without).
import { config } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { redisCall, runScript, sharedRedis } from '../platform/redis.js';
import { getUserRiskRank } from './api.js';

const REMEMBER_SECONDS = 300;
const remembered = new Map<string, { rank: number; until: number }>();

/** 0-4 or UNVISITED_RANK, or null when WeChat cannot rate (the benefit's riskFailure decides). */
export async function riskRankOf(
  appid: string,
  personId: string,
  subject: { openid: string; clientIp: string | null; mobileNo: string | null },
  deadline: number,
): Promise<number | null> {
  const app = config().apps.get(appid);
  if (!app) throw new ApiError('unknown_app', { detail: 'This session\'s mini program is no longer configured' });
  // 安全风控 rates mini program users: a 公众号 / 网站应用 session has no rank (the benefit's riskFailure decides).
  if (app.kind !== 'miniprogram') return null;
  const redis = sharedRedis();
  const key = `${config().redisKeyPrefix}risk:${personId}`;
  const known = redis ? await redisCall(() => redis.get(key)) : rememberedRank(key);
  if (known !== null && known !== undefined) return Number(known);
  // Without a trusted client address (local development) WeChat gets a placeholder.
  const rank = await getUserRiskRank(app, { openid: subject.openid, clientIp: subject.clientIp ?? '127.0.0.1', mobileNo: subject.mobileNo ?? undefined }, deadline);
  if (rank === null) return null;
  if (redis) await redisCall(() => redis.set(key, String(rank), REMEMBER_SECONDS));
  else remembered.set(key, { rank, until: Date.now() + REMEMBER_SECONDS * 1000 });
  return rank;
}

function rememberedRank(key: string): number | null {
  const entry = remembered.get(key);
  return entry && entry.until > Date.now() ? entry.rank : null;
}

const FORGET = `return redis.call('DEL', KEYS[1])`;

/** Forgets the person's remembered rank (deletion). */
export async function forgetRiskRank(personId: string): Promise<void> {
  const redis = sharedRedis();
  const key = `${config().redisKeyPrefix}risk:${personId}`;
  if (redis) await runScript(redis, FORGET, [key], []);
  else remembered.delete(key);
}
