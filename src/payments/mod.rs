//! Money in and out: bank files (camt.054 and BgMax) parsed behind one interface, payments
//! matched to claims and allocated, the double-entry ledger, refunds, creditor settlements and
//! payout batches (pain.001), and the payment simulator of the demo.

pub mod bgmax;
pub mod camt054;
pub mod commission;
pub mod import;
pub mod ledger;
pub mod service;
pub mod simulator;
mod views;
pub mod web;

use std::{collections::BTreeSet, fmt, io::BufRead};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::{money::Sek, ocr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    BgMax,
    Camt054,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::BgMax => "bgmax",
            Format::Camt054 => "camt054",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::BgMax => "BgMax",
            Format::Camt054 => "camt.054",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentKind {
    Payment,
    /// A BgMax TK21 deduction: money taken back from the deposit.
    Deduction,
}

impl PaymentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentKind::Payment => "payment",
            PaymentKind::Deduction => "deduction",
        }
    }
}

/// One payment as the bank reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedPayment {
    /// 1-based position in the file.
    pub seq: u32,
    /// The line the payment starts on.
    pub line: u32,
    pub kind: PaymentKind,
    pub booked_on: NaiveDate,
    /// Always positive; a deduction's sign is its kind.
    pub amount: Sek,
    pub currency: String,
    /// The reference as given (OCR or free text).
    pub reference: String,
    /// The reference, when it is a well-formed OCR number (check and length digit).
    pub ocr: Option<String>,
    pub payer_name: String,
    pub payer_account: Option<String>,
    pub payer_id_number: Option<String>,
    /// Free text from the payer, extra references.
    pub information: String,
    /// The bank's identity of the payment, the same in every file that reports it.
    pub bank_ref: String,
}

impl ParsedPayment {
    /// The amount with its sign: deductions are negative.
    pub fn signed(&self) -> Sek {
        match self.kind {
            PaymentKind::Payment => self.amount,
            PaymentKind::Deduction => -self.amount,
        }
    }
}

/// The account a bank file reports payments to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceivingAccount {
    Iban(String),
    Bankgiro(String),
    /// Another identification (camt.054 `Othr/Id` with a scheme other than BGNR), or none.
    Other {
        id: String,
        scheme: String,
    },
}

impl fmt::Display for ReceivingAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceivingAccount::Iban(iban) => write!(f, "IBAN {iban}"),
            ReceivingAccount::Bankgiro(bg) => write!(f, "bankgiro {}", bankgiro_text(bg)),
            ReceivingAccount::Other { id, scheme } if id.is_empty() => {
                write!(
                    f,
                    "ett konto utan identitet{}",
                    if scheme.is_empty() { String::new() } else { format!(" ({scheme})") }
                )
            }
            ReceivingAccount::Other { id, scheme } => write!(f, "kontot {id} ({scheme})"),
        }
    }
}

impl ReceivingAccount {
    /// Whether this is one of Fordra's own accounts: its IBAN or its bankgiro.
    pub fn is_ours(&self, iban: &str, bankgiro: &str) -> bool {
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_uppercase())
                .collect()
        };
        let digits = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .trim_start_matches('0')
                .to_string()
        };
        match self {
            ReceivingAccount::Iban(i) => norm(i) == norm(iban),
            ReceivingAccount::Bankgiro(bg) => {
                !digits(bg).is_empty() && digits(bg) == digits(bankgiro)
            }
            ReceivingAccount::Other { .. } => false,
        }
    }
}

fn bankgiro_text(bg: &str) -> String {
    ocr::validate_bankgiro(bg).unwrap_or_else(|_| bg.to_string())
}

/// Refuses a file that reports payments to an account that is not Fordra's, naming the account.
pub fn check_accounts(summary: &Summary, iban: &str, bankgiro: &str) -> Result<(), FileError> {
    if summary.accounts.is_empty() {
        return Err(FileError::file(
            "Filen anger inte vilket konto betalningarna kom in på. Ingenting lästes in.",
        ));
    }
    match summary.accounts.iter().find(|(_, a)| !a.is_ours(iban, bankgiro)) {
        None => Ok(()),
        Some((line, account)) => Err(FileError::at(
            *line,
            format!(
                "Filen gäller {account}, som inte är Fordras konto (bankgiro {}, IBAN {iban}). Ingenting lästes in.",
                bankgiro_text(bankgiro)
            ),
        )),
    }
}

/// What a completely read file says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every receiving account the file names, with the line it is named on.
    pub accounts: Vec<(u32, ReceivingAccount)>,
    pub message_id: Option<String>,
    pub count: u32,
    /// Payments minus deductions.
    pub net_total: Decimal,
    pub booking_days: BTreeSet<NaiveDate>,
    pub test_file: bool,
}

