-- Consent records (PIPL Art. 14, 15): which version of which document (隐私保护指引, 用户协议, …)
-- the person agreed to, in which mini program, when, and when they withdrew it. Kept per account
-- (appid + openid): consent is given in one mini program, follows the account through a merge, and
-- goes with it when the account is deleted (注销). The audit trail keeps consent_given and
-- consent_withdrawn events, without personal data, for EVENTS_RETENTION_DAYS.
create table consents (
  id bigint generated always as identity primary key,
  appid text not null,
  openid text not null,
  document text not null,
  version text not null,
  agreed_at timestamptz not null default now(),
  -- Set by a withdrawal; the agreement itself stays on record (a withdrawal does not undo what was
  -- done before it, PIPL Art. 15).
  withdrawn_at timestamptz,
  foreign key (appid, openid) references accounts (appid, openid) on delete cascade
);

-- One agreement in force per account, document and version: agreeing again to the same version
-- finds it (idempotent); agreeing after a withdrawal records a new one.
create unique index consents_in_force on consents (appid, openid, document, version) where withdrawn_at is null;
