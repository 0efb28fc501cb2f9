-- The engine takes due claims in (next_action_on, case_number) order, a batch at a time. With
-- the index on next_action_on alone, every batch sorted all the claims still due (quadratic in a
-- day's work); in this order each batch is a short index scan.
drop index claim_due_idx;
create index claim_due_idx on claim (next_action_on, case_number) where next_action_on is not null;
