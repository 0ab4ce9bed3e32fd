// A profile people recognise: the nickname and avatar a person chose (头像昵称填写), one across every
// mini program, carried on their card. A nickname is checked by WeChat's msg_sec_check before it
// is stored. An image is stored by content hash, shown at once (WeChat must download it to check
// it) and taken down when media_check_async's verdict, pushed later, is risky.
import { createHash } from 'node:crypto';
import { config, type WechatApp } from '../platform/config.js';
import { ApiError, unauthorized } from '../platform/errors.js';
import { query, QUERY_TIMEOUT_MS } from '../platform/postgres.js';
import { REDIS_REQUEST_MAX_MS } from '../platform/redis.js';
import { requireTimeFor, type RequestContext } from '../platform/request-context.js';
import { avatarUrl, type PersonCard, type PersonCardVersion } from '../sessions/card.js';
import { refreshCards, requireSession } from '../sessions/tokens.js';
import { checkText, requestImageCheck, verdictOf } from '../wechat/content-security.js';
import { cardsFrom } from './records.js';

export const AVATAR_MAX_BYTES = 256 * 1024;

export interface Profile {
  nickname: string | null;
  avatarUrl: string | null;
}

export type ImageType = 'image/jpeg' | 'image/png' | 'image/webp';

/** The profile as the card shows it. */
export function profileOf(card: PersonCard): Profile {
  return { nickname: card.nickname ?? null, avatarUrl: avatarUrl(card.avatarHash) };
}

/** Sets the person's nickname once WeChat passes it (null clears it); 400 content_rejected otherwise. */
export async function setNickname(token: string, nickname: string | null, context: RequestContext): Promise<Profile> {
  const { session } = await requireSession(token, context);
  if (nickname !== null) {
    const verdict = await checkText(appOf(session.appid), session.openid, nickname, wechatDeadline(context));
    // review too: a name other people see is not shown before a human would have looked.
    if (verdict.suggest !== 'pass') throw rejected(`WeChat rated the nickname ${verdict.suggest}`, verdict.label);
  }
  return saved(await cardsFrom('set_nickname($1, $2)', [session.personId, nickname]), context);
}

/**
 * Makes `bytes` the person's avatar: JPEG, PNG or WebP by their magic bytes (never the name or the
 * declared type), stored once per content hash. New bytes are sent to WeChat's image check first;
 * when WeChat cannot be asked, nothing changes (503).
 */
export async function setAvatar(token: string, bytes: Uint8Array, context: RequestContext): Promise<Profile> {
  const { session } = await requireSession(token, context);
  const mediaType = imageTypeOf(bytes);
  if (!mediaType) throw new ApiError('unsupported_image', { detail: 'The bytes are not a JPEG, PNG or WebP image' });
  const app = appOf(session.appid);
  const hash = createHash('sha256').update(bytes).digest('hex');
  const mediaUrl = publicAvatarUrl(hash);
  const [stored] = await query<{ state: string }>('select store_avatar($1, $2, $3) as state', [hash, mediaType, bytes]);
  if (stored?.state === 'taken_down') throw rejected('This image was taken down before', null);
  let traceId: string | null = null;
  try {
    if (stored?.state === 'unchecked') traceId = await requestImageCheck(app, session.openid, mediaUrl, wechatDeadline(context));
    requireTimeFor(context.deadline, QUERY_TIMEOUT_MS + REDIS_REQUEST_MAX_MS, 'use_avatar');
    return await saved(await cardsFrom('use_avatar($1, $2, $3)', [session.personId, hash, traceId]), context);
  } catch (error) {
    // Bytes nobody shows are not kept (should Postgres fail here too, the first failure is the answer).
    await query('select drop_unused_avatar($1)', [hash]).catch(() => {});
    throw error;
  }
}

/** An avatar's bytes and type by its hash; null once replaced, taken down or deleted. */
export async function avatarImage(hash: string): Promise<{ mediaType: ImageType; bytes: Buffer } | null> {
  const [row] = await query<{ media_type: ImageType; bytes: Buffer }>('select media_type, bytes from avatars where hash = $1', [hash]);
  return row ? { mediaType: row.media_type, bytes: row.bytes } : null;
}

/**
 * A verdict media_check_async pushed (a wxa_media_check event): risky takes the image down for
 * everyone showing it; review leaves it for operators; an errcode (WeChat could not fetch the
 * image) counts as review. Unknown or repeated trace ids change nothing.
 */
export async function applyImageVerdict(event: Record<string, unknown>): Promise<void> {
  if (event.Event !== 'wxa_media_check' || typeof event.trace_id !== 'string') return;
  const errcode = Number(event.errcode ?? 0);
  const verdict = errcode === 0 ? verdictOf(event.result) : { suggest: 'review' as const, label: 0 };
  if (!verdict) return;
  await refreshCards(await cardsFrom('avatar_verdict($1, $2, $3)', [event.trace_id, verdict.suggest, verdict.label]));
}

/** An operator takes a live person's nickname or avatar down (for everyone showing that image), audited under `actor`. */
export async function takeDown(personId: string, what: 'nickname' | 'avatar', reason: string, actor: string): Promise<void> {
  const cards =
    what === 'nickname'
      ? await cardsFrom('take_down_nickname($1, $2, $3)', [personId, reason, actor])
      : await cardsFrom(
          `take_down_avatar((select avatar_hash from profiles where person_id = $1 and avatar_hash is not null), $2, $3)`,
          [personId, reason, actor],
        );
  await refreshCards(cards);
}

/** JPEG (FF D8 FF), PNG (its 8-byte signature) or WebP (RIFF....WEBP), by the first bytes alone. */
export function imageTypeOf(bytes: Uint8Array): ImageType | null {
  const head = Buffer.from(bytes.subarray(0, 12));
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.length === 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

/** WeChat's answer must leave time to store what it allowed and show it on the card. */
function wechatDeadline(context: RequestContext): number {
  return context.deadline - QUERY_TIMEOUT_MS - REDIS_REQUEST_MAX_MS;
}

function appOf(appid: string): WechatApp {
  const app = config().apps.get(appid);
  if (!app) throw new ApiError('unknown_app', { detail: 'This session\'s mini program is no longer configured' });
  return app;
}

/** The avatar's absolute URL, which WeChat's image check downloads. */
function publicAvatarUrl(hash: string): string {
  if (!config().publicBaseUrl) {
    throw new ApiError('server_misconfigured', { detail: 'Set PUBLIC_BASE_URL: WeChat\'s image check downloads avatars from it' });
  }
  return avatarUrl(hash)!;
}

async function saved(cards: PersonCardVersion[], context: RequestContext): Promise<Profile> {
  const [card] = cards;
  if (!card) throw unauthorized('The session\'s person no longer exists');
  requireTimeFor(context.deadline, REDIS_REQUEST_MAX_MS, 'refresh_cards');
  await refreshCards([card]);
  return profileOf(card.card);
}

function rejected(detail: string, label: number | null): ApiError {
  return new ApiError('content_rejected', { detail, extensions: label === null ? {} : { label } });
}
