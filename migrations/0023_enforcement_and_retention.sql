-- The Kronofogden hand-off: when a claim's application data was exported (it stays open until
-- Kronofogden's outcome is recorded), and the case's closing for retention.
alter table claim add column handed_off_on date;
create index claim_enforcement_ready_idx on claim (case_number) where state = 'enforcement_ready';

-- The engine's last completed pass, for the back office's health panel (one row).
create table engine_status (
    id            int primary key default 1 check (id = 1),
    business_date date not null,
    finished_at   timestamptz not null,
    report        jsonb not null
);

-- Retention: a closed case keeps its bookkeeping records for the retention period, then its
-- personal data is removed; amounts, dates, OCRs and ledger entries stay.
alter table claim add column anonymised_at timestamptz;
alter table claim drop constraint claim_debtor_id_number_check;
alter table claim add constraint claim_debtor_id_number_check
    check (debtor_id_number ~ '^[0-9]{12}$' or (anonymised_at is not null and debtor_id_number = ''));
alter table letter add column anonymised_at timestamptz;
alter table dispute alter column personal_number drop not null;
alter table payment_plan alter column personal_number drop not null;
alter table ticket add column anonymised_at timestamptz;
alter table ticket drop constraint ticket_from_check;
alter table ticket add constraint ticket_from_check
    check (num_nonnulls(personal_number, partner_id, creditor_id) = 1 or anonymised_at is not null);
create index claim_closed_idx on claim (state) where anonymised_at is null and state in ('paid', 'withdrawn', 'written_off');

-- The audit log names a debtor by a person id, never by personnummer, so that anonymising the
-- person leaves the chain intact. Rows not yet sealed are rewritten to the id once.
alter table person add column person_id uuid not null default gen_random_uuid() unique;
alter table audit_event disable trigger audit_event_append_only;
update audit_event a set subject = 'person:' || p.person_id
  from person p where a.seal_seq is null and a.subject = 'person:' || p.personal_number;
update audit_event a set detail = jsonb_set(a.detail, '{by}', to_jsonb('person:' || p.person_id))
  from person p where a.seal_seq is null and a.detail->>'by' = 'person:' || p.personal_number;
alter table audit_event enable trigger audit_event_append_only;
