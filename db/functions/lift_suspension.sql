-- Lifts a person's suspension. false: no such live person, or not suspended.
create or replace function lift_suspension(p_person uuid, p_actor text) returns boolean
language plpgsql as $$
begin
  update people p
     set suspended_at = null, suspended_until = null, suspension_reason = null, suspended_by = null
   where p.id = p_person and p.deleted_at is null and p.merged_into is null and is_suspended(p);
  if not found then
    return false;
  end if;
  perform record_event(p_person, 'suspension_lifted', null, p_actor);
  return true;
end
$$;
