-- Why the person may not claim the benefit now (null: they may), as the policy says: inactive,
-- not_started, ended, not_new, phone_required, sold_out or sold_out_today (p_stock as last read,
-- p_today the Shanghai day; take_stock decides for sure), or risk (p_risk_rank above the limit).
-- A benefit with a risk limit but no rank given answers risk_unknown: the caller asks WeChat and
-- comes back; a sold-out benefit answers before WeChat is asked.
create or replace function benefit_refusal(p_benefit benefits, p_stock benefit_stock, p_person people, p_risk_rank integer, p_today date)
returns text
language sql stable as $$
  select coalesce(
    case
      when not p_benefit.active then 'inactive'
      when p_benefit.starts_at > now() then 'not_started'
      when p_benefit.ends_at <= now() then 'ended'
      when p_person.created_at < now() - make_interval(days => p_benefit.new_within_days) then 'not_new'
      when (p_benefit.phone_required or p_benefit.one_per_phone) and p_person.phone_pure_number is null then 'phone_required'
    end,
    stock_refusal(p_stock, p_today),
    case
      when p_benefit.max_risk_rank is not null and p_risk_rank is null then 'risk_unknown'
      when p_risk_rank > p_benefit.max_risk_rank then 'risk'
    end)
$$;
