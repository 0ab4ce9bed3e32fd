-- Why a benefit's stock refuses a claim counted on p_today (null: a unit is left, or the benefit
-- has no stock row): sold_out (the stock is used up, or was lowered below what is granted) or
-- sold_out_today (today's daily stock is).
create or replace function stock_refusal(p_stock benefit_stock, p_today date) returns text
language sql immutable as $$
  select case
    when p_stock.granted >= p_stock.stock then 'sold_out'
    when p_stock.day >= p_today and p_stock.granted_today >= p_stock.daily_stock then 'sold_out_today'
  end
$$;
