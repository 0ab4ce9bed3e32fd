// Never run: compiled by `npm run typecheck` (tsc --strict), it holds the kit's index.d.ts to the
// ways a TypeScript mini program uses it. A line under @ts-expect-error must stay an error.
import { createClient, request, WxLoginError } from '../miniprogram/wxlogin/index.js';

// A request body typed as an interface (no index signature) is accepted.
interface ClaimBody {
  benefit: string;
}
const body: ClaimBody = { benefit: 'welcome-gift' };
export const claimed = request<{ claimedAt: string }>({ url: '/api/claims', method: 'POST', data: body, header: { 'Idempotency-Key': 'k' } });

// WxLoginError is constructed as it runs: (code, message, fields).
const error = new WxLoginError('network_error', '网络不可用，请检查网络后重试', { errMsg: 'request:fail timeout' });
export const described: string = `${error.code} ${error.status} ${error.errMsg ?? ''}`;
// @ts-expect-error: a message alone is not a WxLoginError
export const messageOnly = new WxLoginError('something failed');

// The platform's own request options pass through, and each try's RequestTask is reachable.
const client = createClient({ baseUrl: 'https://example.com', trustedOrigins: ['https://files.example.com'], loginTimeout: 5000 });
export const bytes = client.request<ArrayBuffer>({
  url: 'https://files.example.com/avatar.png',
  dataType: '其他',
  responseType: 'arraybuffer',
  enableHttp2: true,
  enableCache: true,
  onTask: (task) => task.abort(),
});
// @ts-expect-error: a misspelt option is caught
export const typo = client.request({ url: '/api/me', enableHtp2: true });
