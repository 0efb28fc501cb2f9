-- Creditor onboarding (terms acceptance, referral, rejection), user invitations, CSV imports
-- awaiting confirmation, and a generic rate-limit log for public pages.

create table terms (
    kind         text not null check (kind in ('creditor', 'partner')),
    version      text not null,
    title        text not null,
    body         text not null,
    published_on date not null,
    primary key (kind, version)
);

insert into terms (kind, version, title, body, published_on) values
('creditor', '2026-1', 'Allmänna villkor för borgenärer',
'1. Fordra driver in förfallna fordringar för borgenärens räkning enligt inkassolagen (1974:182) och god inkassosed.
2. Borgenären intygar att varje registrerad fordran är förfallen, inte betald, inte bestridd och inte preskriberad, och att uppgifterna om gäldenären är riktiga.
3. Påminnelseavgift tas ut bara om borgenären intygar att den avtalades när skulden uppkom.
4. Tjänsten är kostnadsfri för borgenären. Lagstadgade avgifter och dröjsmålsränta som gäldenären betalar tillfaller Fordra om inget annat avtalats. Kapitalet redovisas till borgenären genom avräkning.
5. Borgenären meddelar Fordra utan dröjsmål om gäldenären betalar direkt till borgenären eller om fordran krediteras.
6. Fordra får avstå från att driva en fordran som strider mot lag eller god inkassosed.
7. Fordra behandlar personuppgifter som personuppgiftsansvarig för inkassoverksamheten enligt dataskyddsförordningen.
8. Villkoren gäller tills vidare med en månads ömsesidig uppsägningstid.', '2026-01-01');

alter table creditor
    add column terms_version     text,
    add column terms_accepted_at timestamptz,
    add column terms_accepted_ip text,
    add column referral_code     text,
    add column decided_at        timestamptz,
    add column decided_by        uuid references app_user;

-- A CSV file uploaded and previewed; confirming it imports every row or none.
create table claim_import (
    claim_import_id uuid primary key,
    creditor_id     uuid not null references creditor,
    user_id         uuid not null references app_user,
    file_name       text not null,
    content         text not null,
    row_count       int not null,
    created_at      timestamptz not null,
    committed_at    timestamptz
);

-- Hits on rate-limited public pages, per bucket (page and client address).
create table rate_event (
    bucket text not null,
    at     timestamptz not null
);
create index rate_event_idx on rate_event (bucket, at);
