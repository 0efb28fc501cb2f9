-- Webhooks: subscriptions of creditors and partners, an outbox of events written in the
-- transaction of each change (by triggers, so no path can forget), and deliveries with their
-- attempts.

create table webhook_subscription (
    subscription_id uuid primary key,
    creditor_id     uuid references creditor,
    partner_id      uuid references partner,
    url             text not null,
    events          text[] not null,
    -- The HMAC key; shown to the owner once, kept to sign deliveries.
    secret          text not null,
    created_at      timestamptz not null,
    created_by      uuid references app_user,
    deleted_at      timestamptz,
    check ((creditor_id is null) <> (partner_id is null)),
    check (events <@ '{claim.state_changed,claim.payment_received,claim.dispute_opened,claim.dispute_answered,settlement.created}'::text[]
           and cardinality(events) > 0)
);
create index webhook_subscription_creditor_idx on webhook_subscription (creditor_id) where deleted_at is null;
create index webhook_subscription_partner_idx on webhook_subscription (partner_id) where deleted_at is null;

-- One row per event that some live subscription wants, with its stable id.
create table webhook_event (
    event_id    uuid primary key default gen_random_uuid(),
    creditor_id uuid not null references creditor,
    kind        text not null,
    data        jsonb not null,
    created_at  timestamptz not null default now(),
    fanned_out  boolean not null default false
);
create index webhook_event_pending_idx on webhook_event (created_at) where not fanned_out;

create table webhook_delivery (
    delivery_id     bigserial primary key,
    event_id        uuid not null references webhook_event,
    subscription_id uuid not null references webhook_subscription,
    state           text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
    attempts        int not null default 0,
    next_attempt_at timestamptz not null,
    last_status     int,
    last_error      text,
    last_attempt_at timestamptz,
    unique (event_id, subscription_id)
);
create index webhook_delivery_due_idx on webhook_delivery (next_attempt_at) where state = 'pending';

create table webhook_attempt (
    delivery_id bigint not null references webhook_delivery,
    attempt     int not null,
    at          timestamptz not null,
    status      int,
    error       text,
    millis      int not null,
    primary key (delivery_id, attempt)
);

-- Whether anyone listens to a creditor's events: its own subscriptions or its partner's.
create function webhook_wanted(creditor uuid, kind text) returns boolean language sql stable as $$
    select exists (
        select 1 from webhook_subscription s
        where s.deleted_at is null and kind = any(s.events)
          and (s.creditor_id = creditor
               or s.partner_id in (select pc.partner_id from partner_customer pc
                                   where pc.creditor_id = creditor and pc.ended_on is null)))
$$;

-- claim.state_changed, for every path that moves a claim (the engine's set-based steps too).
create function webhook_claim_state() returns trigger language plpgsql as $$
begin
    insert into webhook_event (creditor_id, kind, data)
    select n.creditor_id, 'claim.state_changed',
           jsonb_build_object('claim_id', n.claim_id, 'invoice_number', n.invoice_number, 'ocr', n.ocr,
                              'from', o.state, 'to', n.state)
    from new_rows n join old_rows o using (claim_id)
    where n.state is distinct from o.state and webhook_wanted(n.creditor_id, 'claim.state_changed');
    return null;
end $$;
create trigger claim_state_webhook after update on claim
    referencing old table as old_rows new table as new_rows
    for each statement execute function webhook_claim_state();

-- claim.payment_received, claim.dispute_opened and claim.dispute_answered from the timeline.
create function webhook_claim_event() returns trigger language plpgsql as $$
begin
    insert into webhook_event (creditor_id, kind, data)
    select c.creditor_id, k.kind,
           jsonb_build_object('claim_id', c.claim_id, 'invoice_number', c.invoice_number, 'ocr', c.ocr,
                              'at', e.at, 'detail', e.detail)
    from new_rows e
    join claim c using (claim_id)
    join (values ('payment_received', 'claim.payment_received'), ('disputed', 'claim.dispute_opened'),
                 ('dispute_answered', 'claim.dispute_answered')) as k(event, kind) on k.event = e.kind
    where webhook_wanted(c.creditor_id, k.kind);
    return null;
end $$;
create trigger claim_event_webhook after insert on claim_event
    referencing new table as new_rows
    for each statement execute function webhook_claim_event();

-- settlement.created.
create function webhook_settlement() returns trigger language plpgsql as $$
begin
    insert into webhook_event (creditor_id, kind, data)
    select n.creditor_id, 'settlement.created',
           jsonb_build_object('settlement_id', n.settlement_id, 'number', n.number, 'period_to', n.period_to,
                              'capital', n.capital::text, 'total', n.total::text)
    from new_rows n where webhook_wanted(n.creditor_id, 'settlement.created');
    return null;
end $$;
create trigger settlement_webhook after insert on settlement
    referencing new table as new_rows
    for each statement execute function webhook_settlement();
