//! Letters to debtors: betalningspåminnelse, inkassokrav and slutlig påminnelse. A letter is a
//! data snapshot (everything printed, with the rule-set version used), stored once with its HTML;
//! the PDF is rendered from the snapshot, byte-identical every time.

pub mod pdf;

use askama::Template;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    config::Identity,
    domain::{fees::LetterKind, money::Sek},
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

impl Snapshot {
    /// Whether the letter asks the debtor to pay (every letter but the withdrawal notice).
    pub fn asks_payment(&self) -> bool {
        self.kind != LetterKind::Withdrawal
    }
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
        &format!("{} · org.nr {} · {}", s.sender.address, s.sender.org_nr, s.sender.licence),
        8.0,
        Face::Regular,
    );
    d.space(24.0);
    for line in
        [&s.debtor_name, &s.debtor_street, &format!("{} {}", s.debtor_postal_code, s.debtor_city)]
    {
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
        d.row("Avgår redan betald ränta", &money(-s.interest_lines_paid), 10.0, Face::Regular);
    }
    if s.interest_lines.len() != 1 || s.interest_lines_paid.is_positive() {
        d.row("Upplupen ränta totalt", &money(s.interest), 10.0, Face::Regular);
    }
    for f in &s.fees {
        d.row(&f.label, &money(f.amount), 10.0, Face::Regular);
    }
    if !s.paid.is_zero() {
        d.row("Redan betalt (avräknat ovan)", &money(s.paid), 10.0, Face::Regular);
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
