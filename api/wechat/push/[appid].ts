import { endpoint } from '../../../lib/http/endpoint.js';
import { optional, readObject, readQuery, text } from '../../../lib/http/input.js';
import { applyImageVerdict } from '../../../lib/people/profile.js';
import { config } from '../../../lib/platform/config.js';
import { ApiError } from '../../../lib/platform/errors.js';
import { openPush, signedByWechat } from '../../../lib/wechat/push.js';

const word = text(/^[A-Za-z0-9_-]{1,128}$/, 'what WeChat sends');
const pushQuery = { signature: word, timestamp: word, nonce: word, encrypt_type: optional(word), msg_signature: optional(word), openid: optional(word) };

/** Each mini program's 消息推送 URL: https://<PUBLIC_BASE_URL host>/api/wechat/push/<appid>. */
export default endpoint('/api/wechat/push/[appid]', {
  /** WeChat's URL verification (提交 in 消息推送配置): echo echostr when the signature is WeChat's. */
  async GET(request, _context, params) {
    const { echostr, ...query } = readQuery(request, { ...pushQuery, echostr: word });
    const push = pushOf(params.appid!);
    if (!signedByWechat(push, query)) throw new ApiError('push_refused', { detail: 'The signature does not match this app\'s Token' });
    return plainText(echostr);
  },

  /** A pushed event; wxa_media_check verdicts are applied, the others acknowledged. */
  async POST(request, _context, params) {
    const appid = params.appid!;
    const query = readQuery(request, pushQuery);
    const push = pushOf(appid);
    const event = await openPush(appid, push, query, await readObject(request));
    await applyImageVerdict(event);
    return plainText('success');
  },
});

function pushOf(appid: string) {
  const push = config().wechatPush.get(appid);
  if (!push) throw new ApiError('unknown_app', { detail: 'No 消息推送 Token is configured for this appid (WECHAT_PUSH)' });
  return push;
}

/** WeChat reads the body as text: the echostr, or "success". */
function plainText(body: string): Response {
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
