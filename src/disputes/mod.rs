//! Disputes (bestridande, rules-sweden.md C8). The debtor disputes on Mina sidor: every automated
//! step stops at once (the claim is flagged, the engine and the letter outbox hold it), the
//! creditor is told and answers from its claim page (withdraw, reduce, or maintain with an
//! explanation). A reduced or maintained claim never resumes by itself: staff close it or release
//! it for court. A disputed claim never goes to Kronofogden.

mod routes;
pub mod service;
mod views;

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::money::Sek;
pub use routes::router;
pub use service::latest;

pub const MAX_ATTACHMENT: usize = 5 * 1024 * 1024;

pub const REASONS: &[(&str, &str)] = &[
    ("not_ordered", "Jag har inte beställt varan eller tjänsten"),
    ("faulty_delivery", "Fel eller bristfällig leverans"),
    ("already_paid", "Jag har redan betalat"),
    ("wrong_amount", "Beloppet är fel"),
    ("other", "Annat skäl"),
];

pub fn reason_label(code: &str) -> &'static str {
    REASONS.iter().find(|(c, _)| *c == code).map(|(_, l)| *l).unwrap_or("Annat skäl")
}

#[derive(FromRow, Clone)]
pub struct DisputeView {
    pub dispute_id: Uuid,
    pub reason: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answer_text: Option<String>,
    pub reduced_by: Option<rust_decimal::Decimal>,
    pub answered_at: Option<DateTime<Utc>>,
    pub decision: Option<String>,
    pub decision_note: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Still being handled: no staff decision and not withdrawn.
    pub open: bool,
}

impl DisputeView {
    pub fn reason_label(&self) -> &'static str {
        reason_label(&self.reason)
    }

    pub fn answer_label(&self) -> &'static str {
        match self.answer.as_deref() {
            Some("withdraw") => "Borgenären har återkallat kravet.",
            Some("reduce") => "Borgenären har sänkt kravet.",
            Some("maintain") => "Borgenären står fast vid kravet.",
            _ => "Borgenären har inte svarat ännu.",
        }
    }

    pub fn decision_label(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("close") => "Fordra har avslutat ärendet.",
            Some("court") => {
                "Ärendet drivs inte vidare av Fordra automatiskt. Borgenären kan pröva kravet i tingsrätten; det lämnas inte till Kronofogden."
            }
            _ => "",
        }
    }

    pub fn awaiting_staff(&self) -> bool {
        self.open && matches!(self.answer.as_deref(), Some("reduce" | "maintain"))
    }

    pub fn reduced(&self) -> Option<Sek> {
        self.reduced_by.map(Sek::from_decimal)
    }
}

/// The type of an attachment from its first bytes, never from its name or the browser's claim.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn clean_file_name(name: &str) -> String {
    let n: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    if n.trim().is_empty() { "bilaga".into() } else { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_type_comes_from_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b"<html>%PDF-"), None);
        assert_eq!(clean_file_name("C:\\x\\kvitto \"1\".pdf"), "kvitto 1.pdf");
    }
}
