-- The lifecycle letters' wording becomes versioned text beside the creditor terms and the
-- partner agreement: three blocks (opening, what happens next, how to object) separated by a
-- blank line, with placeholders filled in when a letter is written.
alter table terms drop constraint terms_kind_check;
alter table terms add constraint terms_kind_check check (kind in
    ('creditor', 'partner', 'letter_reminder', 'letter_collection', 'letter_final_notice'));

insert into terms (kind, version, title, body, published_on) values
('letter_reminder', '2026-1', 'Betalningspåminnelse',
'Enligt våra uppgifter har fakturan nedan från {borgenär} inte betalats. Vi ber dig betala det totala beloppet senast {sista_dag}.

Om betalning inte kommer in senast {sista_dag} kan fordran lämnas till inkasso. Har du redan betalat kan du bortse från detta brev.

Anser du att kravet är felaktigt ska du invända skriftligt senast {sista_dag} till {epost} eller {adress}. Ange ärendenummer {ärendenummer}. Vi gör ett uppehåll i indrivningen medan invändningen utreds. Kan du inte betala hela beloppet kan du kontakta oss om en avbetalningsplan.', '2000-01-01'),
('letter_collection', '2026-1', 'Inkassokrav',
'{borgenär} har lämnat fordran nedan till {fordra} för indrivning. Betala det totala beloppet senast {sista_dag}, eller meddela oss före dess om du anser att kravet är felaktigt.

Om du varken betalar eller invänder senast {sista_dag} kan borgenären ansöka om betalningsföreläggande hos Kronofogden. Ett inkassokrav leder inte i sig till någon betalningsanmärkning.

Anser du att kravet är felaktigt ska du invända skriftligt senast {sista_dag} till {epost} eller {adress}. Ange ärendenummer {ärendenummer}. Vi gör ett uppehåll i indrivningen medan invändningen utreds. Kan du inte betala hela beloppet kan du kontakta oss om en avbetalningsplan.', '2000-01-01'),
('letter_final_notice', '2026-1', 'Slutkrav',
'Vi har tidigare skickat ett inkassokrav för fordran nedan men har inte fått betalt. Betala det totala beloppet senast {sista_dag}.

Om du varken betalar eller invänder senast {sista_dag} kan ärendet lämnas till Kronofogden med en ansökan om betalningsföreläggande. Om Kronofogden fastställer skulden kan det leda till en betalningsanmärkning.

Anser du att kravet är felaktigt ska du invända skriftligt senast {sista_dag} till {epost} eller {adress}. Ange ärendenummer {ärendenummer}. Vi gör ett uppehåll i indrivningen medan invändningen utreds. Kan du inte betala hela beloppet kan du kontakta oss om en avbetalningsplan.', '2000-01-01');
