// The person card: what every session of a person carries about them (cached by the session store,
// shown by /api/me), so that authenticating needs no database read. Built from Postgres by people/.
import { config } from '../platform/config.js';

import type { AppKind } from '../platform/config.js';

export interface LinkedAccount {
  appid: string;
  openid: string;
  /** The app's kind as configured; null once the app is no longer configured. */
  kind: AppKind | null;
  /** ISO 8601. */
  linkedAt: string;
}

/** What every session of a person shows about them, without a database read. */
export interface PersonCard {
  unionid: string | null;
  /** ISO 8601: the person's first login in any of the company's mini programs. */
  createdAt: string;
  /** Masked (138****0000); null until a number is bound. The number itself never leaves Postgres. */
  phone: string | null;
  /** Every account of the person (mini program, 公众号, 网站应用), oldest first. */
  accounts: LinkedAccount[];
  /** Checked by WeChat's content security; null until set. Cards cached before profiles existed lack it. */
  nickname?: string | null;
  /** The avatar image's content hash (avatarUrl() makes its URL); null until set. */
  avatarHash?: string | null;
}

/**
 * Where an avatar is served: under PUBLIC_BASE_URL (the address WeChat and devices reach) when set,
 * else as a path under the API's own origin. The hash is the content's: the URL never changes meaning.
 */
export function avatarUrl(hash: string | null | undefined): string | null {
  return hash ? `${config().publicBaseUrl ?? ''}/api/avatars/${hash}` : null;
}

/** A card and the people.revision it reflects: cached copies keep the highest they were given. */
export interface PersonCardVersion {
  personId: string;
  revision: number;
  card: PersonCard;
}
