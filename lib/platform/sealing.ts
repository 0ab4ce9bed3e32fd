// Secrets at rest in Redis (WeChat's session_key, the access_token): AES-256-GCM under the
// SESSION_ENCRYPTION_KEY list, bound to where they belong by associated data, so a sealed value
// copied into another record does not open. The first key seals; every key opens (rotation).
// Identities we may only keep as keyed hashes (IDENTITY_HASH_KEY): identityHash.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { config } from './config.js';

const VERSION = 'v1';

/** `associatedData` names the value's place (a session id and account, an appid): opening needs the same. */
export function seal(plaintext: string, associatedData: string): string {
  const key = config().sessionKeys[0]!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return [VERSION, keyIdOf(key), iv.toString('base64url'), sealed.toString('base64url')].join('.');
}

/** The plaintext, or null when the envelope is malformed, tampered with, moved, or sealed under a key we no longer hold. */
export function unseal(envelope: string, associatedData: string): string | null {
  const [version, keyId, iv, sealed, extra] = envelope.split('.');
  const key = config().sessionKeys.find((candidate) => keyIdOf(candidate) === keyId);
  if (version !== VERSION || !key || !iv || !sealed || extra !== undefined) return null;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length < 16) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/** Names a key in envelopes without revealing it. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * A keyed hash (IDENTITY_HASH_KEY) of an identity named `account:<appid>:<openid>` or
 * `unionid:<unionid>`: what may outlive a deleted person, and what Redis keys may carry.
 */
export function identityHash(name: string): string {
  return createHmac('sha256', config().identityHashKey).update(name).digest('base64url');
}

/** IDENTITY_HASH_KEY as hex: the key of the hashes Postgres makes itself (phone_key). */
export function identityHashKeyHex(): string {
  return config().identityHashKey.toString('hex');
}
