-- Folds p_folded into p_survivor (the same human: p_unionid arrived late on an account of one of
-- them) inside the caller's transaction (record_login, which holds the advisory locks of every
-- login that could touch either person). Recorded in merges.
create or replace function merge_people(p_survivor uuid, p_folded uuid, p_unionid text, p_appid text, p_openid text)
returns void
language plpgsql as $$
declare
  moved jsonb;
  dropped jsonb;
begin
  -- Waits out claims in flight for either person (live_person share-locks them) and holds new ones
  -- back until commit, after which they see merged_into and claim for the survivor.
  perform 1 from people where id in (p_survivor, p_folded) order by id for update;

  -- The folded person keeps its row so old references and support questions still resolve;
  -- merged_into always points at a live person (chains are flattened on every merge).
  update people set merged_into = p_survivor, unionid = null, revision = revision + 1 where id = p_folded;
  update people set merged_into = p_survivor where merged_into = p_folded;
  update people set unionid = p_unionid, revision = revision + 1 where id = p_survivor;

  perform move_phone_on_merge(p_survivor, p_folded);
  -- A suspension follows the person: the survivor takes the folded one's if it has none.
  update people s
     set suspended_at = f.suspended_at, suspended_until = f.suspended_until,
         suspension_reason = f.suspension_reason, suspended_by = f.suspended_by
    from people f
   where s.id = p_survivor and f.id = p_folded and is_suspended(f) and not is_suspended(s);

  with m as (
    update accounts set person_id = p_survivor where person_id = p_folded
    returning appid, openid, created_at
  )
  select coalesce(jsonb_agg(to_jsonb(m)), '[]') into moved from m;

  -- One claim per benefit and person: the later claim of each benefit claimed on both sides goes
  -- (a tie keeps the survivor's), is kept here, reaches the fulfilment feed as a reversal, and
  -- gives its unit back to a limited benefit's stock (to the day's too, while it is that day).
  with d as (
    delete from claims c using claims o
     where c.person_id in (p_survivor, p_folded) and o.person_id in (p_survivor, p_folded)
       and o.person_id <> c.person_id and o.benefit = c.benefit
       and (o.claimed_at < c.claimed_at or (o.claimed_at = c.claimed_at and o.person_id = p_survivor))
    returning c.id, c.person_id, c.benefit, c.appid, c.claimed_at, c.claimed_on
  ), reversed as (
    insert into claim_feed (kind, claim_id, person_id, benefit, appid, claimed_at)
    select 'reversal', id, person_id, benefit, appid, claimed_at from d
  ), returned as (
    update benefit_stock s
       set granted = s.granted - (select count(*) from d where d.benefit = s.benefit),
           granted_today = s.granted_today - (select count(*) from d where d.benefit = s.benefit and d.claimed_on = s.day)
     where s.benefit in (select benefit from d)
  )
  select coalesce(jsonb_agg(to_jsonb(d) - 'claimed_on'), '[]') into dropped from d;
  update claims set person_id = p_survivor where person_id = p_folded;

  insert into merges (folded_person_id, survivor_person_id, unionid, appid, openid, moved_accounts, dropped_claims)
  values (p_folded, p_survivor, p_unionid, p_appid, p_openid, moved, dropped);
  perform record_event(p_survivor, 'merge', p_appid, 'system',
                       jsonb_build_object('folded', p_folded, 'droppedClaims', jsonb_array_length(dropped)));
end
$$;
