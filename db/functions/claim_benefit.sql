-- One claim in one round trip: the first claim of a benefit by a person, from any mini program,
-- wins; so does a claim made before by an identity of a deleted account (p_identity_hashes, see
-- erased_claims). Plain SQL could not return the existing row in the same statement: a row
-- committed by a racing claim after the statement's snapshot is invisible to it. No row: there is
-- no such person.
create or replace function claim_benefit(p_person uuid, p_benefit text, p_appid text, p_identity_hashes text[])
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
    select e.benefit, null::text, e.erased_at, false from erased_claims e
     where e.benefit = p_benefit and e.identity_hash = any(p_identity_hashes)
     limit 1;
  if found then
    return;
  end if;
  return query
    insert into claims as c (person_id, benefit, appid) values (person, p_benefit, p_appid)
    on conflict (person_id, benefit) do nothing
    returning c.benefit, c.appid, c.claimed_at, true;
  if found then
    perform record_event(person, 'benefit_claimed', p_appid, 'self', jsonb_build_object('benefit', p_benefit));
  else
    -- A new statement, a new snapshot: it sees the claim that won the race.
    return query
      select c.benefit, c.appid, c.claimed_at, false from claims c
       where c.person_id = person and c.benefit = p_benefit;
  end if;
end
$$;
