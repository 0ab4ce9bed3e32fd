-- Withdraws the account's agreement to p_document in this mini program (every version in force),
-- recorded in the audit trail when one was in force.
create or replace function withdraw_consent(p_appid text, p_openid text, p_document text) returns void
language plpgsql as $$
declare
  owner uuid;
  versions jsonb;
begin
  select a.person_id into owner from accounts a where a.appid = p_appid and a.openid = p_openid for share;
  with withdrawn as (
    update consents c set withdrawn_at = now()
     where c.appid = p_appid and c.openid = p_openid and c.document = p_document and c.withdrawn_at is null
    returning c.version, c.agreed_at
  )
  select jsonb_agg(version order by agreed_at) into versions from withdrawn;
  if versions is not null then
    perform record_event(owner, 'consent_withdrawn', p_appid, 'self', jsonb_build_object('document', p_document, 'versions', versions));
  end if;
end
$$;
