-- One claim in one round trip: the first claim of a benefit by a person, from any mini program,
-- wins. Plain SQL could not return the existing row in the same statement: a row committed by a
-- racing claim after the statement's snapshot is invisible to it. No row: there is no such person.
create or replace function claim_benefit(p_person uuid, p_benefit text, p_appid text)
returns table (benefit text, appid text, claimed_at timestamptz, created boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  person uuid := live_person(p_person);
begin
  if person is null then
    return;
  end if;
  return query
    insert into claims as c (person_id, benefit, appid) values (person, p_benefit, p_appid)
    on conflict (person_id, benefit) do nothing
    returning c.benefit, c.appid, c.claimed_at, true;
  if not found then
    -- A new statement, a new snapshot: it sees the claim that won the race.
    return query
      select c.benefit, c.appid, c.claimed_at, false from claims c
       where c.person_id = person and c.benefit = p_benefit;
  end if;
end
$$;