/// Why a file cannot be imported, with the line (and element) to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    pub line: Option<u32>,
    pub message: String,
}

impl FileError {
    pub fn at(line: u32, message: impl Into<String>) -> FileError {
        FileError { line: Some(line), message: message.into() }
    }

    pub fn file(message: impl Into<String>) -> FileError {
        FileError { line: None, message: message.into() }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "Rad {l}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// A bank file read one payment at a time, so memory stays flat however large the file is.
pub trait PaymentSource {
    /// The next payment, `None` at the end (after the file's own totals were checked).
    fn next_payment(&mut self) -> Result<Option<ParsedPayment>, FileError>;
    /// Valid once `next_payment` returned `None`.
    fn summary(&self) -> &Summary;
}

/// [`PaymentSource`] for a file parser `$parser<R: BufRead>` that queues payments in `ready`
/// as its `advance` reads the file, and keeps the file's totals in `summary`.
macro_rules! queued_payment_source {
    ($parser:ident) => {
        impl<R: std::io::BufRead> $crate::payments::PaymentSource for $parser<R> {
            fn next_payment(&mut self) -> Result<Option<ParsedPayment>, FileError> {
                self.advance()?;
                Ok(self.ready.pop_front())
            }

            fn summary(&self) -> &Summary {
                &self.summary
            }
        }
    };
}
pub(crate) use queued_payment_source;

/// Transaction-scoped locks that serialise the writers of one kind of money movement.
#[derive(Clone, Copy, Debug)]
pub enum Lock {
    /// Imports and manual matches: payments to the same claim allocate in turn.
    Payments = 7_302_501,
    /// Settlement runs: a creditor's capital is settled once.
    Settlements = 7_302_502,
    /// Gathering payouts into a batch.
    Batches = 7_302_503,
}

/// Takes `lock` until the transaction ends.
pub async fn lock(conn: &mut sqlx::PgConnection, lock: Lock) -> sqlx::Result<()> {
    sqlx::query!("select pg_advisory_xact_lock($1)", lock as i64).execute(conn).await?;
    Ok(())
}

/// Recognises the format from the first bytes.
pub fn detect(head: &[u8]) -> Option<Format> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if head.starts_with(b"01BGMAX") {
        Some(Format::BgMax)
    } else if head.starts_with(b"<") {
        Some(Format::Camt054)
    } else {
        None
    }
}

/// Opens a parser over `reader` for `format`.
pub fn open<'a, R: BufRead + Send + 'a>(
    format: Format,
    reader: R,
) -> Box<dyn PaymentSource + Send + 'a> {
    match format {
        Format::BgMax => Box::new(bgmax::Parser::new(reader)),
        Format::Camt054 => Box::new(camt054::Parser::new(reader)),
    }
}

/// Reads a whole file into memory (for tests of small files).
#[cfg(test)]
pub fn read_all(
    mut source: impl PaymentSource,
) -> Result<(Vec<ParsedPayment>, Summary), FileError> {
    let mut out = vec![];
    while let Some(p) = source.next_payment()? {
        out.push(p);
    }
    Ok((out, source.summary().clone()))
}

/// The OCR in `reference`, if it is one of the form Fordra issues.
pub fn ocr_of(reference: &str) -> Option<String> {
    let r = reference.trim();
    ocr::case_number_of(r).ok().map(|_| r.to_string())
}

/// Parses an unsigned decimal amount with at most two decimals (`1234.50`).
pub fn parse_amount(s: &str) -> Option<Sek> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || int.len() > 12
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return None;
    }
    s.parse::<Decimal>().ok().map(Sek::from_decimal)
}

/// Whether escalation letters may go out on `today`: the previous bank day is covered by an
/// imported bank file or marked by an admin as a day without file.
pub async fn freshness_open(
    conn: &mut sqlx::PgConnection,
    today: chrono::NaiveDate,
) -> sqlx::Result<bool> {
    let day = crate::domain::calendar::previous_bank_day(today);
    sqlx::query_scalar("select exists (select 1 from bank_day where day = $1)")
        .bind(day)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(detect(b"01BGMAX  "), Some(Format::BgMax));
        assert_eq!(detect(b"\xEF\xBB\xBF<?xml"), Some(Format::Camt054));
        assert_eq!(detect(b"\r\n  <Document"), Some(Format::Camt054));
        assert_eq!(detect(b"hello"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("1500.00"), Some(Sek::kronor(1500)));
        assert_eq!(parse_amount("25.5"), Some(Sek::new(25, 50)));
        assert_eq!(parse_amount("7"), Some(Sek::kronor(7)));
        for bad in ["", "1,00", "12a.00", "1.", ".5", "-3.00", "1.001", "1e5"] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}
