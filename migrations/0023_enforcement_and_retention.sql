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
