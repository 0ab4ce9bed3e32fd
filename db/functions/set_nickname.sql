-- Sets (or, with null, clears) the nickname of p_person (following merges), already checked by
-- WeChat's content security. Returns the person's new facts; none when there is no such person.
create or replace function set_nickname(p_person uuid, p_nickname text)
returns setof person_facts
language plpgsql as $$
declare
  live uuid := live_person(p_person);
begin
  if live is null then
    return;
  end if;
  insert into profiles (person_id, nickname) values (live, p_nickname)
  on conflict (person_id) do update set nickname = excluded.nickname, updated_at = now();
  update people set revision = revision + 1 where id = live;
  return query select * from person_facts(live);
end
$$;
