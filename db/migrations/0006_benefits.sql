-- Benefits as data a marketing team runs: eligibility policies, one per verified phone, risk
-- control, safe retries, and a fulfilment feed for the company's coupon system.

create table benefits (
  key text primary key check (key ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  title_zh text not null,
  title_en text not null,
  active boolean not null default true,
  starts_at timestamptz,
  ends_at timestamptz,
  -- Policy (null/false: no such rule). Only people whose first login was at most N days ago:
  new_within_days integer check (new_within_days > 0),
  -- Only people with a verified phone bound:
  phone_required boolean not null default false,
  -- At most one claim per verified phone number (claims_one_per_phone):
  one_per_phone boolean not null default false,
  -- Refuse above this WeChat risk rank (0-4), and what to do when WeChat cannot say:
  max_risk_rank smallint check (max_risk_rank between 0 and 4),
  risk_failure text not null default 'refuse' check (risk_failure in ('refuse', 'allow')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (ends_at is null or starts_at is null or ends_at > starts_at)
);

-- Benefits claimed before they were data (BENEFITS in the environment) keep today's behaviour.
insert into benefits (key, title_zh, title_en) select distinct benefit, benefit, benefit from claims;
alter table claims add constraint claims_benefit_fkey foreign key (benefit) references benefits (key);

alter table claims
  -- Names a claim in the fulfilment feed and its reversals.
  add column id bigint generated always as identity unique,
  -- The client's Idempotency-Key: the same key by the same person replays the original answer.
  add column idempotency_key text,
  -- A keyed hash of the verified number, for benefits limited to one claim per phone.
  add column phone_key text;

create unique index claims_one_per_phone on claims (benefit, phone_key) where phone_key is not null;

-- Every claim and every reversal (a claim dropped by a merge), in the order consumers read them:
-- by (txid, position), only below the oldest transaction still running, so a row committed later
-- can never appear before a cursor a consumer already holds.
create table claim_feed (
  position bigint generated always as identity primary key,
  txid xid8 not null default pg_current_xact_id(),
  kind text not null check (kind in ('claim', 'reversal')),
  claim_id bigint not null,
  person_id uuid not null references people (id),
  benefit text not null,
  appid text not null,
  claimed_at timestamptz not null,
  at timestamptz not null default now()
);

create index claim_feed_order_idx on claim_feed (txid, position);

insert into claim_feed (kind, claim_id, person_id, benefit, appid, claimed_at)
select 'claim', id, person_id, benefit, appid, claimed_at from claims order by claimed_at;
