// Never run: compiled by `npm run typecheck` (tsc --strict), it holds the kit's index.d.ts to the
// ways a TypeScript mini program uses it. A line under @ts-expect-error must stay an error.
import type * as Kit from '../miniprogram/wxlogin/index.js';
import { benefits, bindPhone, claim, consents, createClient, me, messageFor, recordConsent, request, withdrawConsent, WxLoginError } from '../miniprogram/wxlogin/index.js';

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

// The backend's own calls: the phone result narrows on its status; failures carry their fields.
export async function bindAndClaim(event: Kit.PhoneNumberEvent): Promise<string> {
  const binding = await bindPhone(event);
  if (binding.status === 'denied') return binding.errMsg;
  const [first] = await benefits();
  const reason = first?.status === 'ineligible' ? messageFor('claim_refused', first.reason) : '';
  const claimed = await claim('welcome-gift').catch((failure: WxLoginError) => (failure.tapAgain ? null : failure.data));
  return `${binding.purePhoneNumber} ${reason} ${JSON.stringify(claimed)} ${(await me()).phone ?? ''}`;
}

// Any object with wx's request, login and storage calls serves as the platform (uni, Taro).
declare const uni: Kit.PlatformApi;
export const uniClient = createClient({ baseUrl: 'https://example.com', platform: uni, language: 'en' });

// Consents: recorded after the person agreed, listed with their state, withdrawn by document.
export async function agreeOnce(version: string): Promise<boolean> {
  const recorded: Kit.Consent = await recordConsent('privacy', version);
  await withdrawConsent('marketing');
  return (await consents()).some((consent) => consent.withdrawnAt === null && consent.version === recorded.version);
}
// @ts-expect-error: a version is required
export const unversioned = recordConsent('privacy');
