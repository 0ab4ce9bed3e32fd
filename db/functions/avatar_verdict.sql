-- WeChat's media_check_async verdict for the request p_trace_id: risky takes the image down,
-- review and pass are kept on it. Returns the facts of the people it changed (a take-down's).
-- A trace id that is unknown, or answered already, changes nothing.
create or replace function avatar_verdict(p_trace_id text, p_suggest text, p_label integer)
returns setof person_facts
language plpgsql as $$
declare
  image text;
begin
  select hash into image from avatars where check_trace_id = p_trace_id and "check" = 'pending' for update;
  if not found then
    return;
  end if;
  if p_suggest = 'risky' then
    return query select * from take_down_avatar(image, 'wechat:' || p_label, 'system');
  else
    update avatars set "check" = case when p_suggest = 'pass' then 'pass' else 'review' end where hash = image;
  end if;
end
$$;
