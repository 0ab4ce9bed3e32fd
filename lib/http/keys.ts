// Credentials of the company's own people and systems, sent as bearer keys: operators' keys
// (ADMIN_KEYS, each with a role) and services' keys (SERVICE_KEYS). Compared in constant time on their SHA-256;
// never logged. The kinds never open each other's doors, and a person's session token opens none.
import { createHash, timingSafeEqual } from 'node:crypto';
import { config, type NamedKey } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { allows, type Role } from '../platform/roles.js';
import { authFailure } from '../sessions/rate-limit.js';
import type { RequestContext } from '../platform/request-context.js';

/** Whether two secrets are equal, in time that does not depend on where they differ. */
export function safeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A service's key: `service:<name>`, as the audit trail records actors. */
export function requireKey(kind: 'service', presented: string, context: RequestContext): string {
  const actor = `${kind}:${findKey(config().serviceKeys, kind, presented, context).name}`;
  context.log.actor = actor;
  return actor;
}

/** Who acted, as the audit trail records it: `<role>:<name>` (viewer:lin, support:wang, admin:li). */
export interface Operator {
  name: string;
  role: Role;
  actor: string;
}

/**
 * The operator presenting this key, when their role allows what needs `needed`: 403 forbidden when
 * it does not. The access log names them and their role, never the key.
 */
export function requireOperator(needed: Role, presented: string, context: RequestContext): Operator {
  const { name, role } = findKey(config().adminKeys, 'admin', presented, context);
  const actor = `${role}:${name}`;
  Object.assign(context.log, { actor, role });
  if (!allows(role, needed)) throw new ApiError('forbidden', { detail: `This needs the ${needed} role; the key is ${role}` });
  return { name, role, actor };
}

/** The key among `keys` that matches; anything else is 401 and counts against the address's failure limit. */
function findKey<K extends NamedKey>(keys: readonly K[], kind: 'admin' | 'service', presented: string, context: RequestContext): K {
  const digest = sha256(presented);
  let found: K | undefined;
  // Every key is compared, found or not: the time taken says nothing about which one matched.
  for (const key of keys) if (timingSafeEqual(key.digest, digest) && !found) found = key;
  if (!found) {
    throw authFailure(
      context.clientIp,
      context,
      new ApiError('unauthorized', { detail: `Send Authorization: Bearer <${kind} key>`, headers: { 'WWW-Authenticate': 'Bearer' } }),
    );
  }
  return found;
}
