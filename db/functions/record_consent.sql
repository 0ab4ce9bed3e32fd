-- Records that the account's person agreed to p_document at p_version in this mini program, in one
-- round trip: the agreement in force for that version when there is one (created false), else a new
-- one, recorded in the audit trail. No row: no such account (deleted, or deleted meanwhile).
create or replace function record_consent(p_appid text, p_openid text, p_document text, p_version text)
returns table (document text, version text, appid text, agreed_at timestamptz, withdrawn_at timestamptz, created boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  owner uuid;
  made consents%rowtype;
begin
  -- Share-locked: a deletion in flight is waited out (then the account is gone), a later one waits.
  select a.person_id into owner from accounts a where a.appid = p_appid and a.openid = p_openid for share;
  if owner is null then
    return;
  end if;
  insert into consents as c (appid, openid, document, version) values (p_appid, p_openid, p_document, p_version)
  on conflict (appid, openid, document, version) where withdrawn_at is null do nothing
  returning * into made;
  if made.id is not null then
    perform record_event(owner, 'consent_given', p_appid, 'self', jsonb_build_object('document', p_document, 'version', p_version));
    return query select made.document, made.version, made.appid, made.agreed_at, made.withdrawn_at, true;
    return;
  end if;
  -- A new statement, a new snapshot: it sees the agreement that won a race.
  return query
    select c.document, c.version, c.appid, c.agreed_at, c.withdrawn_at, false from consents c
     where c.appid = p_appid and c.openid = p_openid and c.document = p_document and c.version = p_version
       and c.withdrawn_at is null;
end
$$;
