-- A verified phone number per person (手机号快速验证), and one person per number.
-- Rule when a second person verifies a number another person holds: the latest verification wins.
-- WeChat has just proven the new claimant controls the number (carriers recycle numbers), so the
-- previous holder loses it.

alter table users
  add column phone_number text,
  add column phone_pure_number text,
  add column phone_country_code text,
  add column phone_verified_at timestamptz;

create unique index users_phone_key on users (phone_country_code, phone_pure_number)
  where phone_pure_number is not null;

-- 138****0000: the first 3 and last 4 digits (1 and 2 of short numbers); +code outside mainland China.
create function mask_phone(p_country_code text, p_digits text) returns text
language sql immutable as $$
  select case when p_country_code = '86' then '' else '+' || p_country_code || ' ' end
      || overlay(p_digits placing repeat('*', greatest(0, length(p_digits) - head - tail)) from head + 1
                 for greatest(0, length(p_digits) - head - tail))
    from (select case when length(p_digits) >= 9 then 3 else 1 end as head,
                 case when length(p_digits) >= 9 then 4 else 2 end as tail) sizes
$$;

-- The cached person now shows the masked number (never the number itself: Redis holds the card).
create or replace function person_card(p_user uuid) returns jsonb
language sql stable as $$
  select jsonb_build_object(
    'unionid', u.unionid,
    'createdAt', to_char(u.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'phone', case when u.phone_pure_number is not null then mask_phone(u.phone_country_code, u.phone_pure_number) end,
    'accounts', (select coalesce(jsonb_agg(jsonb_build_object(
                          'appid', a.appid, 'openid', a.openid,
                          'linkedAt', to_char(a.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                        order by a.created_at, a.appid), '[]')
                   from accounts a where a.user_id = u.id))
  from users u where u.id = p_user
$$;

-- Gives the number to p_user (following merges) and takes it from whoever held it. Returns every
-- person whose card changed, with the new revision, so the caller can refresh their cached cards.
create function assign_phone(p_user uuid, p_phone_number text, p_pure_number text, p_country_code text)
returns table (user_id uuid, revision integer, card jsonb)
language plpgsql as $$
#variable_conflict use_column
declare
  person uuid := p_user;
  changed uuid[];
begin
  -- Claims of one number are serialized, so the unique index never sees two holders.
  perform pg_advisory_xact_lock(hashtextextended('phone:' || p_country_code || ':' || p_pure_number, 0));
  select coalesce(u.merged_into, u.id) into person from users u where u.id = p_user;
  if person is null then
    raise exception 'no user %', p_user using errcode = 'P0002';
  end if;

  with released as (
    update users u
       set phone_number = null, phone_pure_number = null, phone_country_code = null,
           phone_verified_at = null, revision = u.revision + 1
     where u.phone_country_code = p_country_code and u.phone_pure_number = p_pure_number and u.id <> person
    returning u.id
  )
  select array_agg(id) into changed from released;

  update users
     set phone_number = p_phone_number, phone_pure_number = p_pure_number,
         phone_country_code = p_country_code, phone_verified_at = now(), revision = revision + 1
   where id = person;

  return query
    select u.id, u.revision, person_card(u.id) from users u where u.id = person or u.id = any(changed);
end
$$;

-- A folded person's number goes to the survivor, unless the survivor has one of its own.
create function carry_phone_on_merge() returns trigger
language plpgsql as $$
begin
  if old.phone_pure_number is not null then
    update users set phone_number = null, phone_pure_number = null, phone_country_code = null,
                     phone_verified_at = null
     where id = new.id;
    update users set phone_number = old.phone_number, phone_pure_number = old.phone_pure_number,
                     phone_country_code = old.phone_country_code, phone_verified_at = old.phone_verified_at
     where id = new.merged_into and phone_pure_number is null;
  end if;
  return null;
end
$$;

create trigger users_carry_phone_on_merge
  after update of merged_into on users
  for each row when (old.merged_into is null and new.merged_into is not null)
  execute function carry_phone_on_merge();
