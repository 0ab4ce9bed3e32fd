-- Whether the person is suspended now: from suspended_at until suspended_until (or until lifted).
create or replace function is_suspended(p_person people) returns boolean
language sql stable as $$
  select p_person.suspended_at is not null and (p_person.suspended_until is null or p_person.suspended_until > now())
$$;
