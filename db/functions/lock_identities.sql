-- The first step of a deletion: locks the live person (a racing login waits, then sees the
-- deletion) and returns their identities (unionid, appid + openid of each account), for the caller
-- to hash. No rows: no such live person.
create or replace function lock_identities(p_person uuid)
returns table (unionid text, appid text, openid text)
language plpgsql as $$
#variable_conflict use_column
begin
  perform 1 from people where id = p_person and deleted_at is null and merged_into is null for update;
  if not found then
    return;
  end if;
  return query
    select p.unionid, a.appid, a.openid from people p left join accounts a on a.person_id = p.id where p.id = p_person;
end
$$;
