-- Gives a WeChat-verified number to p_person (following merges) and takes it from whoever held it:
-- the latest verification wins, since WeChat has just proven the new claimant controls the number
-- (carriers recycle numbers). Returns the facts of every person it changed, so the caller can
-- refresh their cached cards; none when there is no such person. A number a deleted person had
-- brings its first sight along (identity_first_seen, as phone_key() under p_hash_key).
create or replace function assign_phone(p_person uuid, p_phone_number text, p_pure_number text, p_country_code text, p_hash_key text)
returns setof person_facts
language plpgsql as $$
declare
  person uuid;
  changed uuid[];
begin
  -- Claims of one number are serialized, so people_phone_key never sees two holders.
  perform pg_advisory_xact_lock(hashtextextended('phone:' || p_country_code || ':' || p_pure_number, 0));
  person := live_person(p_person);
  if person is null then
    return;
  end if;

  with released as (
    update people p
       set phone_number = null, phone_pure_number = null, phone_country_code = null,
           phone_verified_at = null, revision = p.revision + 1
     where p.phone_country_code = p_country_code and p.phone_pure_number = p_pure_number and p.id <> person
    returning p.id
  )
  select array_agg(id) into changed from released;

  update people
     set phone_number = p_phone_number, phone_pure_number = p_pure_number,
         phone_country_code = p_country_code, phone_verified_at = now(), revision = revision + 1,
         first_seen_at = least(coalesce(first_seen_at, created_at),
                               (select s.first_seen_at from identity_first_seen s
                                 where s.identity_hash = phone_key(p_hash_key, p_country_code, p_pure_number)))
   where id = person;
  perform record_event(person, 'phone_bound', null, 'self');

  return query select f.* from unnest(person || coalesce(changed, '{}')) as c(id), person_facts(c.id) f;
end
$$;
