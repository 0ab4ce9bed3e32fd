-- Operators with roles (ADMIN_KEYS name:role:key): events record them as actor <role>:<name>, and
-- the console's audit trail filters by operator. Every look-up of a person is an event now
-- (person_viewed), so the trail grows with operators' work, not only with logins.
create index events_actor_idx on events (actor, id);
