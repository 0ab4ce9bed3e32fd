// Credentials of the company's own people and systems, sent as bearer keys: operators' admin keys
// (ADMIN_KEYS) and services' keys (SERVICE_KEYS). Compared in constant time on their SHA-256;
// never logged. The kinds never open each other's doors, and a person's session token opens none.
import { createHash, timingSafeEqual } from 'node:crypto';
import { config, type NamedKey } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { authFailure } from '../sessions/rate-limit.js';
import type { RequestContext } from '../platform/request-context.js';

export type KeyKind = 'admin' | 'service';

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Who presents this key: `admin:<name>` or `service:<name>`, as the audit trail records actors.
 * Anything else is 401 and counts against the address's failure limit.
 */
export function requireKey(kind: KeyKind, presented: string, context: RequestContext): string {
  const keys = kind === 'admin' ? config().adminKeys : config().serviceKeys;
  const digest = sha256(presented);
  let found: NamedKey | undefined;
  // Every key is compared, found or not: the time taken says nothing about which one matched.
  for (const key of keys) if (timingSafeEqual(key.digest, digest) && !found) found = key;
  if (!found) {
    throw authFailure(
      context.clientIp,
      context,
      new ApiError('unauthorized', { detail: `Send Authorization: Bearer <${kind} key>`, headers: { 'WWW-Authenticate': 'Bearer' } }),
    );
  }
  const actor = `${kind}:${found.name}`;
  context.log.actor = actor;
  return actor;
}
