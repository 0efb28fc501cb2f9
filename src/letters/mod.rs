//! Letters to debtors: betalningspåminnelse, inkassokrav and slutlig påminnelse. A letter is a
//! data snapshot (everything printed, with the rule-set version used), stored once with its HTML;
//! the PDF is rendered from the snapshot, byte-identical every time.

pub mod pdf;
pub mod view;

use askama::Template;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{
    config::Identity,
    domain::{fees::LetterKind, money::Sek},
    web::filters,
};
use pdf::{Document, Face, MARGIN, MM, Placement};
use view::{Block, LetterView};

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
    /// The version of the wording the letter was written with (lifecycle letters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wording_version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    v: &'a LetterView,
}

pub fn render_html(s: &Snapshot) -> anyhow::Result<String> {
    Ok(LetterHtml { v: &LetterView::of(s) }.render()?)
}

/// The letter as PDF, from its snapshot only.
pub fn render_pdf(s: &Snapshot) -> Vec<u8> {
    laid_out([s]).finish()
}

/// Letters in one print-batch PDF, each starting on a new page (page content not deflated, see
/// [`pdf::Content`]), and where each one is (for the print house's manifest).
pub fn render_batch<'a>(
    letters: impl IntoIterator<Item = &'a Snapshot>,
) -> (Vec<u8>, Vec<Placement>) {
    laid_out(letters).finish_batch(pdf::Content::Plain)
}

fn laid_out<'a>(letters: impl IntoIterator<Item = &'a Snapshot>) -> Document {
    let mut d = Document::new();
    for s in letters {
        lay_out(&mut d, &LetterView::of(s));
    }
    d
}

/// The address field: where a right-window C5 or C4 envelope (window 20 mm from the right
/// edge) shows it, 115 mm from the left edge of the sheet and 45 mm from its top.
const ADDRESS_LEFT: f32 = 115.0 * MM;
const ADDRESS_TOP: f32 = 45.0 * MM;

fn lay_out(d: &mut Document, v: &LetterView) {
    d.start_letter();
    d.line_at(MARGIN, &v.sender_name, 12.0, Face::Bold);
    d.line_at(MARGIN, &v.sender_line, 8.0, Face::Regular);
    d.move_to(ADDRESS_TOP);
    for line in &v.recipient {
        d.line_at(ADDRESS_LEFT, line, 11.0, Face::Regular);
    }
    d.move_to(ADDRESS_TOP + 30.0 * MM);
    d.line_at(MARGIN, &v.title, 18.0, Face::Bold);
    d.line_at(MARGIN, &v.meta, 10.0, Face::Regular);
    if let Some(p) = &v.payment {
        let (amount, last_day) = (p.amount.to_string(), p.last_day.to_string());
        d.framed(
            &[
                ("Betalningsmottagare", &p.payee),
                ("Bankgiro", &p.bankgiro),
                ("OCR-nummer", &p.ocr),
                ("Att betala", &amount),
                ("Senast", &last_day),
            ],
            10.0,
        );
    }
    d.space(6.0);
    for b in &v.blocks {
        match b {
            Block::Heading(text) => {
                d.space(6.0);
                d.line_at(MARGIN, text, 12.0, Face::Bold);
            }
            Block::Paragraph(text) => d.paragraph(text, 10.0, Face::Regular),
            Block::Amounts { rows, total } => {
                d.space(4.0);
                for (label, amount) in rows {
                    d.row(label, amount, 10.0, Face::Regular);
                }
                d.row("Att betala", &total.to_string(), 11.0, Face::Bold);
            }
            Block::Schedule(lines) => {
                for (i, l) in lines.iter().enumerate() {
                    let label = format!("{}. Senast {} · OCR {}", i + 1, l.due_date, l.ocr);
                    d.row(&label, &l.amount.to_string(), 10.0, Face::Regular);
                }
            }
        }
    }
    d.space(10.0);
    d.paragraph_kept(&v.footer, 8.0, Face::Regular);
}
