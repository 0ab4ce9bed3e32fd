// One-time codes: what a web sign-in (scan-to-login, 公众号, 网站应用) hands the browser, and what
// the site's backend trades, once, for a web session. Codes are stored only as hashes.
import { createHash, randomBytes } from 'node:crypto';
import { config } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { QUERY_TIMEOUT_MS } from '../platform/postgres.js';
import { sharedRedis } from '../platform/redis.js';
import { requireTimeFor, type RequestContext } from '../platform/request-context.js';
import { recordEvent } from '../people/events.js';
import { createSession } from '../sessions/tokens.js';
import { MemoryTicketStore } from './memory-tickets.js';
import type { TicketStore } from './ticket-store.js';
import { RedisTicketStore } from './redis-tickets.js';

/** The code only travels from the browser to the site's backend. */
export const CODE_LIFETIME_MS = 60_000;
const CODE_PREFIX = 'wxw_';

/** A fresh one-time code and when it stops working. */
export function newCode(): { code: string; codeExpiresAt: string } {
  return { code: CODE_PREFIX + randomBytes(32).toString('base64url'), codeExpiresAt: new Date(Date.now() + CODE_LIFETIME_MS).toISOString() };
}

/** The site's backend trades the one-time code for a web session of the person it names. */
export async function exchangeCode(code: string, context: RequestContext): Promise<{ token: string; expiresAt: string; user: { id: string } }> {
  const grant = code.startsWith(CODE_PREFIX) ? await ticketStore().redeem(digest(code)) : null;
  if (!grant) throw new ApiError('invalid_code', { detail: 'The code is unknown, used or expired: sign in again' });
  const { personId, revision, card, foldedPersonId, appid, openid } = grant;
  context.log.personId = personId;
  const session = await createSession({ person: { personId, revision, card, foldedPersonId }, appid, openid, channel: 'web', sessionKey: null }, context);
  // The audit trail shows each web session: which app vouched for it.
  requireTimeFor(context.deadline, QUERY_TIMEOUT_MS, 'record_event');
  await recordEvent(personId, 'login', 'self', { channel: 'web', appid });
  return { token: session.token, expiresAt: session.expiresAt.toISOString(), user: { id: personId } };
}

export function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

let store: TicketStore | undefined;

/** Redis when configured, else this process's memory (local development). */
export function ticketStore(): TicketStore {
  if (!store) {
    const redis = sharedRedis();
    store = redis ? new RedisTicketStore(redis, config().redisKeyPrefix) : new MemoryTicketStore();
  }
  return store;
}
