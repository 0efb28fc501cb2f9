-- A debtor may take back a payment-plan proposal the creditor has not decided yet.
alter table payment_plan drop constraint payment_plan_status_check;
alter table payment_plan add constraint payment_plan_status_check
    check (status in ('proposed', 'active', 'rejected', 'withdrawn', 'broken', 'completed'));
