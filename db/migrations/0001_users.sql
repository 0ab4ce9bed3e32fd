-- People and their mini program accounts. A person (users row) has one account per
-- (appid, openid); accounts of different mini programs share a person through unionid.

create table users (
  id uuid primary key default gen_random_uuid(),
  unionid text unique,
  created_at timestamptz not null default now()
);

create table accounts (
  appid text not null,
  openid text not null,
  user_id uuid not null references users (id),
  created_at timestamptz not null default now(),
  primary key (appid, openid)
);

create index accounts_user_id_idx on accounts (user_id);

-- The whole login write in one round trip: find or create the account and its person.
-- Logins of one person are serialized by a transaction-scoped advisory lock, so racing first
-- logins (even from several mini programs at once) create exactly one person.
create function record_login(p_appid text, p_openid text, p_unionid text)
returns table (user_id uuid, unionid text, created_at timestamptz, is_new boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  person users%rowtype;
  created boolean := false;
begin
  perform pg_advisory_xact_lock(hashtextextended(
    coalesce('unionid:' || p_unionid, 'account:' || p_appid || ':' || p_openid), 0));

  select u.* into person
    from accounts a join users u on u.id = a.user_id
   where a.appid = p_appid and a.openid = p_openid;

  if not found then
    if p_unionid is not null then
      select * into person from users where unionid = p_unionid;
    end if;
    if person.id is null then
      insert into users (unionid) values (p_unionid) returning * into person;
      created := true;
    end if;
    insert into accounts (appid, openid, user_id) values (p_appid, p_openid, person.id);
  elsif p_unionid is not null and person.unionid is null
        and not exists (select 1 from users where unionid = p_unionid) then
    -- The mini program was bound to an Open Platform account after this person signed up.
    update users set unionid = p_unionid where id = person.id returning * into person;
  end if;

  return query select person.id, person.unionid, person.created_at, created;
end
$$;
