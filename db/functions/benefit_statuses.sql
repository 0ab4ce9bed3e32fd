-- Every active benefit as the person sees it, in one round trip: claimed (where and when; appid
-- null for a claim by a deleted account of theirs), ineligible (with the reason), or available.
-- Risk is judged when claiming, not here; stock as it stands on p_today (the Shanghai day).
create or replace function benefit_statuses(p_person uuid, p_identity_hashes text[], p_hash_key text, p_today date)
returns table (key text, title_zh text, title_en text, status text, reason text, appid text, claimed_at timestamptz)
language plpgsql stable as $$
#variable_conflict use_column
declare
  person people%rowtype;
begin
  select * into person from people where id = live_person(p_person);
  if person.id is null then
    return;
  end if;
  return query
    select b.key, b.title_zh, b.title_en,
           case when coalesce(c.claimed_at, e.erased_at) is not null then 'claimed'
                when refusal is not null then 'ineligible'
                else 'available' end,
           case when coalesce(c.claimed_at, e.erased_at) is null then refusal end,
           c.appid, coalesce(c.claimed_at, e.erased_at)
      from benefits b
      left join claims c on c.person_id = person.id and c.benefit = b.key
      left join benefit_stock s on s.benefit = b.key
      left join lateral (select min(x.erased_at) as erased_at from erased_claims x
                          where x.benefit = b.key and x.identity_hash = any(p_identity_hashes)) e on true
      cross join lateral (
        select coalesce(nullif(benefit_refusal(b, s, person, null, p_today), 'risk_unknown'),
                        case when b.one_per_phone and exists (
                               select 1 from claims o where o.benefit = b.key
                                  and o.phone_key = phone_key(p_hash_key, person.phone_country_code, person.phone_pure_number))
                             then 'phone_already_claimed' end) as refusal
      ) r
     where b.active
     order by b.created_at, b.key;
end
$$;
