//! Letters to debtors: betalningspåminnelse, inkassokrav and slutlig påminnelse. A letter is a
//! data snapshot (everything printed, with the rule-set version used), stored once with its HTML;
//! the PDF is rendered from the snapshot, byte-identical every time.

pub mod pdf;

use askama::Template;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    claims::ClaimRecord,
    config::Identity,
    domain::{fees::LetterKind, ids::IdNumber, money::Sek, statement::Statement},
    web::filters,
};
use pdf::{Document, Face};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub kind: LetterKind,
    pub title: String,
    pub created_on: NaiveDate,
    /// The deadline if the letter is dispatched on `created_on`; dispatch later only extends it.
    pub deadline: NaiveDate,
    pub rules_version: NaiveDate,
    pub sender: Identity,
    pub creditor_name: String,
    pub creditor_org_nr: String,
    pub debtor_name: String,
    pub debtor_id: String,
    pub debtor_street: String,
    pub debtor_postal_code: String,
    pub debtor_city: String,
    pub invoice_number: String,
    pub description: String,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub case_number: i64,
    pub ocr: String,
    pub case_code: String,
    pub capital: Sek,
    pub interest: Sek,
    pub interest_lines: Vec<InterestLine>,
    /// What was already paid of the interest in `interest_lines`.
    #[serde(default)]
    pub interest_lines_paid: Sek,
    pub fees: Vec<FeeLine>,
    pub paid: Sek,
    pub total: Sek,
    pub intro: String,
    pub next: String,
    pub objection: String,
    /// A payment plan's instalments, each with its own OCR (empty for other letters).
    #[serde(default)]
    pub schedule: Vec<ScheduleLine>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScheduleLine {
    pub due_date: NaiveDate,
    pub amount: Sek,
    pub ocr: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InterestLine {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: i64,
    pub rate_percent: String,
    pub base: Sek,
    pub amount: Sek,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeeLine {
    pub label: String,
    pub amount: Sek,
}

pub fn title(kind: LetterKind) -> &'static str {
    match kind {
        LetterKind::Reminder => "Betalningspåminnelse",
        LetterKind::Collection => "Inkassokrav",
        LetterKind::FinalNotice => "Slutlig påminnelse",
        LetterKind::PaymentPlan => "Amorteringsplan",
        LetterKind::PlanBroken => "Amorteringsplanen har upphört",
        LetterKind::Withdrawal => "Kravet är återkallat",
    }
}

/// The title of a stored letter kind.
pub fn title_of(kind: &str) -> &'static str {
    LetterKind::parse(kind).map(title).unwrap_or("Brev")
}

