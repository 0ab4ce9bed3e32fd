import { bearerToken, endpoint, json } from '../../lib/http/endpoint.js';
import { readBytes } from '../../lib/http/input.js';
import { AVATAR_MAX_BYTES, setAvatar } from '../../lib/people/profile.js';
import { ApiError, invalid } from '../../lib/platform/errors.js';

/** Room for a multipart body's boundaries and part headers around the image. */
const MULTIPART_OVERHEAD_BYTES = 4096;

export default endpoint('/api/me/avatar', {
  /** The image as the body (wx.request with an ArrayBuffer); its type is read from its bytes. */
  async PUT(request, context) {
    const token = bearerToken(request);
    const bytes = await readBytes(request, AVATAR_MAX_BYTES);
    return json(200, { profile: await setAvatar(token, bytes, context) });
  },

  /** The image as the one file of a multipart/form-data body: what wx.uploadFile sends. */
  async POST(request, context) {
    const token = bearerToken(request);
    const body = await readBytes(request, AVATAR_MAX_BYTES + MULTIPART_OVERHEAD_BYTES);
    let files: File[];
    try {
      const form = await new Response(new Uint8Array(body), { headers: { 'content-type': request.headers.get('content-type') ?? '' } }).formData();
      files = [...form.values()].filter((value): value is File => typeof value !== 'string');
    } catch {
      throw invalid('Send the image as multipart/form-data (wx.uploadFile), or PUT it as the body');
    }
    if (files.length !== 1) throw invalid('Send exactly one file');
    const bytes = new Uint8Array(await files[0]!.arrayBuffer());
    if (bytes.length > AVATAR_MAX_BYTES) throw new ApiError('payload_too_large', { detail: `Images are limited to ${AVATAR_MAX_BYTES} bytes` });
    return json(200, { profile: await setAvatar(token, bytes, context) });
  },
});
