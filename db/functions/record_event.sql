-- Appends one event to the audit trail (see the events table).
create or replace function record_event(p_person uuid, p_kind text, p_appid text, p_actor text, p_details jsonb default '{}')
returns void
language sql as $$
  insert into events (person_id, kind, appid, actor, details) values (p_person, p_kind, p_appid, p_actor, p_details)
$$;
