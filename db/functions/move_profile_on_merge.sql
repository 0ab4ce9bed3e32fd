-- A merge step: the survivor's nickname and avatar win; each one the survivor lacks comes from the
-- folded person. The folded person's profile row goes, and its avatar bytes with it unless in use.
create or replace function move_profile_on_merge(p_survivor uuid, p_folded uuid) returns void
language plpgsql as $$
declare
  folded profiles%rowtype;
begin
  delete from profiles where person_id = p_folded returning * into folded;
  if not found then
    return;
  end if;
  insert into profiles (person_id, nickname, avatar_hash) values (p_survivor, folded.nickname, folded.avatar_hash)
  on conflict (person_id) do update
     set nickname = coalesce(profiles.nickname, excluded.nickname),
         avatar_hash = coalesce(profiles.avatar_hash, excluded.avatar_hash),
         updated_at = now();
  perform drop_unused_avatar(folded.avatar_hash);
end
$$;
