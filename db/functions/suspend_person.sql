-- Suspends a live person (or changes their suspension) until p_until, or until lifted when null.
-- false: no such live person.
create or replace function suspend_person(p_person uuid, p_reason text, p_until timestamptz, p_actor text) returns boolean
language plpgsql as $$
begin
  update people
     set suspended_at = now(), suspended_until = p_until, suspension_reason = p_reason, suspended_by = p_actor
   where id = p_person and deleted_at is null and merged_into is null;
  if not found then
    return false;
  end if;
  perform record_event(p_person, 'suspended', null, p_actor, jsonb_build_object('reason', p_reason, 'until', p_until));
  return true;
end
$$;
