-- An operator takes a live person's nickname down (audited under p_actor). Returns their new facts;
-- none when there is no such live person.
create or replace function take_down_nickname(p_person uuid, p_reason text, p_actor text)
returns setof person_facts
language plpgsql as $$
begin
  update profiles set nickname = null, updated_at = now()
   where person_id = p_person and exists (select 1 from people where id = p_person and deleted_at is null and merged_into is null);
  if not found then
    return;
  end if;
  update people set revision = revision + 1 where id = p_person;
  perform record_event(p_person, 'nickname_taken_down', null, p_actor, jsonb_build_object('reason', p_reason));
  return query select * from person_facts(p_person);
end
$$;
