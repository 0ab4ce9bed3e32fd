-- Running the user base: suspension, account deletion (注销) and an audit trail.

-- Suspended while suspended_at is set and suspended_until is null or still ahead.
alter table people
  add column suspended_at timestamptz,
  add column suspended_until timestamptz,
  add column suspension_reason text,
  add column suspended_by text,
  -- Set when the person deleted their account (or an operator did): the row stays, anonymized,
  -- so references still resolve; accounts, unionid and phone are gone.
  add column deleted_at timestamptz;

-- Append-only: who did what to whom, when. actor: self, admin:<name>, service:<name> or system.
-- details never hold personal data (no openid, unionid or phone number).
create table events (
  id bigint generated always as identity primary key,
  person_id uuid references people (id),
  kind text not null,
  appid text,
  actor text not null,
  at timestamptz not null default now(),
  details jsonb not null default '{}'
);

create index events_person_idx on events (person_id, id);
create index events_kind_idx on events (kind, id);
create index events_at_idx on events (at);

-- What deletion keeps on purpose, to stop abuse: a keyed hash (lib/benefits.ts) of each identity
-- of a deleted person (unionid, appid+openid) per benefit they had claimed, so deleting the account
-- and signing up again does not grant a once-per-person benefit twice.
create table erased_claims (
  benefit text not null,
  identity_hash text not null,
  erased_at timestamptz not null default now(),
  primary key (benefit, identity_hash)
);
