-- Takes an image down for everyone showing it: its bytes are deleted, its hash kept so the same
-- bytes are refused again, and each person who showed it is recorded in the audit trail under
-- p_actor (system for WeChat's verdict, admin:<name> for an operator). Returns their new facts.
create or replace function take_down_avatar(p_hash text, p_reason text, p_actor text)
returns setof person_facts
language plpgsql as $$
declare
  affected uuid[];
begin
  if p_hash is null then
    return;
  end if;
  insert into avatar_takedowns (hash, reason, taken_down_by) values (p_hash, p_reason, p_actor) on conflict (hash) do nothing;
  with cleared as (
    update profiles set avatar_hash = null, updated_at = now() where avatar_hash = p_hash returning person_id
  )
  select coalesce(array_agg(person_id), '{}') into affected from cleared;
  delete from avatars where hash = p_hash;
  update people set revision = revision + 1 where id = any (affected);
  perform record_event(id, 'avatar_taken_down', null, p_actor, jsonb_build_object('reason', p_reason)) from unnest(affected) as id;
  return query select f.* from unnest(affected) as a(id), person_facts(a.id) f;
end
$$;
