-- One session store for every audience: staff, creditor and partner users (user_id) and
-- debtors logged in with BankID (personal_number). Each row is exactly one of the two.
alter table session alter column user_id drop not null;
alter table session add column personal_number text references person;
alter table session add column bankid_order_id uuid references bankid_order;
alter table session add constraint session_one_holder
    check ((user_id is null) <> (personal_number is null));
alter table session add constraint session_debtor_by_bankid
    check (personal_number is null or (bankid_order_id is not null and stage = 'full'));

insert into session (session_hash, personal_number, bankid_order_id, stage, csrf_token,
                     created_at, last_seen_at, expires_at)
select session_hash, personal_number, bankid_order_id, 'full', csrf_token,
       created_at, last_seen_at, expires_at
from debtor_session;

drop table debtor_session;
