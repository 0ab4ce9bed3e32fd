-- A profile people recognise: the nickname and avatar a person chose through WeChat's 头像昵称填写,
-- one per person across every mini program (docs/profile.md).

-- Avatar images by content hash (SHA-256, hex): the same bytes are stored once, served at one
-- immutable URL. check: unchecked (WeChat not asked yet), pending (media_check_async asked, its
-- answer not in), pass, review (WeChat suggests a human look: operators decide).
create table avatars (
  hash text primary key check (hash ~ '^[0-9a-f]{64}$'),
  media_type text not null check (media_type in ('image/jpeg', 'image/png', 'image/webp')),
  bytes bytea not null,
  "check" text not null default 'unchecked' check ("check" in ('unchecked', 'pending', 'pass', 'review')),
  check_trace_id text unique,
  created_at timestamptz not null default now()
);

create table profiles (
  person_id uuid primary key references people (id),
  nickname text,
  avatar_hash text references avatars (hash),
  updated_at timestamptz not null default now()
);
create index profiles_avatar_idx on profiles (avatar_hash) where avatar_hash is not null;

-- Images taken down (WeChat flagged them, or an operator did): the hash alone, so the same bytes are
-- refused when uploaded again. No image and no person is kept here.
create table avatar_takedowns (
  hash text primary key,
  reason text not null,
  taken_down_by text not null,
  taken_down_at timestamptz not null default now()
);

-- The card carries the profile too, so /api/me shows it without a database read.
alter type person_facts add attribute nickname text, add attribute avatar_hash text;