/// Builds the snapshot of a letter from the claim and its statement on the creation date.
pub fn build(
    kind: LetterKind,
    rec: &ClaimRecord,
    s: &Statement,
    created_on: NaiveDate,
    deadline: NaiveDate,
    rules_version: NaiveDate,
    sender: &Identity,
) -> Snapshot {
    let intro = match kind {
        LetterKind::Reminder => format!(
            "Enligt våra uppgifter har fakturan nedan från {} inte betalats. Vi ber dig betala det totala beloppet senast {deadline}.",
            rec.creditor_name
        ),
        LetterKind::Collection => format!(
            "{} har lämnat fordran nedan till {} för indrivning. Betala det totala beloppet senast {deadline}, eller meddela oss före dess om du anser att kravet är felaktigt.",
            rec.creditor_name, sender.name
        ),
        LetterKind::FinalNotice => format!(
            "Vi har tidigare skickat ett inkassokrav för fordran nedan men har inte fått betalt. Betala det totala beloppet senast {deadline}."
        ),
        LetterKind::PaymentPlan => format!(
            "Vi har kommit överens om att du betalar fordran nedan från {} i delbetalningar enligt planen i det här brevet. Planen omfattar hela skulden.",
            rec.creditor_name
        ),
        LetterKind::PlanBroken => format!(
            "Amorteringsplanen för fordran nedan har upphört eftersom en delbetalning inte kom in i tid. Hela det återstående beloppet ska nu betalas senast {deadline}."
        ),
        LetterKind::Withdrawal => format!(
            "{} har återkallat fordran nedan från {}. Ärendet är avslutat och du ska inte betala något till oss.",
            rec.creditor_name, sender.name
        ),
    };
    let next = match kind {
        LetterKind::Reminder => format!(
            "Om betalning inte kommer in senast {deadline} kan fordran lämnas till inkasso. Har du redan betalat kan du bortse från detta brev."
        ),
        LetterKind::Collection => format!(
            "Om du varken betalar eller invänder senast {deadline} kan borgenären ansöka om betalningsföreläggande hos Kronofogden. Ett inkassokrav leder inte i sig till någon betalningsanmärkning."
        ),
        LetterKind::FinalNotice => format!(
            "Om du varken betalar eller invänder senast {deadline} kan ärendet lämnas till Kronofogden med en ansökan om betalningsföreläggande. Om Kronofogden fastställer skulden kan det leda till en betalningsanmärkning."
        ),
        LetterKind::PaymentPlan => "Så länge varje delbetalning kommer in i tid tar vi inga nya steg i ärendet. Kommer en delbetalning in mer än tio dagar för sent upphör planen och indrivningen fortsätter. Dröjsmålsräntan är beräknad till varje förfallodag; betalar du tidigare blir det sista beloppet lägre.".to_string(),
        LetterKind::PlanBroken => format!(
            "Om du inte betalar senast {deadline} fortsätter indrivningen enligt inkassokravet. Vill du göra en ny överenskommelse kan du kontakta oss via Mina sidor."
        ),
        LetterKind::Withdrawal => "Vi skickar inga fler brev i ärendet. Har du frågor om själva fakturan kan du vända dig direkt till borgenären. Har du betalat till oss efter att kravet återkallades betalar vi tillbaka beloppet.".to_string(),
    };
    let objection = if kind == LetterKind::Withdrawal {
        format!(
            "Frågor om ärendet besvarar vi på {} eller {}. Ange ärendenummer {}.",
            sender.email, sender.phone, rec.case_number
        )
    } else {
        format!(
            "Anser du att kravet är felaktigt ska du invända skriftligt senast {deadline} till {} eller {}. Ange ärendenummer {}. Vi gör ett uppehåll i indrivningen medan invändningen utreds. Kan du inte betala hela beloppet kan du kontakta oss om en avbetalningsplan.",
            sender.email, sender.address, rec.case_number
        )
    };
    Snapshot {
        kind,
        title: title(kind).into(),
        created_on,
        deadline,
        rules_version,
        sender: sender.clone(),
        creditor_name: rec.creditor_name.clone(),
        creditor_org_nr: IdNumber::from_stored(&rec.creditor_org_nr).display(),
        debtor_name: rec.debtor_name.clone(),
        debtor_id: rec.debtor_id().display(),
        debtor_street: rec.debtor_street.clone(),
        debtor_postal_code: rec.debtor_postal_code.clone(),
        debtor_city: rec.debtor_city.clone(),
        invoice_number: rec.invoice_number.clone(),
        description: rec.description.clone(),
        invoice_date: rec.invoice_date,
        due_date: rec.due_date,
        case_number: rec.case_number,
        ocr: rec.ocr.clone(),
        case_code: rec.case_code.clone(),
        capital: s.capital,
        interest: s.interest,
        interest_lines: s
            .current_segments
            .iter()
            .map(|seg| InterestLine {
                from: seg.from,
                to: seg.to,
                days: seg.days,
                rate_percent: format!("{:.2}", seg.rate_percent).replace('.', ","),
                base: seg.base,
                amount: seg.amount(),
            })
            .collect(),
        interest_lines_paid: s.segments_paid,
        fees: s
            .fees
            .iter()
            .filter(|f| !f.owed.is_zero())
            .map(|f| FeeLine {
                label: f.kind.label().into(),
                amount: f.owed,
            })
            .collect(),
        paid: s.paid,
        total: s.balance,
        intro,
        next,
        objection,
        schedule: Vec::new(),
    }
}

impl Snapshot {
    /// Whether the letter asks the debtor to pay (every letter but the withdrawal notice).
    pub fn asks_payment(&self) -> bool {
        self.kind != LetterKind::Withdrawal
    }
}

