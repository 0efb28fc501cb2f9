-- The partner programme's own data: a partner number with a Luhn check digit, approval and
-- revocation, which creditors are whose customers (kept after a relationship ends), and
-- referrals. The number is made here so that every way a partner row is written gets one.

create sequence partner_serial_seq start 100001;

-- serial ‖ Luhn digit (weights 2, 1, 2, … from the right of the serial), as
-- domain::partner::number computes it; a test checks that the two agree.
create function partner_number_of(serial bigint) returns text language sql immutable as $$
    select serial::text || ((10 - sum(case when i % 2 = 1
                                          then case when d * 2 > 9 then d * 2 - 9 else d * 2 end
                                          else d end) % 10) % 10)::text
    from (select substr(reverse(serial::text), i, 1)::int as d, i
          from generate_series(1, length(serial::text)) as i) as digits
$$;

alter table partner
    add column partner_number text not null unique default partner_number_of(nextval('partner_serial_seq')),
    add column status text not null default 'pending' check (status in ('pending', 'approved', 'revoked')),
    add column approved_at timestamptz,
    add column revoked_on date,
    add column agreement_signed_on date;

create table partner_customer (
    partner_customer_id uuid primary key,
    partner_id  uuid not null references partner,
    creditor_id uuid not null references creditor,
    via         text not null check (via in ('link', 'created', 'referral')),
    since       date not null,
    ended_on    date,
    check (ended_on is null or ended_on >= since)
);
-- One partner per creditor at a time; ended relationships are kept with their end date.
create unique index partner_customer_current on partner_customer (creditor_id) where ended_on is null;
create index partner_customer_partner on partner_customer (partner_id);

create table partner_referral (
    referral_id uuid primary key,
    partner_id  uuid not null references partner,
    org_nr      text not null,
    name        text not null,
    email       text not null,
    referred_on date not null,
    created_at  timestamptz not null
);
create index partner_referral_org on partner_referral (org_nr, referred_on);
