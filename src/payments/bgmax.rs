//! BgMax, Bankgirot's incoming-payment file (formats.md §1): 80-character Latin-1 records.
//!
//! The parser checks the grammar `TK01 (TK05 (TK20|TK21 extras*)+ TK15)+ TK70`, every field it
//! uses, each deposit's amount and count against its TK15, and the file's record counts against
//! TK70. It holds one deposit section at a time (its payments get their booking date from the
//! TK15 that closes it), so memory does not grow with the file.
//!
//! Tolerated, as seen in Bankgirot's own files (§1.7): TAB characters (expanded to 8-column
//! stops), lines shorter than 80 characters, a last line without CRLF, blank lines after TK70,
//! sender bankgiro numbers that fail Luhn, TK29 numbers with 11 digits, and unknown record types
//! among a payment's optional records (the manual says to ignore what one does not understand).

use std::{
    collections::{HashMap, VecDeque},
    io::BufRead,
};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{FileError, ParsedPayment, PaymentKind, Summary, ocr_of};
use crate::domain::money::Sek;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Expecting TK01.
    Start,
    /// Expecting TK05 (after TK01).
    Opened,
    /// Expecting the first TK20/TK21 of a section.
    SectionStart,
    /// After a payment: its optional records, another payment, or TK15.
    InPayment,
    /// After TK15: TK05 or TK70.
    AfterSection,
    /// After TK70: only blank lines.
    Ended,
}

struct Draft {
    line: u32,
    kind: PaymentKind,
    sender_bg: String,
    reference: String,
    ref_code: u8,
    amount_ore: i64,
    bgc_serial: String,
    name: String,
    id_number: Option<String>,
    info: Vec<String>,
}

struct Section {
    line: u32,
    receiver_bg: String,
    currency: String,
    payments: Vec<Draft>,
}

#[derive(Default)]
struct Counts {
    tk20: u64,
    tk21: u64,
    extra: u64,
    tk15: u64,
}

pub struct Parser<R> {
    reader: R,
    raw: Vec<u8>,
    line_no: u32,
    state: State,
    section: Option<Section>,
    ready: VecDeque<ParsedPayment>,
    counts: Counts,
    seq: u32,
    summary: Summary,
    finished: bool,
}

/// The largest amount a payment may have (`NUMERIC(14,2)`).
const MAX_ORE: i64 = 99_999_999_999_999;

impl<R: BufRead> Parser<R> {
    pub fn new(reader: R) -> Parser<R> {
        Parser {
            reader,
            raw: Vec::with_capacity(128),
            line_no: 0,
            state: State::Start,
            section: None,
            ready: VecDeque::new(),
            counts: Counts::default(),
            seq: 0,
            summary: Summary::default(),
            finished: false,
        }
    }

