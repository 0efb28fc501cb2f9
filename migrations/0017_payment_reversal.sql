-- A payment taken off the claim it was matched to (wrong claim, or the bank took it back):
-- who, why and when. The payment goes back to the unmatched queue; the claim's allocation and
-- any commission are reversed through the journal.
create table payment_reversal (
    payment_reversal_id uuid primary key,
    payment_id  uuid not null references payment,
    claim_id    uuid not null references claim,
    amount      numeric(14,2) not null,
    reason      text not null check (length(trim(reason)) > 0),
    reversed_at timestamptz not null,
    reversed_on date not null,
    reversed_by uuid not null references app_user
);
create index payment_reversal_claim_idx on payment_reversal (claim_id);
