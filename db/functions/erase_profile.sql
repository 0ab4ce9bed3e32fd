-- Account deletion's step for the profile, inside delete_person: the nickname goes with the row, and
-- the avatar's bytes unless another person shows the very same image.
create or replace function erase_profile(p_person uuid) returns void
language plpgsql as $$
declare
  hash text;
begin
  delete from profiles where person_id = p_person returning avatar_hash into hash;
  perform drop_unused_avatar(hash);
end
$$;
