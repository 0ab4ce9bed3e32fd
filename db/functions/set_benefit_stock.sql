-- Sets a benefit's stock limits (null: none) for save_benefit, audited when they change, inside
-- its transaction. A changed limit is written to the stock row under its lock, so it is ordered
-- with the claims taking units: raising opens more at once, lowering below what is granted closes
-- the benefit until reversals bring it under. A first limit counts the standing claims, with the
-- benefit's row locked FOR UPDATE: that waits out claims already inserting (each holds the row
-- KEY SHARE through its foreign key until commit) and holds new ones back until the count is in.
create or replace function set_benefit_stock(p_key text, p_stock integer, p_daily_stock integer, p_actor text, p_today date)
returns void
language plpgsql as $$
declare
  before benefit_stock%rowtype;
begin
  select * into before from benefit_stock where benefit = p_key for update;
  if before.stock is not distinct from p_stock and before.daily_stock is not distinct from p_daily_stock then
    return;
  end if;
  if p_stock is null and p_daily_stock is null then
    delete from benefit_stock where benefit = p_key;
  elsif before.benefit is not null then
    update benefit_stock set stock = p_stock, daily_stock = p_daily_stock where benefit = p_key;
  else
    perform 1 from benefits where key = p_key for update;
    insert into benefit_stock (benefit, stock, daily_stock, granted, day, granted_today)
    select p_key, p_stock, p_daily_stock, count(*), p_today, count(*) filter (where claimed_on = p_today)
      from claims where benefit = p_key;
  end if;
  perform record_event(null, 'benefit_stock_changed', null, p_actor, jsonb_build_object(
    'benefit', p_key,
    'stock', jsonb_build_object('from', before.stock, 'to', p_stock),
    'dailyStock', jsonb_build_object('from', before.daily_stock, 'to', p_daily_stock)));
end
$$;
