-- Partner registration: the partner agreement as versioned text, a registration waiting for
-- its BankID signature, and every signature of an agreement version.

insert into terms (kind, version, title, body, published_on) values
('partner', '2026-1', 'Partneravtal',
'1. Avtalet gäller mellan Fordra och partnern (en redovisningsbyrå, affärssystemsleverantör eller återförsäljare) som skrivit under det med BankID.
2. Partnern rekommenderar Fordras inkassotjänst till sina kunder, kan registrera kunder och fordringar för kundernas räkning och får provision enligt punkt 4. Partnern driver inte själv in fordringar och lämnar inga löften till gäldenärer.
3. En kund räknas som partnerns när den skapas av partnern, registrerar sig via partnerns länk eller kod, eller registrerar sig inom 180 dagar efter att partnern hänvisat den. En kund som redan fanns hos Fordra, eller som en annan partner hänvisat först, räknas inte. En kund har bara en partner.
4. Provisionen är 6 kr för varje betalningspåminnelse och 20 kr för varje inkassokrav vars avgift gäldenären har betalat, inklusive 25 % moms. För en gäldenär som är näringsidkare ersätter förseningsersättningen på 450 kr avgifterna; provision tjänas då för varje påminnelse och inkassokrav som skickats innan förseningsersättningen betalats i sin helhet. Beloppen gäller enligt Fordras vid var tid publicerade regler.
5. Provision tjänas när en betalning täcker avgiften fullt ut, medan kundrelationen varar och högst 12 månader efter att den upphört. Återförs en betalning återförs provisionen på nästa underlag.
6. Efter varje kvartal ställer Fordra ut ett underlag med varje provisionsrad. Provisionen betalas inom 10 dagar till partnerns konto med partnerns referens. Ett utställt underlag ändras aldrig; rättelser tas upp på nästa.
7. Avtalet gäller i 12 månader från underskriften och förlängs därefter med 3 månader i taget, om det inte sägs upp av någon av parterna. Det upphör vid utgången av den period då det sades upp. Fordra kan häva avtalet med omedelbar verkan om partnern bryter mot det eller mot god inkassosed. När avtalet upphört ställs ett slutunderlag ut över allt som tjänats dittills.
8. Advokatbyråer kan inte vara partner.
9. Partnern behandlar kunduppgifter enligt dataskyddsförordningen och får bara se sina egna kunders ärenden.', '2026-01-01');

alter table bankid_order drop constraint bankid_order_purpose_check;
alter table bankid_order add constraint bankid_order_purpose_check
    check (purpose in ('login', 'partner_sign'));

alter table partner
    add column contact_name     text not null default '',
    add column contact_email    text not null default '',
    add column payout_kind      text check (payout_kind in ('bankgiro', 'bank_account')),
    add column payout_bankgiro  text,
    add column payout_clearing  text,
    add column payout_account   text,
    add column payout_reference text not null default '',
    -- Notice given (by either side): the agreement ends at the end of the period then running.
    add column agreement_ends_on date;

-- A registration waiting for the signatory's BankID signature; becomes a partner once signed.
create table partner_application (
    bankid_order_id  uuid primary key references bankid_order,
    org_nr           text not null check (org_nr ~ '^[0-9]{12}$'),
    name             text not null,
    contact_name     text not null,
    email            text not null,
    password_hash    text not null,
    payout_kind      text not null check (payout_kind in ('bankgiro', 'bank_account')),
    payout_bankgiro  text,
    payout_clearing  text,
    payout_account   text,
    payout_reference text not null,
    terms_kind       text not null default 'partner' check (terms_kind = 'partner'),
    terms_version    text not null,
    -- What was sent to BankID to sign: the text shown and the agreement's SHA-256 (hex).
    visible_text     text not null,
    agreement_sha256 text not null,
    created_at       timestamptz not null,
    foreign key (terms_kind, terms_version) references terms (kind, version)
);

-- Every acceptance of a partner agreement version: by BankID signature at registration (with
-- BankID's completion data: signature, OCSP response, device) or, for partners made from the
-- command line, recorded by the operator.
create table partner_agreement (
    partner_id       uuid not null references partner,
    terms_kind       text not null default 'partner' check (terms_kind = 'partner'),
    terms_version    text not null,
    agreement_sha256 text not null,
    via              text not null check (via in ('bankid', 'cli')),
    signed_at        timestamptz not null,
    signed_on        date not null,
    ip               text,
    personal_number  text check (personal_number ~ '^[0-9]{12}$'),
    signer_name      text,
    order_ref        text,
    completion       jsonb,
    primary key (partner_id, terms_version),
    foreign key (terms_kind, terms_version) references terms (kind, version),
    check (via = 'cli' or (ip is not null and personal_number is not null and completion is not null))
);

-- Partners accepted before signatures were stored accepted the first version.
insert into partner_agreement (partner_id, terms_version, agreement_sha256, via, signed_at, signed_on)
select partner_id, '2026-1', encode(sha256(convert_to(t.body, 'UTF8')), 'hex'), 'cli',
       coalesce(approved_at, created_at), agreement_signed_on
from partner, terms t
where agreement_signed_on is not null and t.kind = 'partner' and t.version = '2026-1';
