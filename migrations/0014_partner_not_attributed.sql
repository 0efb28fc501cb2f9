-- A creditor that came through a partner's link, code or referral but is not the partner's
-- customer (another partner's referral came first, the referral is too old, …): the partner is
-- told why.
create table partner_not_attributed (
    partner_id   uuid not null references partner,
    org_nr       text not null,
    company_name text not null,
    reason       text not null,
    on_date      date not null,
    created_at   timestamptz not null
);
create index partner_not_attributed_partner on partner_not_attributed (partner_id, on_date desc);
