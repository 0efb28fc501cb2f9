-- Money: bank files in, payments and their matching, the double-entry ledger, refunds,
-- creditor settlements and payout batches, payout accounts with an effective date, the
-- payment freshness gate's covered bank days, and a queue for plain notification e-mails.

create table bank_file (
    bank_file_id  uuid primary key,
    format        text not null check (format in ('bgmax', 'camt054')),
    file_name     text not null,
    sha256        bytea not null unique,
    -- camt.054 GrpHdr/MsgId: a bank never sends the same message twice.
    message_id    text unique,
    payment_count int not null,
    matched_count int not null default 0,
    total         numeric(14,2) not null,
    first_booking date not null,
    last_booking  date not null,
    test_file     boolean not null default false,
    imported_at   timestamptz not null,
    imported_by   uuid references app_user,
    business_date date not null
);

create table payment (
    payment_id      uuid primary key,
    bank_file_id    uuid not null references bank_file,
    -- Position in the file (1-based), and the line it starts on.
    seq             int not null,
    line            int not null,
    -- The bank's identity of the payment: camt.054 AcctSvcrRef, or the BgMax combination of
    -- receiver bankgiro, payment day, deposit serial, BGC serial, amount and reference.
    bank_ref        text not null unique,
    kind            text not null check (kind in ('payment', 'deduction')),
    booked_on       date not null,
    amount          numeric(14,2) not null check (amount > 0),
    reference       text not null default '',
    -- Set when the reference is a well-formed OCR number.
    ocr             text,
    payer_name      text not null default '',
    payer_account   text,
    payer_id_number text,
    information     text not null default '',
    claim_id        uuid references claim,
    match_kind      text check (match_kind in ('ocr', 'manual')),
    matched_at      timestamptz,
    matched_by      uuid references app_user,
    -- Unmatched money given back to the payer.
    refunded        boolean not null default false,
    check ((claim_id is null) = (match_kind is null))
);
create index payment_claim_idx on payment (claim_id) where claim_id is not null;
create index payment_unmatched_idx on payment (booked_on) where claim_id is null;

-- A bank day counts as covered for the freshness gate when a file booked payments on it, or an
-- admin said no file will come for it.
create table bank_day (
    day          date primary key,
    kind         text not null check (kind in ('file', 'no_file')),
    bank_file_id uuid references bank_file,
    marked_by    uuid references app_user,
    marked_at    timestamptz not null,
    note         text not null default ''
);

-- The journal. Amounts: debit positive, credit negative. Every entry sums to zero; nothing is
-- ever updated or deleted (a correction is a new entry).
create table journal_entry (
    entry_id      bigserial primary key,
    at            timestamptz not null,
    business_date date not null,
    kind          text not null,
    memo          text not null default '',
    user_id       uuid references app_user
);

create table journal_line (
    -- No foreign keys (a per-row check would halve the import rate): lines are only written
    -- with their entry by `ledger::post`, and `fordra check-ledger` finds any orphan.
    entry_id      bigint not null,
    account       text not null check (account in ('bank', 'unmatched', 'claim_payments', 'fee_income',
        'interest_income', 'creditor_payable', 'settlement_payable', 'refund_payable', 'commission_payable')),
    amount        numeric(14,2) not null check (amount <> 0),
    -- Dimensions, tied to claims' statements by `fordra check-ledger`.
    claim_id      uuid,
    creditor_id   uuid,
    payment_id    uuid,
    settlement_id uuid,
    payout_id     uuid
);
create index journal_line_entry_idx on journal_line (entry_id);
create index journal_line_claim_idx on journal_line (claim_id) where claim_id is not null;
create index journal_line_creditor_idx on journal_line (creditor_id) where account = 'creditor_payable';
create index journal_line_payment_idx on journal_line (payment_id) where account in ('unmatched', 'refund_payable');

create function ledger_is_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'the ledger is append-only: post a correcting entry instead';
end $$;
create trigger journal_entry_append_only before update or delete or truncate on journal_entry
    for each statement execute function ledger_is_append_only();
create trigger journal_line_append_only before update or delete or truncate on journal_line
    for each statement execute function ledger_is_append_only();

