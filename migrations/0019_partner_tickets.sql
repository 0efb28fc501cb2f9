-- Partners ask Fordra for help (about a customer's claim or in general): their questions are
-- support tickets too, beside the debtors'.
alter table ticket add column partner_id uuid references partner;
alter table ticket add constraint ticket_from_check check (personal_number is not null or partner_id is not null);
create index ticket_partner_idx on ticket (partner_id) where partner_id is not null;
alter table ticket_message drop constraint ticket_message_author_check;
alter table ticket_message add constraint ticket_message_author_check
    check (author in ('debtor', 'partner', 'staff'));
