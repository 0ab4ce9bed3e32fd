-- The whole login write in one round trip: find or create the account and its person, merge two
-- people when the account brings a unionid another person already holds, record the login in the
-- audit trail, and return what the session store caches about the person. A suspended person's
-- login answers suspended = true and records nothing. A person created here inherits the earliest
-- first sight deletion kept for p_identity_hashes (the account's and unionid's keyed hashes).
create or replace function record_login(p_appid text, p_openid text, p_unionid text, p_identity_hashes text[])
returns table (is_new boolean, suspended boolean, folded_person_id uuid, person_id uuid, revision integer, unionid text,
               created_at timestamptz, phone_country_code text, phone_pure_number text, accounts jsonb,
               nickname text, avatar_hash text)
language plpgsql as $$
#variable_conflict use_column
declare
  account_key bigint := hashtextextended('account:' || p_appid || ':' || p_openid, 0);
  unionid_key bigint := hashtextextended('unionid:' || p_unionid, 0);
  person people%rowtype;
  holder people%rowtype;
  folded uuid;
  created boolean := false;
begin
  -- Every login locks its account, and its unionid when it has one, smaller key first: a late
  -- unionid involves both keys, and a fixed order cannot deadlock. Racing first logins of one
  -- person (even from several mini programs at once) create exactly one person.
  perform pg_advisory_xact_lock(least(account_key, unionid_key));
  if unionid_key is not null then
    perform pg_advisory_xact_lock(greatest(account_key, unionid_key));
  end if;

  -- Share-locked, so a deletion in flight is waited out and then seen (and a deletion after this
  -- waits for this login, then takes the account with it).
  select p.* into person
    from accounts a join people p on p.id = a.person_id
   where a.appid = p_appid and a.openid = p_openid
     for share of p;
  if person.deleted_at is not null then
    person := null;
  end if;
  if p_unionid is not null then
    select * into holder from people where unionid = p_unionid for share;
  end if;

  if person.id is null then
    if holder.id is not null then
      update people set revision = revision + 1 where id = holder.id returning * into person;
    else
      insert into people (unionid, first_seen_at)
      values (p_unionid, (select min(s.first_seen_at) from identity_first_seen s where s.identity_hash = any(p_identity_hashes)))
      returning * into person;
      created := true;
    end if;
    insert into accounts (appid, openid, person_id) values (p_appid, p_openid, person.id);
  elsif p_unionid is not null and person.unionid is null then
    -- The mini program was bound to an Open Platform account after this person signed up.
    if holder.id is null then
      update people set unionid = p_unionid, revision = revision + 1 where id = person.id;
    else
      -- Someone else already holds the unionid: the same human. The older person survives.
      if (person.created_at, person.id) < (holder.created_at, holder.id) then
        folded := holder.id;
      else
        folded := person.id;
        person := holder;
      end if;
      perform merge_people(person.id, folded, p_unionid, p_appid, p_openid);
      select * into person from people where id = person.id;
    end if;
  end if;

  if is_suspended(person) then
    return query select created, true, folded, f.* from person_facts(person.id) f;
    return;
  end if;
  perform record_event(person.id, case when created then 'first_login' else 'login' end, p_appid, 'self');
  return query select created, false, folded, f.* from person_facts(person.id) f;
end
$$;
