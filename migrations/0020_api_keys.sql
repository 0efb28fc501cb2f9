-- API keys for creditors and partners, with a name, scopes and when each was created and last
-- used; idempotency keys for the API's POSTs.
alter table api_key alter column creditor_id drop not null;
alter table api_key
    add column partner_id   uuid references partner,
    add column name         text not null default '',
    add column scopes       text[] not null default '{claims:read,claims:write,webhooks}',
    add column created_by   uuid references app_user,
    add column last_used_at timestamptz,
    add constraint api_key_owner_check check ((creditor_id is null) <> (partner_id is null)),
    add constraint api_key_scopes_check check (scopes <@ '{claims:read,claims:write,webhooks}'::text[]);

-- A POST's answer kept for 24 hours under its Idempotency-Key, per key owner. `status` is null
-- while the first request is still running.
create table idempotency_key (
    owner_kind   text not null check (owner_kind in ('creditor', 'partner')),
    owner_id     uuid not null,
    key          text not null check (length(key) between 1 and 255),
    request_hash bytea not null,
    status       int,
    body         jsonb,
    created_at   timestamptz not null,
    primary key (owner_kind, owner_id, key)
);
create index idempotency_key_created_idx on idempotency_key (created_at);
