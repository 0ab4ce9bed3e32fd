// The bare minimum of /me: one read of the token's session where ours are, with our Upstash client
// (lib/platform/upstash.ts). A file of its own so that its cold-start bundle holds only what /me needs.
import { createHmac, hkdfSync } from 'node:crypto';
import { upstashClient } from '../../lib/platform/upstash.js';

export interface SessionReadSetup {
  redis: { url: string; token: string };
  /** REDIS_KEY_PREFIX: where our sessions are. */
  keyPrefix: string;
  /** SESSION_ENCRYPTION_KEY: our session ids are keyed hashes of tokens. */
  sessionEncryptionKey: string;
}

export function bareMe(setup: SessionReadSetup): (token: string) => Promise<Record<string, unknown> | null> {
  const redis = upstashClient(setup.redis.url, setup.redis.token);
  // lib/sessions/tokens.ts: HMAC-SHA-256 of the token under a key derived for session ids.
  const idKey = Buffer.from(hkdfSync('sha256', Buffer.from(setup.sessionEncryptionKey, 'base64'), Buffer.alloc(0), 'wxlogin session id', 32));
  return (token) => redis.hgetall(`${setup.keyPrefix}s:${createHmac('sha256', idKey).update(token).digest('base64url')}`);
}
