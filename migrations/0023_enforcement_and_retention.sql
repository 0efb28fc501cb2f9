-- The Kronofogden hand-off: when a claim's application data was exported (it stays open until
-- Kronofogden's outcome is recorded), and the case's closing for retention.
alter table claim add column handed_off_on date;
create index claim_enforcement_ready_idx on claim (case_number) where state = 'enforcement_ready';
