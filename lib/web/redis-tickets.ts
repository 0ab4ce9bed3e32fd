// Scan-to-login tickets in Redis (Upstash or TCP): a hash per ticket (wt:<id>) that expires with
// it, and each transition one script, one request. One-time codes are strings (wc:<hash>) read by GETDEL.
import { runScript, type RedisClient } from '../platform/redis.js';
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

/** A new ticket, pending, expiring with its `exp`. */
const CREATE_TICKET = `
redis.call('HSET', KEYS[1], 'state', 'pending', 'secret', ARGV[1], 'app', ARGV[2], 'req', ARGV[3], 'iat', ARGV[4], 'exp', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1
`;
/** A JSON value for a while (a one-time code's grant, an OAuth state). */
const PUT = `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1`;
/** The value once: nil for a missing or used key. */
const TAKE = `return redis.call('GETDEL', KEYS[1])`;

export class RedisTicketStore implements TicketStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async create(id: string, ticket: NewTicket): Promise<void> {
    const { secretHash, appid, requester, createdAt, expiresAt } = ticket;
    await runScript(this.redis, CREATE_TICKET, [this.ticketKey(id)], [secretHash, appid, JSON.stringify(requester), createdAt, expiresAt]);
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
    await runScript(this.redis, PUT, [this.codeKey(codeHash)], [JSON.stringify(grant), ttlMs]);
  }

  redeem(codeHash: string): Promise<Grant | null> {
    return this.take<Grant>(this.codeKey(codeHash));
  }

  async saveState(state: string, value: OAuthState, ttlMs: number): Promise<void> {
    await runScript(this.redis, PUT, [`${this.prefix}ws:${state}`], [JSON.stringify(value), ttlMs]);
  }

  takeState(state: string): Promise<OAuthState | null> {
    return this.take<OAuthState>(`${this.prefix}ws:${state}`);
  }

  /** GETDEL of JSON text, parsed (runScript parses text replies). */
  private take<T>(key: string): Promise<T | null> {
    return runScript<T | null>(this.redis, TAKE, [key], []);
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
