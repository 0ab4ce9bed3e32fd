// Where scan-to-login tickets live: the contract. Each transition is one atomic step (a Redis
// script on Upstash, see upstash-tickets.ts; memory-tickets.ts for `npm run dev` without Upstash).
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

/** The person who scanned, with what their web session will carry. */
export interface Scanner {
  personId: string;
  appid: string;
  openid: string;
  card: PersonCard;
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
  scan(id: string, scanner: Scanner): Promise<StepOutcome>;
  /** scanned by this person → confirmed or denied. */
  decide(id: string, personId: string, action: ScannerAction): Promise<StepOutcome>;
  /**
   * For the holder of the secret only (anyone else: missing). A confirmed ticket becomes consumed
   * and its scanner is saved under `codeHash` for `codeTtlMs`, once; other states are reported.
   */
  collect(id: string, secretHash: string, codeHash: string, codeTtlMs: number): Promise<StepOutcome>;
  /** The scanner saved under a one-time code, removed as it is read; null: unknown, used or expired. */
  redeem(codeHash: string): Promise<Scanner | null>;
}
