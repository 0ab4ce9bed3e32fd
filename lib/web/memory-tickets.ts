// Scan-to-login tickets in this process's memory, for `npm run dev` without Upstash: the same
// transitions as upstash-tickets.ts's script, checked by the same contract test.
import type { NewTicket, Scanner, ScannerAction, StepOutcome, TicketState, TicketStore } from './ticket-store.js';

interface Held extends NewTicket {
  state: TicketState;
  scanner: Scanner | null;
}

export class MemoryTicketStore implements TicketStore {
  private readonly tickets = new Map<string, Held>();
  private readonly codes = new Map<string, { scanner: Scanner; expiresAt: number }>();

  constructor(private readonly clock: () => number = Date.now) {}

  async create(id: string, ticket: NewTicket): Promise<void> {
    this.tickets.set(id, { ...ticket, state: 'pending', scanner: null });
  }

  async scan(id: string, scanner: Scanner): Promise<StepOutcome> {
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
    this.codes.set(codeHash, { scanner: ticket.scanner!, expiresAt: this.clock() + codeTtlMs });
    ticket.state = 'consumed';
    return this.reply('collected', ticket);
  }

  async redeem(codeHash: string): Promise<Scanner | null> {
    const held = this.codes.get(codeHash);
    this.codes.delete(codeHash);
    return held && held.expiresAt > this.clock() ? held.scanner : null;
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
