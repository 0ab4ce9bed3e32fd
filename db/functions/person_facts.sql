-- What the session store caches about a person (the card /api/me shows, built in lib/people/records.ts),
-- and the revision it reflects: cached copies keep the highest revision they were given.
create or replace function person_facts(p_person uuid)
returns setof person_facts
language sql stable as $$
  select p.id, p.revision, p.unionid, p.created_at, p.phone_country_code, p.phone_pure_number,
         (select coalesce(jsonb_agg(jsonb_build_object('appid', a.appid, 'openid', a.openid, 'linkedAt', a.created_at)
                                    order by a.created_at, a.appid), '[]')
            from accounts a where a.person_id = p.id),
         pr.nickname, pr.avatar_hash
    from people p left join profiles pr on pr.person_id = p.id
   where p.id = p_person
$$;