-- Payout accounts, each from the day it takes effect (10 bank days after a change).
create table payout_account (
    payout_account_id uuid primary key,
    creditor_id       uuid not null references creditor,
    kind              text not null check (kind in ('bankgiro', 'bank_account')),
    bankgiro          text,
    clearing          text,
    account           text,
    effective_from    date not null,
    created_at        timestamptz not null,
    created_by        uuid references app_user,
    unique (creditor_id, effective_from)
);
insert into payout_account (payout_account_id, creditor_id, kind, bankgiro, clearing, account, effective_from, created_at)
select gen_random_uuid(), creditor_id,
       case when payout_bankgiro is not null then 'bankgiro' else 'bank_account' end,
       payout_bankgiro, payout_clearing, payout_account, '2000-01-01', now()
from creditor where payout_bankgiro is not null or payout_account is not null;

-- Where a debtor wants money back (given on Mina sidor, or by staff from a letter or call).
create table refund_account (
    claim_id   uuid primary key references claim,
    clearing   text not null,
    account    text not null,
    given_at   timestamptz not null,
    given_by   uuid references app_user
);

create sequence settlement_number_seq start 1001;
create table settlement (
    settlement_id uuid primary key,
    number        bigint not null unique default nextval('settlement_number_seq'),
    creditor_id   uuid not null references creditor,
    period_to     date not null,
    created_on    date not null,
    created_at    timestamptz not null,
    created_by    uuid references app_user,
    capital       numeric(14,2) not null,
    total         numeric(14,2) not null check (total > 0)
);
create index settlement_creditor_idx on settlement (creditor_id, created_on desc);

create table settlement_line (
    settlement_id uuid not null references settlement,
    claim_id      uuid not null references claim,
    capital       numeric(14,2) not null,
    primary key (settlement_id, claim_id)
);

create sequence payout_batch_number_seq start 501;
create table payout_batch (
    batch_id           uuid primary key,
    number             bigint not null unique default nextval('payout_batch_number_seq'),
    created_at         timestamptz not null,
    created_by         uuid references app_user,
    payout_count       int not null,
    total              numeric(14,2) not null,
    needs_two          boolean not null,
    state              text not null check (state in ('draft', 'approved', 'exported', 'executed')),
    approved_by        uuid references app_user,
    approved_at        timestamptz,
    second_approved_by uuid references app_user,
    second_approved_at timestamptz,
    message_id         text unique,
    exported_at        timestamptz,
    executed_at        timestamptz,
    executed_by        uuid references app_user,
    execution_date     date,
    check (second_approved_by is null or second_approved_by <> approved_by)
);

create table payout (
    payout_id     uuid primary key,
    kind          text not null check (kind in ('settlement', 'refund')),
    settlement_id uuid unique references settlement,
    claim_id      uuid references claim,
    payment_id    uuid references payment,
    amount        numeric(14,2) not null check (amount > 0),
    payee_name    text not null,
    -- 'bankgiro' (number), 'bank_account' (clearing + account) or 'iban'.
    account_kind  text not null check (account_kind in ('bankgiro', 'bank_account', 'iban')),
    account       text not null,
    clearing      text,
    reference     text not null,
    created_at    timestamptz not null,
    -- Set once: a payout is never in two batches.
    batch_id      uuid references payout_batch,
    check ((kind = 'settlement') = (settlement_id is not null))
);
create index payout_open_idx on payout (created_at) where batch_id is null;

-- Plain notification e-mails (receipts, refund requests) sent by the engine after commit.
create table mail_queue (
    mail_id         bigserial primary key,
    to_addr         text not null,
    subject         text not null,
    body            text not null,
    claim_id        uuid references claim,
    created_at      timestamptz not null,
    next_attempt_at timestamptz not null,
    attempts        int not null default 0,
    last_error      text,
    sent_at         timestamptz
);
create index mail_queue_pending_idx on mail_queue (next_attempt_at) where sent_at is null;

-- New rule parameters (effective-dated like the rest).
update rule_set set params = params || '{"settlement_interval_days": 7, "payout_account_delay_bank_days": 10,
    "unmatched_refund_bank_days": 60, "payout_dual_approval_over": "100000.00"}';