    /// Reads the next line as an 80-byte Latin-1 record; `None` at end of file.
    fn read_record(&mut self) -> Result<Option<Vec<u8>>, FileError> {
        self.raw.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.raw)
            .map_err(|e| FileError::file(format!("Filen kunde inte läsas: {e}")))?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        while matches!(self.raw.last(), Some(b'\n' | b'\r')) {
            self.raw.pop();
        }
        let mut rec = Vec::with_capacity(80);
        for &b in &self.raw {
            if b == b'\t' {
                let next = (rec.len() / 8 + 1) * 8;
                rec.resize(next, b' ');
            } else {
                rec.push(b);
            }
        }
        while rec.last() == Some(&b' ') {
            rec.pop();
        }
        if rec.len() > 80 {
            return Err(FileError::at(
                self.line_no,
                format!("Posten är {} tecken lång; en BgMax-post har 80 tecken.", rec.len()),
            ));
        }
        rec.resize(80, b' ');
        Ok(Some(rec))
    }

    fn err(&self, message: impl Into<String>) -> FileError {
        FileError::at(self.line_no, message)
    }

    fn digits(&self, rec: &[u8], from: usize, to: usize, what: &str) -> Result<String, FileError> {
        let s = text(rec, from, to);
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.err(format!(
                "{what} (position {from}–{to}) ska vara siffror men är \"{}\".",
                s.trim_end()
            )));
        }
        Ok(s)
    }

    fn amount(&self, rec: &[u8], from: usize, to: usize) -> Result<i64, FileError> {
        let s = self.digits(rec, from, to, "Beloppet")?;
        let ore: i64 = s.parse().map_err(|_| self.err("Beloppet är för stort."))?;
        if ore > MAX_ORE {
            return Err(self.err("Beloppet är orimligt stort."));
        }
        Ok(ore)
    }

    fn date(&self, rec: &[u8], from: usize, what: &str) -> Result<NaiveDate, FileError> {
        let s = self.digits(rec, from, from + 7, what)?;
        NaiveDate::parse_from_str(&s, "%Y%m%d")
            .map_err(|_| self.err(format!("{what} \"{s}\" är inget giltigt datum.")))
    }

    fn payment_record(&mut self, rec: &[u8], tk: &str) -> Result<(), FileError> {
        let kind = if tk == "20" {
            self.counts.tk20 += 1;
            PaymentKind::Payment
        } else {
            self.counts.tk21 += 1;
            PaymentKind::Deduction
        };
        let sender_bg = self.digits(rec, 3, 12, "Avsändarens bankgironummer")?;
        let amount_ore = self.amount(rec, 38, 55)?;
        let code = self.digits(rec, 56, 56, "Referenskoden")?;
        let ref_code: u8 = code.parse().unwrap_or(9);
        if ref_code > 5 {
            return Err(self.err(format!("Referenskoden {ref_code} finns inte (0–5).")));
        }
        self.digits(rec, 57, 57, "Betalningskanalkoden")?;
        let bgc_serial = self.digits(rec, 58, 69, "BGC-löpnumret")?;
        let reference = text(rec, 13, 37).trim().to_string();
        let line = self.line_no;
        let section = self.section.as_mut().expect("a section is open");
        section.payments.push(Draft {
            line,
            kind,
            sender_bg,
            reference,
            ref_code,
            amount_ore,
            bgc_serial,
            name: String::new(),
            id_number: None,
            info: vec![],
        });
        self.state = State::InPayment;
        Ok(())
    }

    fn current(&mut self) -> &mut Draft {
        self.section.as_mut().and_then(|s| s.payments.last_mut()).expect("a payment is open")
    }

    fn close_section(&mut self, rec: &[u8]) -> Result<(), FileError> {
        self.counts.tk15 += 1;
        self.digits(rec, 3, 37, "Mottagarens bankkonto")?;
        let payday = self.date(rec, 38, "Betalningsdagen")?;
        let deposit_serial = self.digits(rec, 46, 50, "Insättningslöpnumret")?;
        let deposit = self.amount(rec, 51, 68)?;
        let currency = text(rec, 69, 71).trim().to_string();
        let count: u64 =
            self.digits(rec, 72, 79, "Antalet betalningar")?.parse().unwrap_or(u64::MAX);
        if !matches!(rec[79], b'K' | b'D' | b'S' | b' ') {
            return Err(self.err("Insättningstypen (position 80) ska vara K, D, S eller blank."));
        }
        let section = self.section.take().expect("a section is open");
        if currency != section.currency {
            return Err(self.err(format!(
                "Insättningsposten har valutan {currency}, men öppningsposten på rad {} har {}.",
                section.line, section.currency
            )));
        }
        let net: i64 = section
            .payments
            .iter()
            .map(|p| match p.kind {
                PaymentKind::Payment => p.amount_ore,
                PaymentKind::Deduction => -p.amount_ore,
            })
            .sum();
        if net != deposit {
            return Err(self.err(format!(
                "Insättningsbeloppet {} stämmer inte med betalningarna i avsnittet från rad {} ({}).",
                ore_text(deposit),
                section.line,
                ore_text(net)
            )));
        }
        if count != section.payments.len() as u64 {
            return Err(self.err(format!(
                "Insättningsposten anger {count} betalningar, men avsnittet från rad {} har {}.",
                section.line,
                section.payments.len()
            )));
        }
        let mut seen: HashMap<String, u32> = HashMap::new();
        for d in section.payments {
            let amount = Sek::from_decimal(Decimal::new(d.amount_ore, 2));
            let key = format!(
                "bgmax:{}:{}:{}:{}:{}:{}:{}",
                section.receiver_bg,
                payday.format("%Y%m%d"),
                deposit_serial,
                d.bgc_serial,
                d.amount_ore,
                d.reference,
                d.kind.as_str()
            );
            let n = seen.entry(key.clone()).or_insert(0);
            *n += 1;
            let bank_ref = if *n == 1 { key } else { format!("{key}#{n}") };
            let ocr = if d.kind == PaymentKind::Payment && d.ref_code != 0 && d.ref_code != 1 {
                ocr_of(&d.reference)
            } else {
                None
            };
            let sender = d.sender_bg.trim_start_matches('0');
            self.seq += 1;
            self.summary.count += 1;
            self.summary.net_total += match d.kind {
                PaymentKind::Payment => amount.amount(),
                PaymentKind::Deduction => -amount.amount(),
            };
            self.summary.booking_days.insert(payday);
            self.ready.push_back(ParsedPayment {
                seq: self.seq,
                line: d.line,
                kind: d.kind,
                booked_on: payday,
                amount,
                currency: section.currency.clone(),
                reference: d.reference,
                ocr,
                payer_name: d.name,
                payer_account: (!sender.is_empty()).then(|| format!("BG {sender}")),
                payer_id_number: d.id_number,
                information: d.info.join("\n"),
                bank_ref,
            });
        }
        self.state = State::AfterSection;
        Ok(())
    }

    fn close_file(&mut self, rec: &[u8]) -> Result<(), FileError> {
        let n = |p: &Self, from, what| -> Result<u64, FileError> {
            Ok(p.digits(rec, from, from + 7, what)?.parse().unwrap_or(u64::MAX))
        };
        let checks = [
            (n(self, 3, "Antalet betalningsposter")?, self.counts.tk20, "betalningsposter (TK20)"),
            (n(self, 11, "Antalet avdragsposter")?, self.counts.tk21, "avdragsposter (TK21)"),
            (
                n(self, 19, "Antalet extra referensposter")?,
                self.counts.extra,
                "extra referensposter (TK22/TK23)",
            ),
            (
                n(self, 27, "Antalet insättningsposter")?,
                self.counts.tk15,
                "insättningsposter (TK15)",
            ),
        ];
        for (said, found, what) in checks {
            if said != found {
                return Err(self.err(format!(
                    "Slutposten (TK70) anger {said} {what}, men filen har {found}."
                )));
            }
        }
        self.state = State::Ended;
        Ok(())
    }

    /// Reads records until a section closes (payments ready) or the file ends.
    fn advance(&mut self) -> Result<(), FileError> {
        while self.ready.is_empty() && !self.finished {
            let Some(rec) = self.read_record()? else {
                if self.state != State::Ended {
                    return Err(FileError::file(format!(
                        "Filen slutar efter rad {} utan slutpost (TK70): den är ofullständig.",
                        self.line_no
                    )));
                }
                self.finished = true;
                break;
            };
            let blank = rec.iter().all(|b| *b == b' ');
            if self.state == State::Ended {
                if !blank {
                    return Err(self.err("Det finns poster efter slutposten (TK70)."));
                }
                continue;
            }
            if blank {
                return Err(self.err("Tom rad mitt i filen."));
            }
            let tk = text(&rec, 1, 2);
            match (self.state, tk.as_str()) {
                (State::Start, "01") => {
                    if text(&rec, 3, 22).trim() != "BGMAX" {
                        return Err(self.err("Startposten ska ha layoutnamnet BGMAX."));
                    }
                    if text(&rec, 23, 24) != "01" {
                        return Err(self.err(format!(
                            "BgMax version {} stöds inte (bara 01).",
                            text(&rec, 23, 24)
                        )));
                    }
                    self.date(&rec, 25, "Skrivdatumet")?;
                    self.summary.test_file = match rec[44] {
                        b'T' => true,
                        b'P' => false,
                        _ => {
                            return Err(
                                self.err("Testmarkeringen (position 45) ska vara T eller P.")
                            );
                        }
                    };
                    self.state = State::Opened;
                }
                (State::Start, _) => {
                    return Err(self.err(format!(
                        "Filen ska börja med en startpost (TK01), men posttypen är \"{tk}\"."
                    )));
                }
                (State::Opened | State::AfterSection, "05") => {
                    let receiver_bg = self.digits(&rec, 3, 12, "Mottagarens bankgironummer")?;
                    let currency = text(&rec, 23, 25);
                    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(
                            self.err("Valutan (position 23–25) ska vara en valutakod som SEK.")
                        );
                    }
                    let receiver_bg = receiver_bg.trim_start_matches('0').to_string();
                    self.summary.accounts.push((
                        self.line_no,
                        super::ReceivingAccount::Bankgiro(receiver_bg.clone()),
                    ));
                    self.section = Some(Section {
                        line: self.line_no,
                        receiver_bg,
                        currency,
                        payments: vec![],
                    });
                    self.state = State::SectionStart;
                }
                (State::AfterSection, "70") => self.close_file(&rec)?,
                (State::Opened, _) => {
                    return Err(self.err(format!(
                        "Efter startposten krävs en öppningspost (TK05), men posttypen är \"{tk}\"."
                    )));
                }
                (State::AfterSection, _) => {
                    return Err(self.err(format!(
                        "Efter en insättningspost krävs TK05 eller TK70, men posttypen är \"{tk}\"."
                    )));
                }
                (State::SectionStart | State::InPayment, "20" | "21") => {
                    self.payment_record(&rec, &tk)?
                }
                (State::SectionStart, _) => {
                    return Err(self.err(format!(
                        "Efter en öppningspost krävs en betalnings- eller avdragspost (TK20/TK21), men posttypen är \"{tk}\"."
                    )));
                }
                (State::InPayment, "22" | "23") => {
                    self.counts.extra += 1;
                    let amount = self.amount(&rec, 38, 55)?;
                    let reference = text(&rec, 13, 37).trim().to_string();
                    let sign = if tk == "23" { "−" } else { "" };
                    self.current()
                        .info
                        .push(format!("Extra referens {reference} ({sign}{})", ore_text(amount)));
                }
                (State::InPayment, "25") => {
                    let t = latin1(text_bytes(&rec, 3, 52)).trim().to_string();
                    if !t.is_empty() {
                        self.current().info.push(t);
                    }
                }
                (State::InPayment, "26") => {
                    let name = latin1(text_bytes(&rec, 3, 37)).trim().to_string();
                    let extra = latin1(text_bytes(&rec, 38, 72)).trim().to_string();
                    self.current().name =
                        if extra.is_empty() { name } else { format!("{name} {extra}") };
                }
                (State::InPayment, "27" | "28") => {}
                (State::InPayment, "29") => {
                    let id = text(&rec, 3, 14).trim().trim_start_matches('0').to_string();
                    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                        self.current().id_number = Some(id);
                    }
                }
                (State::InPayment, "15") => self.close_section(&rec)?,
                (State::InPayment, "01" | "05" | "70") => {
                    return Err(self.err(format!(
                        "Posttypen {tk} kan inte komma mitt i ett avsnitt; insättningsposten (TK15) saknas."
                    )));
                }
                (State::InPayment, other) if other.bytes().all(|b| b.is_ascii_digit()) => {
                    // An optional record this parser does not know: ignored, as the manual says.
                }
                (State::InPayment, other) => {
                    return Err(self.err(format!("Okänd posttyp \"{other}\".")));
                }
                (State::Ended, _) => unreachable!("handled above"),
            }
        }
        Ok(())
    }
}

