-- Effective-dated rule data. Nothing here is a literal in code: admins correct and extend it.

-- The Riksbank reference rate per half-year (seeded from shared/data/reference-rates.csv).
-- Late interest = reference rate + the margin of the rule set in force.
create table reference_rate (
    valid_from date primary key,
    valid_to   date not null,
    percent    numeric(6,2) not null,
    status     text not null check (status in ('confirmed', 'derived', 'unverified')),
    source     text not null,
    check (valid_to >= valid_from)
);

insert into reference_rate (valid_from, valid_to, percent, status, source) values
    ('2022-01-01', '2022-06-30', 0.00, 'confirmed', 'Riksbank referensränta table'),
    ('2022-07-01', '2022-12-31', 0.50, 'confirmed', 'Riksbank referensränta table'),
    ('2023-01-01', '2023-06-30', 2.50, 'confirmed', 'Riksbank referensränta table'),
    ('2023-07-01', '2023-12-31', 3.50, 'confirmed', 'Riksbank news 2023-07-03'),
    ('2024-01-01', '2024-06-30', 4.00, 'confirmed', 'Riksbank referensränta table'),
    ('2024-07-01', '2024-12-31', 4.00, 'confirmed', 'Riksbank referensränta table'),
    ('2025-01-01', '2025-06-30', 3.00, 'derived', 'policy rate 2.75 at 2024-12-31 rounded up to 0.5'),
    ('2025-07-01', '2025-12-31', 2.00, 'derived', 'policy rate 2.00 at 2025-06-30'),
    ('2026-01-01', '2026-06-30', 2.00, 'derived', 'policy rate 1.75 at 2025-12-31 rounded up to 0.5'),
    ('2026-07-01', '2026-12-31', 2.00, 'unverified', 'assumed unchanged; verify at riksbank.se before production');

-- Fees, margin, day counts and commission amounts, each set with the date it takes effect.
create table rule_set (
    valid_from date primary key,
    params     jsonb not null,
    created_at timestamptz not null default now(),
    note       text not null default ''
);

insert into rule_set (valid_from, params, note) values (
    '2013-03-16',
    '{"valid_from": "2013-03-16", "reminder_fee": "60.00", "collection_fee": "180.00",
      "payment_plan_fee": "170.00", "late_payment_compensation": "450.00", "interest_margin": "8",
      "day_count": "actual365", "reminder_deadline_days": 10, "collection_deadline_days": 10,
      "collection_min_days": 8, "delivery_bank_days": 2, "receipt_bank_days": 4,
      "final_notice_deadline_days": 10, "grace_bank_days": 3, "limitation_consumer_years": 3,
      "limitation_general_years": 10, "commission_reminder": "6.00", "commission_collection": "20.00",
      "commission_vat_percent": "25", "commission_tail_months": 12}',
    'Lag (1981:739) as amended by SFS 2013:56; deadlines per rules-sweden.md C6 (FFFS 2025:2 to verify)'
);
