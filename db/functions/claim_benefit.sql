-- One claim in one round trip. outcome:
--   created     the person's first claim of this benefit, from any mini program;
--   replayed    the same Idempotency-Key as the claim that won: its original answer, again;
--   claimed     claimed already (by this person, or by a deleted account of theirs: appid null);
--   refused     the policy says no (reason: see benefit_refusal, or phone_already_claimed), or the
--               stock does (take_stock: sold_out, sold_out_today);
--   unknown_benefit, no_person.
-- p_risk_rank: WeChat's rank for the person, when the caller knows the benefit wants one; with
-- p_risk_unavailable, WeChat could not say and the benefit's risk_failure decides. p_today: the
-- calendar day in Asia/Shanghai the claim counts on for a daily stock.
create or replace function claim_benefit(
  p_person uuid, p_benefit text, p_appid text, p_identity_hashes text[], p_idempotency_key text,
  p_risk_rank integer, p_risk_unavailable boolean, p_hash_key text, p_today date)
returns table (outcome text, reason text, claim_id bigint, benefit text, appid text, claimed_at timestamptz)
language plpgsql as $$
#variable_conflict use_column
declare
  offered benefits%rowtype;
  stock benefit_stock%rowtype;
  person people%rowtype;
  existing claims%rowtype;
  refusal text;
  made claims%rowtype;
begin
  select * into offered from benefits b where b.key = p_benefit;
  if not found then
    return query select 'unknown_benefit', null::text, null::bigint, p_benefit, null::text, null::timestamptz;
    return;
  end if;
  -- Read without a lock: a sold-out benefit refuses at once; take_stock decides for the others.
  select * into stock from benefit_stock s where s.benefit = p_benefit;
  -- Share-locked by live_person: no merge folds this person before the claim commits.
  select * into person from people where id = live_person(p_person);
  if person.id is null then
    return query select 'no_person', null, null::bigint, p_benefit, null, null::timestamptz;
    return;
  end if;

  -- Twice at most: a claim that loses the insert race looks again, in a new statement whose
  -- snapshot sees the claim that won (this person's, or another's of the same number).
  for attempt in 1..2 loop
    select * into existing from claims c where c.person_id = person.id and c.benefit = p_benefit;
    if found then
      return query select case when existing.idempotency_key = p_idempotency_key then 'replayed' else 'claimed' end,
                          null, existing.id, existing.benefit, existing.appid, existing.claimed_at;
      return;
    end if;
    if attempt = 2 then
      return query select 'refused', 'phone_already_claimed', null::bigint, p_benefit, null, null::timestamptz;
      return;
    end if;

    return query
      select 'claimed', null, null::bigint, e.benefit, null, e.erased_at from erased_claims e
       where e.benefit = p_benefit and e.identity_hash = any(p_identity_hashes) limit 1;
    if found then
      return;
    end if;

    refusal := benefit_refusal(offered, stock, person, p_risk_rank, p_today);
    if refusal = 'risk_unknown' and p_risk_unavailable then
      refusal := case when offered.risk_failure = 'allow' then null else 'risk_unavailable' end;
    end if;
    if refusal is not null then
      return query select 'refused', refusal, null::bigint, p_benefit, null, null::timestamptz;
      return;
    end if;

    insert into claims as c (person_id, benefit, appid, idempotency_key, phone_key, claimed_on)
    values (person.id, p_benefit, p_appid, p_idempotency_key,
            case when offered.one_per_phone then phone_key(p_hash_key, person.phone_country_code, person.phone_pure_number) end,
            p_today)
    on conflict do nothing
    returning * into made;
    if made.id is not null then
      refusal := take_stock(made);
      if refusal is not null then
        return query select 'refused', refusal, null::bigint, p_benefit, null, null::timestamptz;
        return;
      end if;
      insert into claim_feed (kind, claim_id, person_id, benefit, appid, claimed_at)
      values ('claim', made.id, person.id, p_benefit, p_appid, made.claimed_at);
      perform record_event(person.id, 'benefit_claimed', p_appid, 'self', jsonb_build_object('benefit', p_benefit));
      return query select 'created', null, made.id, made.benefit, made.appid, made.claimed_at;
      return;
    end if;
  end loop;
end
$$;
