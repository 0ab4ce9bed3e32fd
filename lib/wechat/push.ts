// WeChat's 消息推送 to a mini program's server (开发管理 → 消息推送配置, data format JSON): which
// requests are WeChat's, and what they carry. 明文模式 signs Token, timestamp and nonce only, not
// the body; 安全模式 also signs the ciphertext (msg_signature) and encrypts the body with the
// EncodingAESKey (AES-256-CBC): use it. A push is accepted once, within five minutes of its timestamp.
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import type { WechatPush } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import { runScript, sharedRedis } from '../platform/redis.js';
import { config } from '../platform/config.js';

/** The query WeChat signs its requests with (a verification GET adds echostr, 安全模式 encrypt_type and msg_signature). */
export interface PushQuery {
  signature: string;
  timestamp: string;
  nonce: string;
  encrypt_type?: string | undefined;
  msg_signature?: string | undefined;
}

const FRESH_SECONDS = 300;
const delivered = new Map<string, number>();

/** Whether WeChat signed this query with the app's Token: the URL verification GET, and 明文模式 pushes. */
export function signedByWechat(push: WechatPush, { signature, timestamp, nonce }: PushQuery): boolean {
  return sameDigest(signature, sha1Sorted([push.token, timestamp, nonce]));
}

/**
 * The event a push carries, once it is proven WeChat's, fresh and new; 403 push_refused otherwise.
 * `body` is the JSON object WeChat posted.
 */
export async function openPush(appid: string, push: WechatPush, query: PushQuery, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const age = Math.abs(Date.now() / 1000 - Number(query.timestamp));
  if (!/^\d{1,12}$/.test(query.timestamp) || age > FRESH_SECONDS) throw refused('The timestamp is not within five minutes of now');
  const event = push.aesKey ? decrypted(appid, push, query, body) : plain(push, query, body);
  // The signature stands for this delivery: the same one again is a replay.
  const proof = query.msg_signature ?? query.signature;
  if (!(await firstDelivery(`${appid}:${proof}:${query.nonce}`))) throw refused('This push was delivered already');
  return event;
}

function plain(push: WechatPush, query: PushQuery, body: Record<string, unknown>): Record<string, unknown> {
  if (!signedByWechat(push, query)) throw refused('The signature does not match this app\'s Token');
  return body;
}

function decrypted(appid: string, push: WechatPush, query: PushQuery, body: Record<string, unknown>): Record<string, unknown> {
  const ciphertext = body.Encrypt;
  if (query.encrypt_type !== 'aes' || typeof ciphertext !== 'string' || !query.msg_signature) throw refused('安全模式 pushes carry encrypt_type=aes, msg_signature and Encrypt');
  if (!sameDigest(query.msg_signature, sha1Sorted([push.token, query.timestamp, query.nonce, ciphertext]))) {
    throw refused('msg_signature does not match this app\'s Token and the ciphertext');
  }
  try {
    const key = push.aesKey!;
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16)).setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(ciphertext, 'base64'), decipher.final()]);
    // PKCS#7 over 32-byte blocks; then 16 random bytes, the message's length (4 bytes, big-endian), the message, the appid.
    const plaintext = padded.subarray(0, padded.length - padded[padded.length - 1]!);
    const length = plaintext.readUInt32BE(16);
    if (plaintext.subarray(20 + length).toString('utf8') !== appid) throw new Error('another appid');
    const event: unknown = JSON.parse(plaintext.subarray(20, 20 + length).toString('utf8'));
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new Error('not an object');
    return event as Record<string, unknown>;
  } catch {
    throw refused('The ciphertext does not open with this app\'s EncodingAESKey');
  }
}

/** 1 when the key was not there (and now is, for ARGV[1] seconds), 0 when it was. */
const FIRST_DELIVERY = `if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 1 else return 0 end`;

/** True the first time `delivery` is seen (in Redis, shared by instances; in memory without). */
async function firstDelivery(delivery: string): Promise<boolean> {
  const redis = sharedRedis();
  // Kept past the freshness window on either side: after it, the timestamp refuses the replay.
  const keepSeconds = 2 * FRESH_SECONDS + 60;
  if (redis) return (await runScript<number>(redis, FIRST_DELIVERY, [`${config().redisKeyPrefix}push:${delivery}`], [keepSeconds])) === 1;
  const now = Date.now();
  for (const [key, until] of delivered) if (until < now) delivered.delete(key);
  if (delivered.has(delivery)) return false;
  delivered.set(delivery, now + keepSeconds * 1000);
  return true;
}

function sha1Sorted(parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

function sameDigest(presented: string, expected: string): boolean {
  const a = Buffer.from(presented.toLowerCase());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function refused(detail: string): ApiError {
  return new ApiError('push_refused', { detail });
}
