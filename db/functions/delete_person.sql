-- Account deletion (注销), inside the caller's transaction, after lock_identities(): the accounts,
-- unionid, phone and profile (nickname, avatar bytes) go, the person row stays anonymized (so old references resolve), folded people
-- and merge records (which hold identities) are cleared too. Kept on purpose: p_identity_hashes
-- (keyed hashes of the person's identities, made by the caller) per benefit they had claimed, so a
-- once-per-person benefit cannot be claimed again by signing up anew; and each identity's hash with
-- the person's first sight (identity_first_seen, the number's as phone_key() under p_hash_key), so
-- signing up anew makes no one new. false: no such live person.
create or replace function delete_person(p_person uuid, p_actor text, p_identity_hashes text[], p_hash_key text) returns boolean
language plpgsql as $$
begin
  if not exists (select 1 from people where id = p_person and deleted_at is null and merged_into is null) then
    return false;
  end if;
  insert into erased_claims (benefit, identity_hash)
  select c.benefit, h.hash from claims c, unnest(p_identity_hashes) as h(hash) where c.person_id = p_person
  on conflict do nothing;
  insert into identity_first_seen as s (identity_hash, first_seen_at)
  select h.hash, coalesce(p.first_seen_at, p.created_at)
    from people p,
         unnest(p_identity_hashes || case when p.phone_pure_number is null then '{}'::text[]
                                          else array[phone_key(p_hash_key, p.phone_country_code, p.phone_pure_number)] end) as h(hash)
   where p.id = p_person
  on conflict (identity_hash) do update set first_seen_at = least(s.first_seen_at, excluded.first_seen_at);
  delete from accounts where person_id = p_person;
  perform erase_profile(p_person);
  delete from merges where survivor_person_id = p_person;
  update people
     set unionid = null, phone_number = null, phone_pure_number = null, phone_country_code = null,
         phone_verified_at = null, suspended_at = null, suspended_until = null, suspension_reason = null,
         suspended_by = null, deleted_at = now(), revision = revision + 1
   where id = p_person or merged_into = p_person;
  perform record_event(p_person, 'deleted', null, p_actor);
  return true;
end
$$;
