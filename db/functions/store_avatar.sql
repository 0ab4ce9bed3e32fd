-- Keeps an uploaded image under its content hash (once, however many people upload it) and answers
-- its check state, or 'taken_down' for bytes taken down before, which are not stored again.
create or replace function store_avatar(p_hash text, p_media_type text, p_bytes bytea) returns text
language plpgsql as $$
declare
  state text;
begin
  if exists (select 1 from avatar_takedowns where hash = p_hash) then
    return 'taken_down';
  end if;
  insert into avatars (hash, media_type, bytes) values (p_hash, p_media_type, p_bytes) on conflict (hash) do nothing;
  select "check" into state from avatars where hash = p_hash;
  return state;
end
$$;
