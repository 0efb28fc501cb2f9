-- Partner commission: one row per fee whose payment in full earned the partner commission (and
-- a negative row when that payment is reversed), booked in the journal as it is earned;
-- quarterly statements (underlag) that take every row not yet on one; their payouts.

alter table journal_line drop constraint journal_line_account_check;
alter table journal_line add constraint journal_line_account_check
    check (account in ('bank', 'unmatched', 'claim_payments', 'fee_income', 'interest_income',
        'creditor_payable', 'settlement_payable', 'refund_payable', 'commission_payable',
        'commission_expense'));

create sequence partner_statement_number_seq start 3001;
create table partner_statement (
    statement_id   uuid primary key,
    number         bigint not null unique default nextval('partner_statement_number_seq'),
    partner_id     uuid not null references partner,
    -- '2026Q1', or for the final statement when the agreement ended, 'slut'.
    quarter        text not null check (quarter ~ '^[0-9]{4}Q[1-4]$' or quarter = 'slut'),
    period_to      date not null,
    issued_on      date not null,
    issued_at      timestamptz not null,
    total_excl_vat numeric(14,2) not null,
    vat            numeric(14,2) not null,
    total          numeric(14,2) not null check (total = total_excl_vat + vat),
    payout_due     date not null,
    unique (partner_id, quarter)
);

create table commission (
    commission_id  uuid primary key,
    partner_id     uuid not null references partner,
    creditor_id    uuid not null references creditor,
    claim_id       uuid not null references claim,
    -- The fee whose payment earned it.
    fee_kind       text not null check (fee_kind in ('reminder', 'collection', 'late_payment_compensation')),
    -- For a business debtor's 450 kr: the letters it stands for ('reminder,collection').
    letters        text not null default '',
    amount_excl_vat numeric(14,2) not null,
    vat            numeric(14,2) not null,
    amount         numeric(14,2) not null check (amount = amount_excl_vat + vat and amount <> 0),
    -- The booking date of the payment that paid the fee in full.
    booked_on      date not null,
    -- The business date of the allocation: decides the quarter.
    allocated_on   date not null,
    created_at     timestamptz not null,
    reverses       uuid references commission,
    statement_id   uuid references partner_statement
);
create index commission_claim_idx on commission (claim_id);
create index commission_open_idx on commission (partner_id, allocated_on) where statement_id is null;
-- A row is reversed at most once (the claim's lock orders the bookings of one claim).
create unique index commission_reversed_once_idx on commission (reverses) where reverses is not null;

alter table payout add column partner_statement_id uuid unique references partner_statement;
alter table payout drop constraint payout_kind_check;
alter table payout add constraint payout_kind_check check (kind in ('settlement', 'refund', 'commission'));
alter table payout add constraint payout_commission_check
    check ((kind = 'commission') = (partner_statement_id is not null));
