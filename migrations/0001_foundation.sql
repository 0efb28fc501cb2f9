-- Accounts, sessions and the audit log. Later migrations extend creditor and partner.

create table creditor (
    creditor_id uuid primary key,
    org_nr      text not null unique,
    name        text not null,
    status      text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
    created_at  timestamptz not null default now()
);

create table partner (
    partner_id uuid primary key,
    org_nr     text not null unique,
    name       text not null,
    created_at timestamptz not null default now()
);

create table app_user (
    user_id         uuid primary key,
    email           text not null,
    password_hash   text not null,
    role            text not null check (role in ('creditor', 'partner', 'admin', 'support')),
    display_name    text not null,
    creditor_id     uuid references creditor,
    partner_id      uuid references partner,
    totp_secret     bytea,
    totp_enabled_at timestamptz,
    -- The last accepted TOTP time step, so a code cannot be replayed.
    totp_last_step  bigint,
    created_at      timestamptz not null default now(),
    disabled_at     timestamptz,
    check (role <> 'creditor' or creditor_id is not null),
    check (role <> 'partner' or partner_id is not null)
);
create unique index app_user_email_key on app_user (lower(email));

-- The cookie holds a random token; only its SHA-256 is stored.
create table session (
    session_hash        bytea primary key,
    user_id             uuid not null references app_user on delete cascade,
    stage               text not null check (stage in ('full', 'totp', 'totp_enroll')),
    csrf_token          text not null,
    pending_totp_secret bytea,
    next_path           text,
    created_at          timestamptz not null,
    last_seen_at        timestamptz not null,
    expires_at          timestamptz not null
);
create index session_user_idx on session (user_id);
create index session_expires_idx on session (expires_at);

create table login_attempt (
    login_attempt_id bigserial primary key,
    email            text not null,
    ip               text not null,
    succeeded        boolean not null,
    at               timestamptz not null
);
create index login_attempt_email_idx on login_attempt (lower(email), at);
create index login_attempt_ip_idx on login_attempt (ip, at);

create table password_reset (
    token_hash bytea primary key,
    user_id    uuid not null references app_user on delete cascade,
    created_at timestamptz not null,
    expires_at timestamptz not null,
    used_at    timestamptz
);

create table audit_event (
    audit_event_id bigserial primary key,
    at             timestamptz not null,
    actor_user_id  uuid references app_user,
    action         text not null,
    subject        text,
    detail         jsonb not null default '{}',
    ip             text
);
create index audit_event_at_idx on audit_event (at);

-- Demo mode only: the seeded accounts and their passwords, listed on the login page.
create table demo_account (
    email    text primary key,
    password text not null,
    label    text not null,
    position int not null
);
