-- Shows the stored image p_hash as p_person's avatar (following merges); p_trace_id, when given, is
-- the media_check_async request WeChat will answer. The image it replaces goes unless in use.
-- Returns the person's new facts; none when there is no such person or the image is gone.
create or replace function use_avatar(p_person uuid, p_hash text, p_trace_id text)
returns setof person_facts
language plpgsql as $$
declare
  live uuid := live_person(p_person);
  previous text;
begin
  if live is null or not exists (select 1 from avatars where hash = p_hash for share) then
    return;
  end if;
  if p_trace_id is not null then
    update avatars set "check" = 'pending', check_trace_id = p_trace_id where hash = p_hash and "check" = 'unchecked';
  end if;
  select avatar_hash into previous from profiles where person_id = live;
  insert into profiles (person_id, avatar_hash) values (live, p_hash)
  on conflict (person_id) do update set avatar_hash = excluded.avatar_hash, updated_at = now();
  if previous is distinct from p_hash then
    perform drop_unused_avatar(previous);
  end if;
  update people set revision = revision + 1 where id = live;
  return query select * from person_facts(live);
end
$$;
