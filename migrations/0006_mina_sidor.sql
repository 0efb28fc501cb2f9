-- Mina sidor: BankID orders and debtor sessions, company representation, disputes, payment
-- plans, contact changes, support tickets and the personal-data access log.

-- Every BankID order Fordra started, with what BankID answered (completionData kept for audit).
-- The browser that started an order holds a token whose hash is stored here; only it may follow
-- the order and receive the session.
create table bankid_order (
    bankid_order_id uuid primary key,
    order_ref       text not null unique,
    purpose         text not null check (purpose in ('login')),
    browser_hash    bytea not null,
    qr_start_token  text not null,
    qr_start_secret text not null,
    auto_start_token text not null,
    -- When the /auth response was received: the QR time counts from here.
    started_at      timestamptz not null,
    last_collect_at timestamptz,
    status          text not null default 'pending' check (status in ('pending', 'failed', 'complete', 'cancelled')),
    hint_code       text,
    error_code      text,
    personal_number text,
    completion      jsonb,
    end_user_ip     text not null,
    -- Where to go after login (a local path).
    next_path       text,
    mobile          boolean not null default false,
    finished_at     timestamptz,
    -- When the completed order was turned into a session (once).
    consumed_at     timestamptz
);
create index bankid_order_started_idx on bankid_order (started_at);

create table person (
    personal_number text primary key check (personal_number ~ '^[0-9]{12}$'),
    given_name      text not null,
    surname         text not null,
    email           text,
    phone           text,
    first_login_at  timestamptz not null,
    last_login_at   timestamptz not null
);

create table debtor_session (
    session_hash    bytea primary key,
    personal_number text not null references person,
    csrf_token      text not null,
    bankid_order_id uuid not null references bankid_order,
    created_at      timestamptz not null,
    last_seen_at    timestamptz not null,
    expires_at      timestamptz not null
);
create index debtor_session_expires_idx on debtor_session (expires_at);

-- A person who proved possession of a company's letter (OCR + case code) sees that company's cases.
create table representation (
    personal_number  text not null references person,
    company_id_number text not null check (company_id_number ~ '^[0-9]{12}$'),
    via_claim_id     uuid not null references claim,
    added_at         timestamptz not null,
    primary key (personal_number, company_id_number)
);

-- Letters beyond the three lifecycle steps (payment plan, broken plan) may repeat per claim.
alter table letter drop constraint letter_kind_check;
alter table letter add constraint letter_kind_check
    check (kind in ('reminder', 'collection', 'final_notice', 'payment_plan', 'plan_broken'));
alter table letter drop constraint letter_claim_id_kind_key;
create unique index letter_step_key on letter (claim_id, kind)
    where kind in ('reminder', 'collection', 'final_notice');

create table dispute (
    dispute_id      uuid primary key,
    claim_id        uuid not null references claim,
    personal_number text not null references person,
    reason          text not null check (reason in ('not_ordered', 'faulty_delivery', 'already_paid', 'wrong_amount', 'other')),
    body            text not null,
    attachment_name text,
    attachment_type text check (attachment_type in ('application/pdf', 'image/jpeg', 'image/png')),
    attachment      bytea,
    created_at      timestamptz not null,
    -- The creditor's answer.
    answer          text check (answer in ('withdraw', 'reduce', 'maintain')),
    answer_text     text,
    reduced_by      numeric(14,2),
    answered_at     timestamptz,
    answered_by     uuid references app_user,
    -- Staff's decision on a reduced or maintained claim; a disputed claim never goes to Kronofogden.
    decision        text check (decision in ('close', 'court')),
    decision_note   text,
    decided_at      timestamptz,
    decided_by      uuid references app_user,
    check (octet_length(attachment) <= 5 * 1024 * 1024)
);
-- One open dispute per claim.
create unique index dispute_open_key on dispute (claim_id) where decision is null and coalesce(answer, '') <> 'withdraw';

-- A creditor's payment-plan policy; without a row the defaults below apply.
create table plan_policy (
    creditor_id        uuid primary key references creditor,
    max_months         int not null check (max_months between 2 and 12),
    min_instalment     numeric(14,2) not null check (min_instalment >= 0),
    auto_approve_up_to numeric(14,2) not null check (auto_approve_up_to >= 0),
    updated_at         timestamptz not null,
    updated_by         uuid references app_user
);

create table payment_plan (
    plan_id       uuid primary key,
    claim_id      uuid not null references claim,
    personal_number text not null references person,
    months        int not null check (months between 2 and 12),
    -- The debt the plan covers when it was proposed (balance + plan fee).
    total         numeric(14,2) not null,
    fee           numeric(14,2) not null default 0,
    status        text not null check (status in ('proposed', 'active', 'rejected', 'broken', 'completed')),
    proposed_at   timestamptz not null,
    decided_at    timestamptz,
    decided_by    uuid references app_user,
    decision_note text,
    letter_id     uuid references letter,
    -- The business date the plan started; payments booked from then on count towards it.
    started_on    date,
    ended_on      date
);
create unique index payment_plan_live_key on payment_plan (claim_id) where status in ('proposed', 'active');

create table plan_instalment (
    plan_id  uuid not null references payment_plan,
    seq      int not null,
    due_date date not null,
    amount   numeric(14,2) not null check (amount > 0),
    ocr      text not null unique,
    primary key (plan_id, seq)
);

-- Changes a debtor asked for that staff must check (an address against the population register).
create table address_change (
    address_change_id uuid primary key,
    personal_number   text not null references person,
    street            text not null,
    postal_code       text not null,
    city              text not null,
    created_at        timestamptz not null,
    status            text not null default 'pending' check (status in ('pending', 'approved', 'rejected')),
    decided_at        timestamptz,
    decided_by        uuid references app_user
);

-- Support tickets; staff answer them in the back office (a later issue).
create table ticket (
    ticket_id       uuid primary key,
    personal_number text references person,
    claim_id        uuid references claim,
    subject         text not null,
    status          text not null default 'open' check (status in ('open', 'answered', 'closed')),
    created_at      timestamptz not null
);
create table ticket_message (
    ticket_message_id bigserial primary key,
    ticket_id         uuid not null references ticket,
    author            text not null check (author in ('debtor', 'staff')),
    author_user_id    uuid references app_user,
    body              text not null,
    at                timestamptz not null
);

-- Who opened a debtor's personal data, and where (GDPR art. 15; shown to the debtor).
create table personal_data_access (
    personal_data_access_id bigserial primary key,
    at                timestamptz not null,
    actor_user_id     uuid not null references app_user,
    actor_role        text not null,
    debtor_id_number  text not null,
    claim_id          uuid references claim,
    what              text not null
);
create index personal_data_access_debtor_idx on personal_data_access (debtor_id_number, at);

update rule_set set params = params || '{"plan_max_months": 12, "plan_break_days_late": 10}';
