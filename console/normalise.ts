// What operators paste is forgiven before it is sent: full-width digits and letters (from Chinese
// input methods), zero-width and bidi marks (from chat apps and spreadsheets), spaces, dashes and
// brackets in phone numbers, a +86 or 0086 prefix, upper-case ids.

/** Invisible characters that ride along with copied text. */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** Full-width ASCII (U+FF01–FF5E) as ASCII, the ideographic space as a space, invisibles gone, trimmed. */
export function plain(text: string): string {
  return text
    .replace(/[\uff01-\uff5e]/g, (char) => String.fromCharCode(char.charCodeAt(0) - 0xfee0))
    .replace(/\u3000/g, ' ')
    .replace(INVISIBLE, '')
    .trim();
}

/** A phone number as the API takes it: digits, +<country code> kept, a mainland +86/0086 dropped. */
export function phone(text: string): string {
  const compact = plain(text).replace(/[\s\-–—.()（）]/g, '').replace(/^00/, '+');
  return compact.replace(/^\+86(?=1\d{10}$)/, '');
}

/** Person ids (UUIDs) are lower case; pasted ones often are not. */
export function personId(text: string): string {
  return plain(text).replace(/\s/g, '').toLowerCase();
}

/** openid, unionid and appid are case-sensitive: only what cannot belong to them goes. */
export function wechatId(text: string): string {
  return plain(text).replace(/\s/g, '');
}
