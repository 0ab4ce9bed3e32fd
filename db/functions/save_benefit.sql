-- Creates or changes a benefit (operators, and the BENEFITS bootstrap with p_only_missing).
-- Changing a policy applies to claims from now on; earlier claims stand. p_today: the Shanghai
-- day, for a first stock limit's count of today's claims.
create or replace function save_benefit(
  p_key text, p_title_zh text, p_title_en text, p_active boolean, p_starts_at timestamptz, p_ends_at timestamptz,
  p_new_within_days integer, p_phone_required boolean, p_one_per_phone boolean, p_max_risk_rank integer,
  p_risk_failure text, p_stock integer, p_daily_stock integer, p_actor text, p_today date,
  p_only_missing boolean default false)
returns void
language plpgsql as $$
begin
  insert into benefits as b (key, title_zh, title_en, active, starts_at, ends_at, new_within_days, phone_required,
                               one_per_phone, max_risk_rank, risk_failure)
    values (p_key, p_title_zh, p_title_en, p_active, p_starts_at, p_ends_at, p_new_within_days, p_phone_required,
            p_one_per_phone, p_max_risk_rank, p_risk_failure)
    on conflict (key) do update
       set title_zh = excluded.title_zh, title_en = excluded.title_en, active = excluded.active,
           starts_at = excluded.starts_at, ends_at = excluded.ends_at, new_within_days = excluded.new_within_days,
           phone_required = excluded.phone_required, one_per_phone = excluded.one_per_phone,
           max_risk_rank = excluded.max_risk_rank, risk_failure = excluded.risk_failure, updated_at = now()
     where not p_only_missing;
  if found then
    perform set_benefit_stock(p_key, p_stock, p_daily_stock, p_actor, p_today);
  end if;
end
$$;
