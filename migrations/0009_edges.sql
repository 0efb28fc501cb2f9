-- Correct at the edges (issue "Correct at the edges").

-- Sole traders (enskild firma) are creditors with the owner's personnummer as organisation
-- number; every creditor records its legal form.
alter table creditor add column company_form text not null default 'aktiebolag'
    check (company_form in ('aktiebolag', 'enskild_firma', 'handelsbolag', 'ekonomisk_forening',
                            'ideell_forening', 'annan'));
update creditor set company_form = case substr(org_nr, 3, 1)
    when '5' then 'aktiebolag' when '7' then 'ekonomisk_forening' when '8' then 'ideell_forening'
    when '9' then 'handelsbolag' when '0' then 'enskild_firma' when '1' then 'enskild_firma'
    else 'annan' end;

-- Reference rates are entered and corrected by staff (back office or `fordra set-reference-rate`).
alter table reference_rate
    add column decided_on date,
    add column updated_at timestamptz,
    add column updated_by uuid references app_user;

-- Fixed-window request counters (the API's per-key limit), shared by every fordra process.
create table rate_window (
    bucket       text not null,
    window_start timestamptz not null,
    hits         int not null,
    primary key (bucket, window_start)
);

-- One access row per view: a list or search shows many debtors at once, and one row lists every
-- claim it showed (and their debtors, whom Mina sidor shows the row to).
alter table personal_data_access
    add column claim_ids uuid[],
    add column debtor_ids text[];
update personal_data_access
    set claim_ids = case when claim_id is null then '{}' else array[claim_id] end,
        debtor_ids = array[debtor_id_number];
alter table personal_data_access
    alter column claim_ids set not null,
    alter column debtor_ids set not null;
drop index personal_data_access_debtor_idx;
alter table personal_data_access drop column claim_id, drop column debtor_id_number;
create index personal_data_access_debtors_idx on personal_data_access using gin (debtor_ids);

-- A creditor who signs up confirms the e-mail address before the account can be used, so that
-- sign-up never reveals whether an address already has an account (its owner is told by mail).
-- Accounts made by staff, the CLI or an invitation are confirmed by how they are made.
alter table app_user add column email_verified_at timestamptz default now();
update app_user set email_verified_at = created_at;
alter table password_reset add column purpose text not null default 'password'
    check (purpose in ('password', 'confirm_email'));

-- A claim page reads everything about one claim in one statement: index what it looks up.
create index capital_reduction_claim_idx on capital_reduction (claim_id);
create index dispute_claim_idx on dispute (claim_id, created_at);
create index payment_plan_claim_idx on payment_plan (claim_id, proposed_at);

-- A debtor who got letters is told when the creditor withdraws the claim.
alter table letter drop constraint letter_kind_check;
alter table letter add constraint letter_kind_check
    check (kind in ('reminder', 'collection', 'final_notice', 'payment_plan', 'plan_broken', 'withdrawal'));

-- The access log is append-only and written on every view of personal data. Its actor columns
-- are not foreign keys: the check would lock the actor's row (FOR KEY SHARE) on every view, and
-- dozens of concurrent views by one user would queue on that lock. Users and API keys are never
-- deleted, only disabled or revoked.
alter table personal_data_access
    drop constraint personal_data_access_actor_user_id_fkey,
    drop constraint personal_data_access_actor_api_key_id_fkey;
