// The audit trail: who did what to whom and when (the events table), read by operators a page at a
// time, and pruned past EVENTS_RETENTION_DAYS.
import { config } from '../platform/config.js';
import { query } from '../platform/postgres.js';
import { ROLES } from '../platform/roles.js';

export type EventKind =
  | 'first_login'
  | 'login'
  | 'merge'
  | 'benefit_claimed'
  | 'phone_bound'
  | 'suspended'
  | 'suspension_lifted'
  | 'sessions_revoked'
  | 'deleted'
  | 'phone_revealed'
  | 'consent_given'
  | 'consent_withdrawn'
  | 'data_exported'
  | 'benefit_stock_changed'
  | 'person_viewed';

export interface AuditEvent {
  id: string;
  personId: string | null;
  kind: EventKind;
  appid: string | null;
  /** self, system, service:<name>, or an operator as <role>:<name> (viewer, support, admin). */
  actor: string;
  at: string;
  details: Record<string, unknown>;
}

export interface EventPage {
  events: AuditEvent[];
  /** Pass as `after` for the next page; null when this page reached the end. */
  next: string | null;
}

interface EventRow {
  id: string;
  person_id: string | null;
  kind: EventKind;
  appid: string | null;
  actor: string;
  at: Date;
  details: Record<string, unknown>;
}

const COLUMNS = 'e.id::text, e.person_id, e.kind, e.appid, e.actor, e.at, e.details';
const PAGE_SIZE = 100;
const PRUNE_BATCH = 5000;
/** One run prunes this long at most, well inside a function's budget; the next run goes on. */
const PRUNE_FOR_MS = 5000;

/** Records one event (for actions outside the SQL functions that record their own). */
export async function recordEvent(personId: string, kind: EventKind, actor: string, details: Record<string, unknown> = {}): Promise<void> {
  await query('select record_event($1, $2, null, $3, $4)', [personId, kind, actor, JSON.stringify(details)]);
}

export interface EventFilter {
  /** One person's events, and those of the people merged into them; deleted people's too. */
  personId?: string | undefined;
  kind?: string | undefined;
  /** An operator's key name: what they did under any role. */
  operator?: string | undefined;
  /** From this instant on (inclusive), and before `to`. */
  from?: Date | undefined;
  to?: Date | undefined;
  /** Oldest first (the default, for readers that follow the trail) or newest first (the console). */
  order?: 'asc' | 'desc' | undefined;
  /** The `next` of the page before. */
  after?: string | undefined;
  limit?: number | undefined;
}

/** Events in `order`, a page at a time. */
export async function listEvents(filter: EventFilter): Promise<EventPage> {
  const limit = filter.limit ?? PAGE_SIZE;
  const newestFirst = filter.order === 'desc';
  const rows = await query<EventRow>(
    `select ${COLUMNS} from events e
      where ($1::bigint is null or ${newestFirst ? 'e.id < $1' : 'e.id > $1'})
        and ($2::uuid is null or e.person_id = $2 or e.person_id in (select id from people where merged_into = $2))
        and ($3::text is null or e.kind = $3)
        and ($4::text[] is null or e.actor = any($4))
        and ($5::timestamptz is null or e.at >= $5)
        and ($6::timestamptz is null or e.at < $6)
      order by e.id ${newestFirst ? 'desc' : 'asc'} limit $7`,
    [
      filter.after ?? null,
      filter.personId ?? null,
      filter.kind ?? null,
      filter.operator === undefined ? null : ROLES.map((role) => `${role}:${filter.operator}`),
      filter.from ?? null,
      filter.to ?? null,
      limit + 1,
    ],
  );
  const page = rows.slice(0, limit).map(toEvent);
  return { events: page, next: rows.length > limit ? page[page.length - 1]!.id : null };
}

/** The person's latest events (with `merged`, those of the people merged into them too), newest first. */
export async function latestEvents(personId: string, count: number, { merged = false } = {}): Promise<AuditEvent[]> {
  const rows = await query<EventRow>(
    `select ${COLUMNS} from events e
      where e.person_id = $1 or ($3 and e.person_id in (select id from people where merged_into = $1))
      order by e.id desc limit $2`,
    [personId, count, merged],
  );
  return rows.map(toEvent);
}

/** Deletes events past the retention, in short batches, for a few seconds at most; returns how many went. */
export async function pruneEvents(): Promise<{ pruned: number; done: boolean }> {
  const before = new Date(Date.now() - config().eventsRetentionDays * 24 * 3600_000);
  const stopAt = Date.now() + PRUNE_FOR_MS;
  let pruned = 0;
  for (;;) {
    const [row] = await query<{ pruned: number }>('select prune_events($1, $2) as pruned', [before, PRUNE_BATCH]);
    pruned += row?.pruned ?? 0;
    if ((row?.pruned ?? 0) < PRUNE_BATCH) return { pruned, done: true };
    if (Date.now() > stopAt) return { pruned, done: false };
  }
}

function toEvent(row: EventRow): AuditEvent {
  return {
    id: row.id,
    personId: row.person_id,
    kind: row.kind,
    appid: row.appid,
    actor: row.actor,
    at: row.at.toISOString(),
    details: row.details,
  };
}
