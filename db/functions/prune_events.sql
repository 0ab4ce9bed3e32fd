-- Deletes up to p_batch events older than p_before, oldest first; returns how many. Small batches
-- keep each statement short, so pruning never holds up the logins that append events.
create or replace function prune_events(p_before timestamptz, p_batch integer) returns integer
language sql as $$
  with gone as (
    delete from events where id in (select id from events where at < p_before order by at limit p_batch)
    returning 1
  )
  select count(*)::integer from gone
$$;