/// Stores a letter that is not a lifecycle step (a plan's schedule, a broken plan, a
/// withdrawal) with its HTML, and queues it for delivery in the caller's transaction. It goes by
/// e-mail when the debtor has an address, else to print.
pub async fn queue(
    conn: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    snapshot: &Snapshot,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<uuid::Uuid> {
    let letter_id = uuid::Uuid::new_v4();
    sqlx::query(
        "insert into letter (letter_id, claim_id, kind, created_on, snapshot, html, channel)
         values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(letter_id)
    .bind(rec.claim_id)
    .bind(snapshot.kind.as_str())
    .bind(snapshot.created_on)
    .bind(serde_json::to_value(snapshot)?)
    .bind(render_html(snapshot)?)
    .bind(if rec.debtor_email.is_some() {
        "email"
    } else {
        "print"
    })
    .execute(&mut *conn)
    .await?;
    sqlx::query("insert into outbox (letter_id, next_attempt_at) values ($1, $2)")
        .bind(letter_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(letter_id)
}

#[derive(Template)]
#[template(path = "letters/letter.html")]
struct LetterHtml<'a> {
    s: &'a Snapshot,
}

pub fn render_html(s: &Snapshot) -> anyhow::Result<String> {
    Ok(LetterHtml { s }.render()?)
}

/// The letter as PDF, from its snapshot only.
pub fn render_pdf(s: &Snapshot) -> Vec<u8> {
    let mut d = Document::new();
    let money = |v: Sek| v.to_string();
    d.line_at(56.0, &s.sender.name, 12.0, Face::Bold);
    d.line_at(
        56.0,
        &format!(
            "{} · org.nr {} · {}",
            s.sender.address, s.sender.org_nr, s.sender.licence
        ),
        8.0,
        Face::Regular,
    );
    d.space(24.0);
    for line in [
        &s.debtor_name,
        &s.debtor_street,
        &format!("{} {}", s.debtor_postal_code, s.debtor_city),
    ] {
        d.line_at(330.0, line, 11.0, Face::Regular);
    }
    d.space(24.0);
    d.line_at(56.0, &s.title, 18.0, Face::Bold);
    d.row(
        &format!("Datum: {}", s.created_on),
        &format!("Ärendenummer: {}", s.case_number),
        10.0,
        Face::Regular,
    );
    d.space(8.0);
    d.paragraph(&s.intro, 10.0, Face::Regular);
    d.space(8.0);
    d.line_at(56.0, "Fordran", 12.0, Face::Bold);
    d.paragraph(
        &format!(
            "Borgenär: {} (org.nr {}). Gäldenär: {} ({}). Faktura {} daterad {}, förfallodag {}.{}",
            s.creditor_name,
            s.creditor_org_nr,
            s.debtor_name,
            s.debtor_id,
            s.invoice_number,
            s.invoice_date,
            s.due_date,
            if s.description.is_empty() {
                String::new()
            } else {
                format!(" Avser: {}.", s.description)
            }
        ),
        10.0,
        Face::Regular,
    );
    d.space(8.0);
    if !s.asks_payment() {
        d.line_at(56.0, "Vad händer nu", 12.0, Face::Bold);
        d.paragraph(&s.next, 10.0, Face::Regular);
        d.space(6.0);
        d.paragraph(&s.objection, 10.0, Face::Regular);
        return d.finish();
    }
    d.row("Kapitalbelopp", &money(s.capital), 10.0, Face::Regular);
    for l in &s.interest_lines {
        d.row(
            &format!(
                "Dröjsmålsränta {} % på {} för {} – {} ({})",
                l.rate_percent,
                money(l.base),
                l.from,
                l.to,
                crate::domain::text::count_of(l.days, "dag", "dagar")
            ),
            &money(l.amount),
            10.0,
            Face::Regular,
        );
    }
    if s.interest_lines_paid.is_positive() {
        d.row(
            "Avgår redan betald ränta",
            &money(-s.interest_lines_paid),
            10.0,
            Face::Regular,
        );
    }
    if s.interest_lines.len() != 1 || s.interest_lines_paid.is_positive() {
        d.row(
            "Upplupen ränta totalt",
            &money(s.interest),
            10.0,
            Face::Regular,
        );
    }
    for f in &s.fees {
        d.row(&f.label, &money(f.amount), 10.0, Face::Regular);
    }
    if !s.paid.is_zero() {
        d.row(
            "Redan betalt (avräknat ovan)",
            &money(s.paid),
            10.0,
            Face::Regular,
        );
    }
    d.row("Att betala", &money(s.total), 11.0, Face::Bold);
    d.space(8.0);
    d.line_at(56.0, "Så betalar du", 12.0, Face::Bold);
    if s.schedule.is_empty() {
        d.paragraph(
            &format!(
                "Betala {} till bankgiro {} senast {} och ange OCR-nummer {}. Räntan fortsätter att löpa till betalningsdagen.",
                money(s.total),
                s.sender.bankgiro,
                s.deadline,
                s.ocr
            ),
            10.0,
            Face::Regular,
        );
    } else {
        d.paragraph(
            &format!(
                "Betala varje delbetalning till bankgiro {} senast på förfallodagen och ange delbetalningens eget OCR-nummer.",
                s.sender.bankgiro
            ),
            10.0,
            Face::Regular,
        );
        for (i, l) in s.schedule.iter().enumerate() {
            d.row(
                &format!("{}. Senast {} · OCR {}", i + 1, l.due_date, l.ocr),
                &money(l.amount),
                10.0,
                Face::Regular,
            );
        }
    }
    d.space(6.0);
    d.line_at(56.0, "Om du inte håller med", 12.0, Face::Bold);
    d.paragraph(&s.objection, 10.0, Face::Regular);
    d.space(6.0);
    d.line_at(56.0, "Vad händer sedan", 12.0, Face::Bold);
    d.paragraph(&s.next, 10.0, Face::Regular);
    d.space(12.0);
    d.paragraph(
        &format!(
            "Kontrollera att brevet är äkta på {}/kontrollera-brev med OCR-nummer {} och kontrollkod {}. Frågor: {} · {}. Räntan beräknas som referensränta + 8 procentenheter, faktiska dagar/365. Regelversion {}.",
            s.sender.web, s.ocr, s.case_code, s.sender.email, s.sender.phone, s.rules_version
        ),
        8.0,
        Face::Regular,
    );
    d.finish()
}
