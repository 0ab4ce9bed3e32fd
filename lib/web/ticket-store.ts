// Where scan-to-login tickets live: the contract. Each transition is one atomic step (a Redis
// script on Upstash, see redis-tickets.ts; memory-tickets.ts for `npm run dev` without Upstash).
import type { PersonCard } from '../sessions/card.js';

/**
 * pending → scanned → confirmed → consumed, or → denied; a ticket past its lifetime is gone
 * (expired). consumed and denied stay until then, so a replay finds them.
 */
export type TicketState = 'pending' | 'scanned' | 'confirmed' | 'consumed' | 'denied';

/** What the confirm page shows about the browser asking to sign in. */
export interface Requester {
  /** The site's origin as the browser sent it; null when it sent none. */
  site: string | null;
  /** The browser's address as we saw it; null without a trusted one. */
  address: string | null;
  /** Its User-Agent, cut short. */
  device: string;
}

export interface NewTicket {
  /** SHA-256 (hex) of the browser's secret: the store never holds the secret. */
  secretHash: string;
  /** The mini program whose code the browser shows. */
  appid: string;
  requester: Requester;
  createdAt: number;
  expiresAt: number;
}

/** Who a one-time code signs in (the person who scanned, or who came back from WeChat's page), with what their web session will carry. */
export interface Grant {
  personId: string;
  appid: string;
  openid: string;
  card: PersonCard;
  /** The card's people.revision: 0 when it came from a mini program session (it never replaces a stored one). */
  revision: number;
  /** A person this sign-in merged into personId, whose sessions move over. */
  foldedPersonId: string | null;
}

/** A 公众号 / 网站应用 sign-in between the authorize redirect and WeChat's callback. */
export interface OAuthState {
  appid: string;
  scope: 'snsapi_base' | 'snsapi_userinfo' | 'snsapi_login';
  returnTo: string;
}

export interface TicketView {
  state: TicketState;
  appid: string;
  requester: Requester;
  createdAt: number;
  expiresAt: number;
}

/** ok: the step happened (or had, for the same person); conflict: the ticket is in another state or someone else's. */
/** collected: this call consumed a confirmed ticket (collect only). */
export type StepOutcome = { outcome: 'ok' | 'conflict' | 'collected'; ticket: TicketView } | { outcome: 'missing' };

export type ScannerAction = 'confirm' | 'deny';

export interface TicketStore {
  create(id: string, ticket: NewTicket): Promise<void>;
  /** pending → scanned by this person; again by the same person: ok. */
  scan(id: string, scanner: Grant): Promise<StepOutcome>;
  /** scanned by this person → confirmed or denied. */
  decide(id: string, personId: string, action: ScannerAction): Promise<StepOutcome>;
  /**
   * For the holder of the secret only (anyone else: missing). A confirmed ticket becomes consumed
   * and its scanner is saved under `codeHash` for `codeTtlMs`, once; other states are reported.
   */
  collect(id: string, secretHash: string, codeHash: string, codeTtlMs: number): Promise<StepOutcome>;
  /** Saves a grant under a one-time code for `ttlMs` (公众号 and 网站应用 sign-ins). */
  grant(codeHash: string, grant: Grant, ttlMs: number): Promise<void>;
  /** The grant saved under a one-time code, removed as it is read; null: unknown, used or expired. */
  redeem(codeHash: string): Promise<Grant | null>;
  saveState(state: string, value: OAuthState, ttlMs: number): Promise<void>;
  /** The sign-in under `state`, removed as it is read: a state works once. */
  takeState(state: string): Promise<OAuthState | null>;
}
