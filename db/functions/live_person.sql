-- The person p_person is now: itself, or the survivor of the merge that folded it (null if there
-- is no such person, or they deleted their account). The one way to follow a merge. Share-locks the row it returns, so no merge
-- can fold that person before the caller's transaction ends.
create or replace function live_person(p_person uuid) returns uuid
language plpgsql as $$
declare
  current_id uuid := p_person;
  next_id uuid;
  deleted timestamptz;
begin
  loop
    select p.merged_into, p.deleted_at into next_id, deleted from people p where p.id = current_id for share;
    if not found or deleted is not null then
      return null;
    end if;
    exit when next_id is null;
    current_id := next_id;
  end loop;
  return current_id;
end
$$;
