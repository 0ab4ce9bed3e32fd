// Scan-to-login tickets in this process's memory, for `npm run dev` without Upstash: the same
// transitions as redis-tickets.ts's script, checked by the same contract test.
import type { NewTicket, Grant, OAuthState, ScannerAction, StepOutcome, TicketState, TicketStore } from './ticket-store.js';

interface Held extends NewTicket {
  state: TicketState;
  scanner: Grant | null;
}

export class MemoryTicketStore implements TicketStore {
  private readonly tickets = new Map<string, Held>();
  private readonly codes = new Map<string, { value: Grant; expiresAt: number }>();
  private readonly states = new Map<string, { value: OAuthState; expiresAt: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  async create(id: string, ticket: NewTicket): Promise<void> {
    this.tickets.set(id, { ...ticket, state: 'pending', scanner: null });
  }

  async scan(id: string, scanner: Grant): Promise<StepOutcome> {
    const ticket = this.live(id);
    if (!ticket) return { outcome: 'missing' };
    if (ticket.state === 'pending') {
      Object.assign(ticket, { state: 'scanned', scanner });
      return this.reply('ok', ticket);
    }
    return this.reply(ticket.state === 'scanned' && ticket.scanner?.personId === scanner.personId ? 'ok' : 'conflict', ticket);
  }

  async decide(id: string, personId: string, action: ScannerAction): Promise<StepOutcome> {
    const ticket = this.live(id);
    if (!ticket) return { outcome: 'missing' };
    if (ticket.state !== 'scanned' || ticket.scanner?.personId !== personId) return this.reply('conflict', ticket);
    ticket.state = action === 'confirm' ? 'confirmed' : 'denied';
    return this.reply('ok', ticket);
  }

  async collect(id: string, secretHash: string, codeHash: string, codeTtlMs: number): Promise<StepOutcome> {
    const ticket = this.live(id);
    if (!ticket || ticket.secretHash !== secretHash) return { outcome: 'missing' };
    if (ticket.state !== 'confirmed') return this.reply('ok', ticket);
    this.codes.set(codeHash, { value: ticket.scanner!, expiresAt: this.clock() + codeTtlMs });
    ticket.state = 'consumed';
    return this.reply('collected', ticket);
  }

  async grant(codeHash: string, grant: Grant, ttlMs: number): Promise<void> {
    this.codes.set(codeHash, { value: grant, expiresAt: this.clock() + ttlMs });
  }

  async redeem(codeHash: string): Promise<Grant | null> {
    return this.take(this.codes, codeHash);
  }

  async saveState(state: string, value: OAuthState, ttlMs: number): Promise<void> {
    this.states.set(state, { value, expiresAt: this.clock() + ttlMs });
  }

  async takeState(state: string): Promise<OAuthState | null> {
    return this.take(this.states, state);
  }

  private take<T>(held: Map<string, { value: T; expiresAt: number }>, key: string): T | null {
    const found = held.get(key);
    held.delete(key);
    return found && found.expiresAt > this.clock() ? found.value : null;
  }

  private live(id: string): Held | undefined {
    const ticket = this.tickets.get(id);
    if (ticket && ticket.expiresAt <= this.clock()) this.tickets.delete(id);
    return this.tickets.get(id);
  }

  private reply(outcome: 'ok' | 'conflict' | 'collected', { state, appid, requester, createdAt, expiresAt }: Held): StepOutcome {
    return { outcome, ticket: { state, appid, requester, createdAt, expiresAt } };
  }
}
