//! One view model for a letter: what it says, in order. The HTML (askama) and the PDF both
//! render from it, so the two cannot disagree.

use chrono::NaiveDate;

use super::{ScheduleLine, Snapshot};
use crate::domain::{money::Sek, text::count_of};

/// The payment block on the first page: everything a debtor types into the bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentBlock {
    pub payee: String,
    pub bankgiro: String,
    pub ocr: String,
    pub amount: Sek,
    pub last_day: NaiveDate,
}

/// A part of the letter's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Heading(String),
    Paragraph(String),
    /// The amounts owed, one row each, and the total to pay.
    Amounts {
        rows: Vec<(String, String)>,
        total: Sek,
    },
    /// A payment plan's instalments.
    Schedule(Vec<ScheduleLine>),
}

/// A letter as it is laid out, on paper or on screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LetterView {
    pub sender_name: String,
    pub sender_line: String,
    /// The address lines, where a window envelope shows them.
    pub recipient: Vec<String>,
    pub title: String,
    pub meta: String,
    /// `None` for letters that ask for nothing (the withdrawal notice).
    pub payment: Option<PaymentBlock>,
    pub blocks: Vec<Block>,
    pub footer: String,
}

impl LetterView {
    pub fn of(s: &Snapshot) -> LetterView {
        let sender = &s.sender;
        let mut blocks = vec![Block::Paragraph(s.intro.clone()), Block::Heading("Fordran".into())];
        let described = if s.description.is_empty() {
            String::new()
        } else {
            format!(" Avser: {}.", s.description)
        };
        blocks.push(Block::Paragraph(format!(
            "Borgenär: {} (org.nr {}). Gäldenär: {} ({}). Faktura {} daterad {}, förfallodag {}.{described}",
            s.creditor_name,
            s.creditor_org_nr,
            s.debtor_name,
            s.debtor_id,
            s.invoice_number,
            s.invoice_date,
            s.due_date
        )));
        let payment = s.asks_payment().then(|| PaymentBlock {
            payee: sender.name.clone(),
            bankgiro: sender.bankgiro.clone(),
            ocr: s.ocr.clone(),
            amount: s.total,
            last_day: s.deadline,
        });
        if s.asks_payment() {
            blocks.push(Block::Amounts { rows: amount_rows(s), total: s.total });
            blocks.push(Block::Heading("Så betalar du".into()));
            if s.schedule.is_empty() {
                blocks.push(Block::Paragraph(format!(
                    "Betala {} till bankgiro {} senast {} och ange OCR-nummer {}. Räntan fortsätter att löpa till betalningsdagen.",
                    s.total, sender.bankgiro, s.deadline, s.ocr
                )));
            } else {
                blocks.push(Block::Paragraph(format!(
                    "Betala varje delbetalning till bankgiro {} senast på förfallodagen och ange delbetalningens eget OCR-nummer.",
                    sender.bankgiro
                )));
                blocks.push(Block::Schedule(s.schedule.clone()));
            }
            blocks.push(Block::Paragraph(format!(
                "Du kan också se ärendet och betala det på Mina sidor: logga in med BankID på {}/mina-sidor.",
                sender.web
            )));
            blocks.push(Block::Heading("Om du inte håller med".into()));
            blocks.push(Block::Paragraph(s.objection.clone()));
            blocks.push(Block::Heading("Vad händer sedan".into()));
            blocks.push(Block::Paragraph(s.next.clone()));
        } else {
            blocks.push(Block::Heading("Vad händer nu".into()));
            blocks.push(Block::Paragraph(s.next.clone()));
            blocks.push(Block::Paragraph(s.objection.clone()));
        }
        LetterView {
            sender_name: sender.name.clone(),
            sender_line: format!(
                "{} · org.nr {} · {}",
                sender.address, sender.org_nr, sender.licence
            ),
            recipient: vec![
                s.debtor_name.clone(),
                s.debtor_street.clone(),
                format!("{} {}", s.debtor_postal_code, s.debtor_city),
            ],
            title: s.title.clone(),
            meta: format!("Datum {} · Ärendenummer {}", s.created_on, s.case_number),
            payment,
            blocks,
            footer: format!(
                "Kontrollera att brevet är äkta på {}/kontrollera-brev med OCR-nummer {} och kontrollkod {}. Frågor: {} · {}. Räntan beräknas som referensränta + 8 procentenheter, faktiska dagar/365. Regelversion {}.",
                sender.web, s.ocr, s.case_code, sender.email, sender.phone, s.rules_version
            ),
        }
    }
}

/// Capital, interest (per period and in total), fees and what was paid, as label and amount.
fn amount_rows(s: &Snapshot) -> Vec<(String, String)> {
    let mut rows = vec![("Kapitalbelopp".to_string(), s.capital.to_string())];
    for l in &s.interest_lines {
        let days = count_of(l.days, "dag", "dagar");
        let label = format!(
            "Dröjsmålsränta {} % på {} för {} – {} ({days})",
            l.rate_percent, l.base, l.from, l.to
        );
        rows.push((label, l.amount.to_string()));
    }
    if s.interest_lines_paid.is_positive() {
        rows.push(("Avgår redan betald ränta".into(), format!("−{}", s.interest_lines_paid)));
    }
    if s.interest_lines.len() != 1 || s.interest_lines_paid.is_positive() {
        rows.push(("Upplupen ränta totalt".into(), s.interest.to_string()));
    }
    for f in &s.fees {
        rows.push((f.label.clone(), f.amount.to_string()));
    }
    if !s.paid.is_zero() {
        rows.push(("Redan betalt (avräknat ovan)".into(), s.paid.to_string()));
    }
    rows
}
