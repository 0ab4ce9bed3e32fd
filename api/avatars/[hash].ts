import { endpoint } from '../../lib/http/endpoint.js';
import { text } from '../../lib/http/input.js';
import { avatarImage } from '../../lib/people/profile.js';
import { ApiError } from '../../lib/platform/errors.js';

const avatarHash = text(/^[0-9a-f]{64}$/, 'an avatar\'s SHA-256 hash (64 lowercase hex digits)');

export default endpoint('/api/avatars/[hash]', {
  /**
   * The image, public and byte for byte: its URL is its content's hash, so it never changes and is
   * cached for a year. Gone (404) once replaced by everyone, taken down or deleted.
   */
  async GET(request, _context, params) {
    const hash = avatarHash(params.hash, 'hash');
    if (request.headers.get('if-none-match') === `"${hash}"`) return new Response(null, { status: 304, headers: cachedForever(hash) });
    const image = await avatarImage(hash);
    if (!image) throw new ApiError('avatar_not_found');
    return new Response(new Uint8Array(image.bytes), {
      status: 200,
      headers: { ...cachedForever(hash), 'Content-Type': image.mediaType },
    });
  },
});

/**
 * Browsers and WeChat keep it a year without asking. CDNs keep none (CDN-Cache-Control, RFC 9213,
 * which Vercel's CDN obeys before Cache-Control): no copy a deletion could not reach. nosniff and
 * a sandboxing CSP: it is only ever an image.
 */
function cachedForever(hash: string): Record<string, string> {
  return {
    'Cache-Control': 'public, max-age=31536000, immutable',
    'CDN-Cache-Control': 'no-store',
    ETag: `"${hash}"`,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
}
