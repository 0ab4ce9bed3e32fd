-- Limited stock (限量): at most `stock` standing claims of a benefit in all, and at most
-- `daily_stock` counted on one calendar day in Asia/Shanghai. One row per limited benefit, holding
-- the limits beside the counts: a claim checks and takes a unit in one UPDATE of this row, which
-- Postgres re-checks against the row's newest version after waiting for another claim (READ
-- COMMITTED), and an operator's change of a limit is ordered with the claims by the same row lock.
create table benefit_stock (
  benefit text primary key references benefits (key),
  stock integer check (stock >= 0),
  daily_stock integer check (daily_stock >= 0),
  -- Standing claims: every claim of the benefit not dropped by a merge (deleted people's stand).
  granted integer not null,
  -- The latest Shanghai day a claim was counted on, and how many were counted on it.
  day date not null,
  granted_today integer not null,
  check (stock is not null or daily_stock is not null)
);

-- The Shanghai day the claim was counted on, so a merge's reversal returns the unit to that day.
-- Claims from before this migration carry none.
alter table claims add column claimed_on date;
