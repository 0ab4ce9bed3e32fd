// Scan-to-login: a PC site shows the company's mini program code; the person scans it, sees who is
// asking (site, address, device, time) and confirms in the mini program; the browser that holds
// the ticket's secret collects a one-time code; the site's backend exchanges it for a web session.
// The ticket id is the code's `scene`: public by design. The secret never leaves that browser.
import { randomBytes } from 'node:crypto';
import { config } from '../platform/config.js';
import { ApiError } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { appOfKind } from '../people/login.js';
import { applyLimit, hitWebTicketPerIp } from '../sessions/rate-limit.js';
import type { Authenticated } from '../sessions/tokens.js';
import { miniProgramCode } from '../wechat/mini-program-code.js';
import { CODE_LIFETIME_MS, digest, newCode, ticketStore } from './grants.js';
import type { Requester, ScannerAction, StepOutcome, TicketView } from './ticket-store.js';

/** Long enough to find the phone and scan, short enough that a relayed code goes stale. */
export const TICKET_LIFETIME_MS = 120_000;
/** 18 bytes: 144 bits in 24 base64url characters, all of them allowed in a `scene`. */
const TICKET_ID = /^[A-Za-z0-9_-]{24}$/;
/** Launch scenes of a code that was not scanned live: long-pressed in a chat image (1048), picked from the album (1049). */
const FORWARDED_SCENES = new Set([1048, 1049]);

export interface IssuedTicket {
  /** The ticket id, and the code's scene. */
  ticket: string;
  /** Only this browser holds it: collecting needs it. */
  secret: string;
  expiresAt: string;
  /** The mini program code, as a data: URL. */
  qrCode: string;
}

/** What the confirm page shows. */
export interface TicketDetails extends Requester {
  state: TicketView['state'];
  createdAt: string;
  expiresAt: string;
}

export type Collected = { state: 'pending' | 'scanned' | 'denied' } | { state: 'confirmed'; code: string; codeExpiresAt: string };

/** A new ticket and its code, for the browser asking (`requester`). Counted against its address's limit. */
export async function createTicket(appid: string | undefined, requester: Requester, context: RequestContext): Promise<IssuedTicket> {
  const app = appOfKind('miniprogram', appid);
  applyLimit(context.clientIp === null ? null : await hitWebTicketPerIp(context.clientIp), 'webTicketPerIp', context);
  const id = randomBytes(18).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const createdAt = Date.now();
  const expiresAt = createdAt + TICKET_LIFETIME_MS;
  // A ticket whose code never arrives simply expires.
  const [code] = await Promise.all([
    miniProgramCode(app, id, config().webLogin, context.deadline),
    ticketStore().create(id, { secretHash: digest(secret), appid: app.appid, requester, createdAt, expiresAt }),
  ]);
  return { ticket: id, secret, expiresAt: new Date(expiresAt).toISOString(), qrCode: `data:${code.contentType};base64,${code.image.toString('base64')}` };
}

/**
 * The mini program opened the code: the ticket is this person's to decide now. Refused when the
 * code was forwarded rather than scanned (launch scene 1048, 1049): the QRLJacking path.
 */
export async function scanTicket(id: string, launchScene: number, { session, person }: Authenticated): Promise<TicketDetails> {
  if (FORWARDED_SCENES.has(launchScene)) {
    throw new ApiError('ticket_forwarded', { detail: 'Scan the code on the screen you want to sign in to; a forwarded code cannot be used' });
  }
  requireMiniProgram(session.channel);
  // Revision 0: the card is the one the person's mini program session carried; it never replaces a
  // card the store holds, and any later change of the person replaces it.
  const grant = { personId: person.id, appid: session.appid, openid: session.openid, card: person.card, revision: 0, foldedPersonId: null };
  const scanned = await ticketStore().scan(checkedId(id), grant);
  return detailsOf(settled(scanned));
}

/** The person who scanned confirms or denies, after an explicit tap. */
export async function decideTicket(id: string, action: ScannerAction, { session, person }: Authenticated): Promise<void> {
  requireMiniProgram(session.channel);
  settled(await ticketStore().decide(checkedId(id), person.id, action));
}

/** For the browser holding the secret: the ticket's state, and once confirmed a one-time code (once). */
export async function collectTicket(id: string, secret: string): Promise<Collected> {
  const code = newCode();
  const collected = await ticketStore().collect(checkedId(id), digest(secret), digest(code.code), CODE_LIFETIME_MS);
  if (collected.outcome === 'collected') return { state: 'confirmed', ...code };
  const { state } = settled(collected);
  if (state === 'pending' || state === 'scanned' || state === 'denied') return { state };
  throw new ApiError('ticket_conflict', { detail: 'This ticket was collected already' });
}

/** Web sessions cannot vouch for more web sessions: only a mini program session scans. */
function requireMiniProgram(channel: string): void {
  if (channel !== 'miniprogram') throw new ApiError('ticket_conflict', { detail: 'Confirm a web sign-in from the mini program' });
}

function settled(step: StepOutcome): TicketView {
  if (step.outcome === 'missing') throw new ApiError('ticket_not_found');
  if (step.outcome === 'conflict') throw new ApiError('ticket_conflict', { detail: `The ticket is ${step.ticket.state}, or another person's` });
  return step.ticket;
}

function detailsOf({ state, requester, createdAt, expiresAt }: TicketView): TicketDetails {
  return { state, ...requester, createdAt: new Date(createdAt).toISOString(), expiresAt: new Date(expiresAt).toISOString() };
}

function checkedId(id: string): string {
  if (!TICKET_ID.test(id)) throw new ApiError('ticket_not_found');
  return id;
}

