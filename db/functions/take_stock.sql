-- Counts a claim just inserted against its benefit's stock, on the day it carries (claimed_on):
-- null when counted, or when the benefit has no stock; otherwise the claim is withdrawn and the
-- answer is sold_out or sold_out_today. The unit is taken by one UPDATE, the claim's last write
-- but two small inserts, so the row stays locked from here to commit only. A claim that waited
-- for the row re-checks its newest version (READ COMMITTED), so two claims never take the last
-- unit; a claim rolled back after this gives its unit back by rolling back.
create or replace function take_stock(p_claim claims) returns text
language plpgsql as $$
declare
  counted_on date;
  seen benefit_stock%rowtype;
begin
  -- Twice at most: a unit may come back (a rollback, a raise) between the UPDATE and the look.
  for attempt in 1..2 loop
    update benefit_stock s
       set granted = s.granted + 1,
           -- A claim whose day the row has passed (its clock behind at midnight) counts on the row's day.
           granted_today = case when s.day >= p_claim.claimed_on then s.granted_today + 1 else 1 end,
           day = greatest(s.day, p_claim.claimed_on)
     where s.benefit = p_claim.benefit and stock_refusal(s, p_claim.claimed_on) is null
    returning s.day into counted_on;
    if found then
      if counted_on <> p_claim.claimed_on then
        update claims set claimed_on = counted_on where id = p_claim.id;
      end if;
      return null;
    end if;
    select * into seen from benefit_stock s where s.benefit = p_claim.benefit;
    exit when seen.benefit is null or stock_refusal(seen, p_claim.claimed_on) is not null;
  end loop;
  -- The operator took the limits off meanwhile: nothing to count against.
  if seen.benefit is null then
    return null;
  end if;
  delete from claims where id = p_claim.id;
  return coalesce(stock_refusal(seen, p_claim.claimed_on), 'sold_out');
end
$$;
