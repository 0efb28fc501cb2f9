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
