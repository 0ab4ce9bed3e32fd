-- Deleting an account and signing up again must not make a long-time person new (a known 羊毛党
-- move). Deletion keeps, per identity the person had, a keyed hash and the person's first sight:
-- the accounts and unionid hashed as erased_claims keeps them, verified numbers as phone_key().
-- A person later created by, or binding, one of those identities inherits the earliest first
-- sight (people.first_seen_at; null: created_at), which benefits limited to new people count from.
create table identity_first_seen (
  identity_hash text primary key,
  first_seen_at timestamptz not null
);

alter table people add column first_seen_at timestamptz;
