-- Deletes an avatar's bytes once no profile shows them (replaced, taken down, merged away, deleted).
create or replace function drop_unused_avatar(p_hash text) returns void
language sql as $$
  delete from avatars a where a.hash = p_hash and not exists (select 1 from profiles p where p.avatar_hash = p_hash)
$$;
