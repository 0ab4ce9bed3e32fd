-- One person across mini programs: late UnionID merges (recorded), and once-per-person claims.

-- A folded user keeps its row so old references and support questions still resolve;
-- merged_into always points at a live user (chains are flattened on every merge).
alter table users add column merged_into uuid references users (id);
-- Bumped whenever the person's accounts or unionid change: cached copies (the session store's
-- person card) keep the highest revision they were given, whatever order writes land in.
alter table users add column revision integer not null default 1;

create table user_merges (
  folded_user_id uuid primary key references users (id),
  survivor_user_id uuid not null references users (id),
  unionid text not null,
  -- The login that brought the unionid.
  appid text not null,
  openid text not null,
  moved_accounts jsonb not null,
  -- Per benefit only the earliest claim survives; the others are kept here.
  dropped_claims jsonb not null,
  merged_at timestamptz not null default now()
);

create index user_merges_survivor_idx on user_merges (survivor_user_id);

-- The primary key is the rule: one claim of a benefit per person, whichever app it came from.
create table claims (
  user_id uuid not null references users (id),
  benefit text not null,
  appid text not null,
  claimed_at timestamptz not null default now(),
  primary key (user_id, benefit)
);

-- Folds p_folded into p_survivor inside the caller's transaction (record_login, which holds the
-- advisory locks of every login that could touch either person).
create function merge_users(p_survivor uuid, p_folded uuid, p_unionid text, p_appid text, p_openid text)
returns void
language plpgsql as $$
declare
  moved jsonb;
  dropped jsonb;
begin
  -- Waits out claims in flight for either person (they hold FOR SHARE) and holds new ones back
  -- until commit, after which they see merged_into and claim for the survivor.
  perform 1 from users where id in (p_survivor, p_folded) order by id for update;

  update users set merged_into = p_survivor, unionid = null, revision = revision + 1 where id = p_folded;
  update users set merged_into = p_survivor where merged_into = p_folded;
  update users set unionid = p_unionid, revision = revision + 1 where id = p_survivor;

  with m as (
    update accounts set user_id = p_survivor where user_id = p_folded
    returning appid, openid, created_at
  )
  select coalesce(jsonb_agg(to_jsonb(m)), '[]') into moved from m;

  -- The later claim of each benefit claimed on both sides goes (a tie keeps the survivor's).
  with d as (
    delete from claims c using claims o
     where c.user_id in (p_survivor, p_folded) and o.user_id in (p_survivor, p_folded)
       and o.user_id <> c.user_id and o.benefit = c.benefit
       and (o.claimed_at < c.claimed_at or (o.claimed_at = c.claimed_at and o.user_id = p_survivor))
    returning c.user_id, c.benefit, c.appid, c.claimed_at
  )
  select coalesce(jsonb_agg(to_jsonb(d)), '[]') into dropped from d;
  update claims set user_id = p_survivor where user_id = p_folded;

  insert into user_merges (folded_user_id, survivor_user_id, unionid, appid, openid, moved_accounts, dropped_claims)
  values (p_folded, p_survivor, p_unionid, p_appid, p_openid, moved, dropped);
end
$$;

-- What the session store caches about a person, so /me needs no database read. Later migrations
-- replace it to show more; its revision is users.revision.
create function person_card(p_user uuid) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'unionid', u.unionid,
    'createdAt', to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'accounts', (select coalesce(jsonb_agg(jsonb_build_object(
                          'appid', a.appid, 'openid', a.openid,
                          'linkedAt', to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                        order by a.created_at, a.appid), '[]')
                   from accounts a where a.user_id = u.id))
  from users u where u.id = p_user
$$;

-- The login write, still one round trip, now also merging two people when an account brings a
-- unionid that another person already holds, and returning what the session store caches.
drop function record_login(text, text, text);

create function record_login(p_appid text, p_openid text, p_unionid text)
returns table (user_id uuid, is_new boolean, revision integer, card jsonb, folded_user_id uuid)
language plpgsql as $$
#variable_conflict use_column
declare
  account_key bigint := hashtextextended('account:' || p_appid || ':' || p_openid, 0);
  unionid_key bigint := hashtextextended('unionid:' || p_unionid, 0);
  person users%rowtype;
  holder users%rowtype;
  folded uuid;
  created boolean := false;
begin
  -- Every login locks its account, and its unionid when it has one, smaller key first: a late
  -- unionid involves both keys, and a fixed order cannot deadlock.
  perform pg_advisory_xact_lock(least(account_key, unionid_key));
  if unionid_key is not null then
    perform pg_advisory_xact_lock(greatest(account_key, unionid_key));
  end if;

  select u.* into person
    from accounts a join users u on u.id = a.user_id
   where a.appid = p_appid and a.openid = p_openid;
  if p_unionid is not null then
    select * into holder from users where unionid = p_unionid;
  end if;

  if person.id is null then
    if holder.id is not null then
      update users set revision = revision + 1 where id = holder.id returning * into person;
    else
      insert into users (unionid) values (p_unionid) returning * into person;
      created := true;
    end if;
    insert into accounts (appid, openid, user_id) values (p_appid, p_openid, person.id);
  elsif p_unionid is not null and person.unionid is null then
    -- The mini program was bound to an Open Platform account after this person signed up.
    if holder.id is null then
      update users set unionid = p_unionid, revision = revision + 1 where id = person.id returning * into person;
    else
      -- Someone else already holds the unionid: the same human. The older row survives.
      if (person.created_at, person.id) < (holder.created_at, holder.id) then
        folded := holder.id;
      else
        folded := person.id;
        person := holder;
      end if;
      perform merge_users(person.id, folded, p_unionid, p_appid, p_openid);
      select * into person from users where id = person.id;
    end if;
  end if;

  return query select person.id, created, person.revision, person_card(person.id), folded;
end
$$;

-- One claim in one round trip. Plain SQL could not return the existing row in the same
-- statement: a row committed by a racing claim after the statement's snapshot is invisible to it.
create function claim_benefit(p_user uuid, p_benefit text, p_appid text)
returns table (benefit text, appid text, claimed_at timestamptz, created boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  person uuid := p_user;
  next_person uuid;
begin
  -- Follow merges, share-locking the person so no merge folds it before this claim commits.
  loop
    select u.merged_into into next_person from users u where u.id = person for share;
    exit when next_person is null;
    person := next_person;
  end loop;

  return query
    insert into claims as c (user_id, benefit, appid) values (person, p_benefit, p_appid)
    on conflict (user_id, benefit) do nothing
    returning c.benefit, c.appid, c.claimed_at, true;
  if not found then
    -- A new statement, a new snapshot: it sees the claim that won the race.
    return query
      select c.benefit, c.appid, c.claimed_at, false from claims c
       where c.user_id = person and c.benefit = p_benefit;
  end if;
end
$$;
