// The person card: what every session of a person carries about them (cached by the session store,
// shown by /api/me), so that authenticating needs no database read. Built from Postgres by people/.

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
}

/** A card and the people.revision it reflects: cached copies keep the highest they were given. */
export interface PersonCardVersion {
  personId: string;
  revision: number;
  card: PersonCard;
}
