-- The keyed hash a claim keeps of a verified number (claims.phone_key): a claim limited to one per
-- phone is refused for that number even after its holder deleted their account.
create or replace function phone_key(p_hash_key text, p_country_code text, p_pure_number text) returns text
language sql immutable as $$
  select encode(sha256(convert_to(p_hash_key || ':phone:' || p_country_code || ':' || p_pure_number, 'UTF8')), 'base64')
$$;