super::queued_payment_source!(Parser);

/// Positions are 1-based and inclusive, as in the manual.
fn text_bytes(rec: &[u8], from: usize, to: usize) -> &[u8] {
    &rec[from - 1..to]
}

fn text(rec: &[u8], from: usize, to: usize) -> String {
    latin1(text_bytes(rec, from, to))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn ore_text(ore: i64) -> String {
    Sek::from_decimal(Decimal::new(ore, 2)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::read_all;

    const GOLDEN: &str =
        "01BGMAX               0120260115120000000000T                                   \r
050009912346          SEK                                                       \r
200000000000                  1234574000000000000150000210000000000010          \r
26Test Testsson                                                                 \r
2000000000001234575                  000000000000002500310000000000020          \r
21000378351189853                    0000000000000005003200000000000300         \r
15000000000000000000058410000010098232026011500001000000000000152000SEK00000003 \r
7000000002000000010000000000000001                                              \r
";

    fn all(input: &[u8]) -> Result<(Vec<ParsedPayment>, Summary), FileError> {
        read_all(Parser::new(input))
    }

    #[test]
    fn golden_file() {
        let (payments, summary) = all(GOLDEN.as_bytes()).unwrap();
        assert_eq!(payments.len(), 3);
        assert_eq!(payments[0].ocr.as_deref(), Some("1234574"));
        assert_eq!(payments[0].amount, Sek::kronor(1500));
        assert_eq!(payments[0].payer_name, "Test Testsson");
        assert_eq!(payments[0].booked_on, NaiveDate::from_ymd_opt(2026, 1, 15).unwrap());
        assert_eq!(payments[1].ocr, None, "wrong check digit");
        assert_eq!(payments[2].kind, PaymentKind::Deduction);
        assert_eq!(summary.net_total, Decimal::new(152000, 2));
        assert!(summary.test_file);
    }

    /// One of Bankgirot's published example files from `../shared/samples`, when that folder is
    /// beside the project; `None` (said on stderr) in a clone without it.
    fn sample(name: &str) -> Option<Vec<u8>> {
        let path = format!("{}/../shared/samples/{name}", env!("CARGO_MANIFEST_DIR"));
        let read = std::fs::read(&path).ok();
        if read.is_none() {
            eprintln!(
                "Bankgirot's sample {name} is absent ({path}); the project's own fixtures cover the same cases"
            );
        }
        read
    }

    /// One of the project's own fixtures (tests/fixtures), written for the cases of Bankgirot's
    /// samples: TABs, short lines, no final CRLF, senders failing Luhn, an 11-digit TK29, a
    /// deduction, extra references, two deposits, an EUR section.
    pub(crate) fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn own_fixture_with_tabs_short_lines_and_no_final_crlf() {
        let bytes = fixture("bgmax-edge-cases.txt");
        assert!(!bytes.ends_with(b"\n"), "no final line break");
        assert!(bytes.contains(&b'\t'));
        let (payments, summary) = all(&bytes).unwrap();
        // TK70: 4 payments, 1 deduction, 3 extra references.
        assert_eq!(payments.len(), 5);
        assert_eq!(payments.iter().filter(|p| p.kind == PaymentKind::Deduction).count(), 1);
        // Deposits 2 200,00 + 950,50.
        assert_eq!(summary.net_total, Decimal::new(315050, 2));
        assert_eq!(payments[0].payer_name, "Snickeri Norr HB");
        assert_eq!(payments[0].payer_id_number.as_deref(), Some("9690012345"));
        assert_eq!(payments[0].booked_on, NaiveDate::from_ymd_opt(2024, 3, 15).unwrap());
        // The short line and the TAB line both read: every extra reference is kept.
        for r in ["4711038", "4711046", "4711053"] {
            assert!(payments[2].information.contains(r), "{}", payments[2].information);
        }
        // A sender bankgiro failing Luhn and an 11-digit TK29 are read leniently.
        assert_eq!(payments[3].payer_id_number.as_deref(), Some("55000043210"));
        // Two payments share BGC serial 4 and still get distinct identities.
        let refs: std::collections::HashSet<_> = payments.iter().map(|p| &p.bank_ref).collect();
        assert_eq!(refs.len(), payments.len());
        assert!(payments[4].payer_account.is_none(), "sender 0000000000");
        assert!(!summary.test_file);
    }

    #[test]
    fn own_fixture_with_an_eur_section() {
        let (payments, summary) = all(&fixture("bgmax-eur-section.txt")).unwrap();
        assert_eq!(payments.len(), 3);
        assert_eq!(payments.iter().filter(|p| p.currency == "EUR").count(), 2);
        assert_eq!(summary.net_total, Decimal::new(265000, 2));
    }

    #[test]
    fn bankgirot_ocr_sample_with_tabs_short_lines_and_no_final_crlf() {
        let Some(bytes) = sample("bgmax-bankgirot-exempel-ocr-checksiffra-langd.txt") else {
            return;
        };
        let (payments, summary) = all(&bytes).unwrap();
        // TK70: 6 payments, 1 deduction.
        assert_eq!(payments.len(), 7);
        assert_eq!(payments.iter().filter(|p| p.kind == PaymentKind::Deduction).count(), 1);
        // Deposits 1 900,00 + 8 000,00.
        assert_eq!(summary.net_total, Decimal::new(990000, 2));
        assert_eq!(payments[0].payer_name, "Kalles Plåt AB");
        assert_eq!(payments[0].payer_id_number.as_deref(), Some("5500001234"));
        assert_eq!(payments[0].booked_on, NaiveDate::from_ymd_opt(2004, 5, 25).unwrap());
        // The TAB line restored: the fourth extra reference of the third record.
        assert!(payments[2].information.contains("657965"), "{}", payments[2].information);
        // Two payments share BGC serial 16 and still get distinct identities.
        let refs: std::collections::HashSet<_> = payments.iter().map(|p| &p.bank_ref).collect();
        assert_eq!(refs.len(), payments.len());
        assert!(!summary.test_file);
    }

    #[test]
    fn bankgirot_bgmaxfil4_with_eur_and_negative_extra_references() {
        let Some(bytes) = sample("bgmax-bankgirot-BgMaxfil4-2004.txt") else {
            return;
        };
        let (payments, summary) = all(&bytes).unwrap();
        assert_eq!(payments.len(), 9);
        let eur: Vec<_> = payments.iter().filter(|p| p.currency == "EUR").collect();
        assert_eq!(eur.len(), 2);
        // Deposits 3 700 + 2 000 + 2 900 + 4 000 (EUR).
        assert_eq!(summary.net_total, Decimal::new(1_260_000, 2));
        // TK29 with 11 digits and a blank, read leniently.
        assert_eq!(payments[1].payer_id_number.as_deref(), Some("550000432"));
        assert_eq!(payments[0].payer_account.as_deref(), Some("BG 3783511"));
        assert!(payments.iter().any(|p| p.payer_account.is_none()), "sender 0000000000");
    }

    fn refused(input: &str) -> FileError {
        all(input.as_bytes()).expect_err("must be refused")
    }

    #[test]
    fn refuses_broken_files() {
        let lines: Vec<&str> = GOLDEN.lines().collect();
        let truncated = lines[..6].join("\n");
        assert!(refused(&truncated).message.contains("utan slutpost"));

        let bad_total = GOLDEN.replace("000000000000152000SEK", "000000000000152100SEK");
        let e = refused(&bad_total);
        assert_eq!(e.line, Some(7));
        assert!(e.message.contains("Insättningsbeloppet 1 521,00"), "{e}");

        let bad_count = GOLDEN
            .replace("7000000002000000010000000000000001", "7000000003000000010000000000000001");
        let e = refused(&bad_count);
        assert_eq!(e.line, Some(8));
        assert!(e.message.contains("anger 3 betalningsposter"), "{e}");

        let letters = GOLDEN.replace("000000000000150000210", "0000000000001500X0210");
        let e = refused(&letters);
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("Beloppet"), "{e}");

        let unknown = GOLDEN.replace("050009912346", "990009912346");
        let e = refused(&unknown);
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("öppningspost (TK05)"), "{e}");

        let e = refused("hello");
        assert_eq!(e.line, Some(1));

        let bad_date = GOLDEN.replace("2026011500001", "2026023000001");
        assert!(refused(&bad_date).message.contains("inget giltigt datum"));
    }

    #[test]
    fn unknown_optional_records_are_ignored() {
        let with_extra = GOLDEN.replace(
            "26Test Testsson",
            "30Something new                                                                 \r\n26Test Testsson",
        );
        assert_eq!(all(with_extra.as_bytes()).unwrap().0.len(), 3);
    }
}
