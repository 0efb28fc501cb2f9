-- Claims, their letters, fees and events, the outbox that delivers letters, and API keys.

alter table creditor
    add column address_street   text not null default '',
    add column address_postal   text not null default '',
    add column address_city     text not null default '',
    add column industry         text not null default '',
    add column contact_name     text not null default '',
    add column contact_email    text not null default '',
    add column payout_bankgiro  text,
    add column payout_clearing  text,
    add column payout_account   text,
    add column approved_at      timestamptz,
    add column rejected_reason  text;

-- Case numbers become OCR references (case number ‖ length digit ‖ check digit).
create sequence claim_case_number_seq start 1000001;

create table claim (
    claim_id            uuid primary key,
    case_number         bigint not null unique,
    ocr                 text not null unique,
    -- Printed on letters; with the OCR it proves a letter is genuine ("verify this letter").
    case_code           text not null,
    creditor_id         uuid not null references creditor,
    invoice_number      text not null,
    description         text not null default '',
    capital             numeric(14,2) not null check (capital > 0),
    invoice_date        date not null,
    due_date            date not null check (due_date >= invoice_date),
    claim_arose_date    date not null,
    reminder_fee_agreed boolean not null,
    start_with          text not null check (start_with in ('reminder', 'collection')),
    debtor_kind         text not null check (debtor_kind in ('person', 'company')),
    debtor_id_number    text not null check (debtor_id_number ~ '^[0-9]{12}$'),
    debtor_name         text not null,
    debtor_capacity     text not null check (debtor_capacity in ('consumer', 'business')),
    debtor_street       text not null,
    debtor_postal_code  text not null,
    debtor_city         text not null,
    debtor_email        text,
    debtor_phone        text,
    state               text not null default 'registered' check (state in
        ('registered', 'reminder', 'collection', 'final_notice', 'enforcement_ready', 'paid', 'withdrawn', 'written_off')),
    disputed            boolean not null default false,
    paused              boolean not null default false,
    on_hold             boolean not null default false,
    deceased            boolean not null default false,
    returned_mail       boolean not null default false,
    payment_plan_active boolean not null default false,
    address_verified_at timestamptz,
    -- When the engine should look at the claim again; null while nothing is planned.
    next_action_on      date,
    registered_at       timestamptz not null,
    registered_by       uuid references app_user,
    unique (creditor_id, invoice_number)
);
create index claim_due_idx on claim (next_action_on) where next_action_on is not null;
create index claim_debtor_idx on claim (debtor_id_number);
create index claim_creditor_idx on claim (creditor_id, registered_at desc);

create table letter (
    letter_id     uuid primary key,
    claim_id      uuid not null references claim,
    kind          text not null check (kind in ('reminder', 'collection', 'final_notice')),
    -- The business date the letter was produced.
    created_on    date not null,
    -- Everything printed, with the rule-set version used; never changed or re-rendered.
    snapshot      jsonb not null,
    html          text not null,
    channel       text not null check (channel in ('email', 'print')),
    dispatched_on date,
    dispatched_at timestamptz,
    deadline      date,
    unique (claim_id, kind)
);

create table fee (
    fee_id     uuid primary key,
    claim_id   uuid not null references claim,
    kind       text not null check (kind in ('reminder', 'collection', 'late_payment_compensation', 'payment_plan')),
    amount     numeric(14,2) not null check (amount > 0),
    charged_on date not null,
    letter_id  uuid references letter,
    unique (claim_id, kind)
);

-- Direct payments to the creditor and credit notes: they reduce capital only.
create table capital_reduction (
    capital_reduction_id uuid primary key,
    claim_id             uuid not null references claim,
    kind                 text not null check (kind in ('direct_payment', 'credit')),
    amount               numeric(14,2) not null check (amount > 0),
    on_date              date not null,
    created_at           timestamptz not null,
    created_by           uuid references app_user
);

create table claim_event (
    claim_event_id bigserial primary key,
    claim_id       uuid not null references claim,
    at             timestamptz not null,
    business_date  date not null,
    kind           text not null,
    actor_user_id  uuid references app_user,
    detail         jsonb not null default '{}',
    -- Engine transitions carry a key so a re-run cannot log the same step twice.
    step_key       text,
    unique (claim_id, step_key)
);
create index claim_event_claim_idx on claim_event (claim_id, claim_event_id);

create table outbox (
    outbox_id       bigserial primary key,
    letter_id       uuid not null unique references letter,
    attempts        int not null default 0,
    next_attempt_at timestamptz not null,
    last_error      text,
    done_at         timestamptz
);
create index outbox_pending_idx on outbox (next_attempt_at) where done_at is null;

create table api_key (
    api_key_id  uuid primary key,
    creditor_id uuid not null references creditor,
    key_hash    bytea not null unique,
    prefix      text not null,
    created_at  timestamptz not null,
    revoked_at  timestamptz
);
