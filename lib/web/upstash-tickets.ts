// Scan-to-login tickets on Upstash Redis: a hash per ticket (wt:<id>) that expires with it, and
// each transition one script, one request. One-time codes are strings (wc:<hash>) read by GETDEL.
import type { Redis } from '@upstash/redis';
import { redisCall, runScript } from '../platform/redis.js';
import type { NewTicket, Grant, OAuthState, ScannerAction, StepOutcome, TicketStore, TicketView } from './ticket-store.js';

/**
 * One step of a ticket. Replies JSON {outcome, ticket}; outcome 'missing' for no ticket (or, on
 * collect, the wrong secret: the caller cannot tell them apart).
 */
const TICKET_STEP = `
local ticketKey = KEYS[1]
local codeKey = KEYS[2]          -- collect: where the scanner goes under the one-time code
local action = ARGV[1]           -- scan, confirm, deny or collect
local actor = ARGV[2]            -- scan/confirm/deny: the person; collect: the secret's hash
local scanner = ARGV[3]          -- scan: the scanner as JSON
local codeTtlMs = tonumber(ARGV[4])

local found = redis.call('HMGET', ticketKey, 'state', 'secret', 'person', 'scanner', 'app', 'req', 'iat', 'exp')
local state = found[1]
if not state or (action == 'collect' and found[2] ~= actor) then return cjson.encode({ outcome = 'missing' }) end

local function reply(outcome, newState)
  if newState then
    redis.call('HSET', ticketKey, 'state', newState)
    state = newState
  end
  return cjson.encode({ outcome = outcome, ticket = { state = state, appid = found[5], requester = cjson.decode(found[6]),
    createdAt = tonumber(found[7]), expiresAt = tonumber(found[8]) } })
end

local byActor = found[3] == actor
if action == 'scan' then
  if state == 'pending' then
    redis.call('HSET', ticketKey, 'person', actor, 'scanner', scanner)
    return reply('ok', 'scanned')
  end
  if state == 'scanned' and byActor then return reply('ok') end
elseif action == 'confirm' then
  if state == 'scanned' and byActor then return reply('ok', 'confirmed') end
elseif action == 'deny' then
  if state == 'scanned' and byActor then return reply('ok', 'denied') end
elseif action == 'collect' then
  if state ~= 'confirmed' then return reply('ok') end
  redis.call('SET', codeKey, found[4], 'PX', codeTtlMs)
  return reply('collected', 'consumed')
end
return reply('conflict')
`;

export class UpstashTicketStore implements TicketStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async create(id: string, ticket: NewTicket): Promise<void> {
    const key = this.ticketKey(id);
    await redisCall(() =>
      this.redis
        .multi()
        .hset(key, {
          state: 'pending',
          secret: ticket.secretHash,
          app: ticket.appid,
          req: JSON.stringify(ticket.requester),
          iat: ticket.createdAt,
          exp: ticket.expiresAt,
        })
        .pexpireat(key, ticket.expiresAt)
        .exec(),
    );
  }

  scan(id: string, scanner: Grant): Promise<StepOutcome> {
    return this.step(id, 'scan', scanner.personId, JSON.stringify(scanner));
  }

  decide(id: string, personId: string, action: ScannerAction): Promise<StepOutcome> {
    return this.step(id, action, personId);
  }

  collect(id: string, secretHash: string, codeHash: string, codeTtlMs: number): Promise<StepOutcome> {
    return this.step(id, 'collect', secretHash, '', codeHash, codeTtlMs);
  }

  async grant(codeHash: string, grant: Grant, ttlMs: number): Promise<void> {
    await redisCall(() => this.redis.set(this.codeKey(codeHash), JSON.stringify(grant), { px: ttlMs }));
  }

  redeem(codeHash: string): Promise<Grant | null> {
    return this.take<Grant>(this.codeKey(codeHash));
  }

  async saveState(state: string, value: OAuthState, ttlMs: number): Promise<void> {
    await redisCall(() => this.redis.set(`${this.prefix}ws:${state}`, JSON.stringify(value), { px: ttlMs }));
  }

  takeState(state: string): Promise<OAuthState | null> {
    return this.take<OAuthState>(`${this.prefix}ws:${state}`);
  }

  /** GETDEL of JSON text (the client may or may not have parsed it already). */
  private async take<T>(key: string): Promise<T | null> {
    const saved = await redisCall(() => this.redis.getdel<T | string>(key));
    return typeof saved === 'string' ? (JSON.parse(saved) as T) : saved;
  }

  private async step(id: string, action: string, actor: string, scanner = '', codeHash = '', codeTtlMs = 0): Promise<StepOutcome> {
    const reply = await runScript<{ outcome: StepOutcome['outcome']; ticket?: TicketView }>(
      this.redis,
      TICKET_STEP,
      [this.ticketKey(id), this.codeKey(codeHash)],
      [action, actor, scanner, codeTtlMs],
    );
    return reply.outcome === 'missing' ? { outcome: 'missing' } : { outcome: reply.outcome, ticket: reply.ticket! };
  }

  private ticketKey(id: string): string {
    return `${this.prefix}wt:${id}`;
  }

  private codeKey(codeHash: string): string {
    return `${this.prefix}wc:${codeHash}`;
  }
}
