//! camt.054 (ISO 20022 BankToCustomerDebitCreditNotification), the credit notification Swedish
//! banks deliver from 2026 (formats.md §1.9). Read as a stream of XML events: one entry (`Ntry`)
//! is held at a time, so memory does not grow with the file.
//!
//! What Fordra relies on, and checks: the root `Document` in a camt.054 namespace (versions
//! 001.02 to 001.08 share these paths), `GrpHdr/MsgId`, and per entry `Amt` in SEK,
//! `CdtDbtInd` = CRDT, status BOOK, `BookgDt`, and per transaction (`NtryDtls/TxDtls`) its
//! amount, `Refs/AcctSvcrRef` (the bank's unique reference), the OCR in
//! `RmtInf/Strd/CdtrRefInf/Ref`, free text in `RmtInf/Ustrd`, and the payer in `RltdPties`.
//! The transactions of an entry must add up to the entry's amount.

use std::{collections::VecDeque, io::BufRead};

use quick_xml::{Reader, events::Event};

use super::{FileError, ParsedPayment, PaymentKind, Summary, ocr_of, parse_amount};
use crate::domain::money::Sek;

const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:camt.054.";

#[derive(Default)]
struct Tx {
    line: u32,
    acct_svcr_ref: Option<String>,
    amount: Option<(String, String, u32)>,
    debtor_name: String,
    debtor_account: Option<String>,
    debtor_id: Option<String>,
    structured_ref: Option<String>,
    unstructured: Vec<String>,
}

#[derive(Default)]
struct Entry {
    line: u32,
    number: u32,
    amount: Option<(String, String, u32)>,
    credit_debit: Option<String>,
    status: Option<String>,
    booked: Option<(String, u32)>,
    acct_svcr_ref: Option<String>,
    txs: Vec<Tx>,
}

pub struct Parser<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    line: u32,
    path: Vec<String>,
    /// Line each open element started on.
    starts: Vec<u32>,
    text: String,
    ccy: Option<String>,
    entry: Option<Entry>,
    entries: u32,
    root_seen: bool,
    ready: VecDeque<ParsedPayment>,
    /// The notification's own account (`Ntfctn/Acct/Id`) being read: id, scheme, line.
    account: Option<(String, String, u32)>,
    seq: u32,
    summary: Summary,
    finished: bool,
}

fn newlines(s: &str) -> u32 {
    s.bytes().filter(|b| *b == b'\n').count() as u32
}

impl<R: BufRead> Parser<R> {
    pub fn new(reader: R) -> Parser<R> {
        Parser {
            reader: Reader::from_reader(reader),
            buf: Vec::with_capacity(1024),
            line: 1,
            path: Vec::with_capacity(16),
            starts: Vec::with_capacity(16),
            text: String::new(),
            ccy: None,
            entry: None,
            entries: 0,
            root_seen: false,
            ready: VecDeque::new(),
            account: None,
            seq: 0,
            summary: Summary::default(),
            finished: false,
        }
    }

    fn element(&self) -> String {
        self.path.join("/")
    }

    /// The path below the innermost `name` element, if inside one.
    fn below(&self, name: &str) -> Option<String> {
        let i = self.path.iter().rposition(|p| p == name)?;
        Some(self.path[i + 1..].join("/"))
    }

    fn start(
        &mut self,
        name: String,
        attrs_ccy: Option<String>,
        xmlns: Option<String>,
        line: u32,
    ) -> Result<(), FileError> {
        if !self.root_seen {
            if name != "Document" {
                return Err(FileError::at(
                    line,
                    format!(
                        "Filen är XML men inte camt.054: rotelementet är <{name}>, inte <Document>."
                    ),
                ));
            }
            let ns = xmlns.unwrap_or_default();
            if !ns.starts_with(NAMESPACE) {
                return Err(FileError::at(
                    line,
                    format!("Filen är inte camt.054: namnrymden är \"{ns}\", inte {NAMESPACE}…"),
                ));
            }
            self.root_seen = true;
        }
        if self.path.len() == 1 && name != "BkToCstmrDbtCdtNtfctn" {
            return Err(FileError::at(
                line,
                format!(
                    "Filen är inte en camt.054-avisering: <Document> innehåller <{name}>, inte <BkToCstmrDbtCdtNtfctn>."
                ),
            ));
        }
        self.path.push(name);
        self.starts.push(line);
        self.text.clear();
        self.ccy = attrs_ccy;
        let last = self.path.last().map(String::as_str);
        if last == Some("Ntry") {
            self.entries += 1;
            self.entry = Some(Entry { line, number: self.entries, ..Entry::default() });
        } else if last == Some("TxDtls")
            && let Some(e) = self.entry.as_mut()
        {
            e.txs.push(Tx { line, ..Tx::default() });
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), FileError> {
        let text = std::mem::take(&mut self.text).trim().to_string();
        let line = self.starts.last().copied().unwrap_or(self.line);
        let element = self.element();
        if element.ends_with("GrpHdr/MsgId") {
            self.summary.message_id = Some(text.clone());
        }
        if let Some(rel) = self.below("Ntfctn").filter(|r| r.starts_with("Acct")) {
            let account = self.account.get_or_insert_with(|| (String::new(), String::new(), line));
            match rel.as_str() {
                "Acct/Id/IBAN" => (account.0, account.1) = (text.clone(), "IBAN".into()),
                "Acct/Id/Othr/Id" => account.0 = text.clone(),
                "Acct/Id/Othr/SchmeNm/Prtry" | "Acct/Id/Othr/SchmeNm/Cd" => {
                    account.1 = text.clone()
                }
                "Acct" => {
                    let (id, scheme, at) = self.account.take().unwrap_or_default();
                    let account = match scheme.as_str() {
                        "IBAN" => super::ReceivingAccount::Iban(id),
                        "BGNR" => super::ReceivingAccount::Bankgiro(id),
                        _ => super::ReceivingAccount::Other { id, scheme },
                    };
                    self.summary.accounts.push((at, account));
                }
                _ => {}
            }
        }
        if let Some(rel) = self.below("TxDtls") {
            let ccy = self.ccy.clone().unwrap_or_default();
            if let Some(tx) = self.entry.as_mut().and_then(|e| e.txs.last_mut()) {
                match rel.as_str() {
                    "Refs/AcctSvcrRef" => tx.acct_svcr_ref = Some(text),
                    "AmtDtls/TxAmt/Amt" | "Amt" => tx.amount = Some((text, ccy, line)),
                    "RltdPties/Dbtr/Nm" | "RltdPties/Dbtr/Pty/Nm" => tx.debtor_name = text,
                    "RltdPties/DbtrAcct/Id/IBAN" => tx.debtor_account = Some(text),
                    "RltdPties/DbtrAcct/Id/Othr/Id" => tx.debtor_account = Some(text),
                    "RltdPties/Dbtr/Id/OrgId/Othr/Id"
                    | "RltdPties/Dbtr/Id/PrvtId/Othr/Id"
                    | "RltdPties/Dbtr/Pty/Id/OrgId/Othr/Id"
                    | "RltdPties/Dbtr/Pty/Id/PrvtId/Othr/Id" => tx.debtor_id = Some(text),
                    "RmtInf/Strd/CdtrRefInf/Ref" => tx.structured_ref = Some(text),
                    "RmtInf/Ustrd" => tx.unstructured.push(text),
                    _ => {}
                }
            }
        } else if let Some(rel) = self.below("Ntry") {
            let ccy = self.ccy.clone().unwrap_or_default();
            if let Some(e) = self.entry.as_mut() {
                match rel.as_str() {
                    "Amt" => e.amount = Some((text, ccy, line)),
                    "CdtDbtInd" => e.credit_debit = Some(text),
                    "Sts" | "Sts/Cd" if !text.is_empty() => e.status = Some(text),
                    "BookgDt/Dt" => e.booked = Some((text, line)),
                    "BookgDt/DtTm" => e.booked = Some((text.chars().take(10).collect(), line)),
                    "AcctSvcrRef" => e.acct_svcr_ref = Some(text),
                    _ => {}
                }
            }
        }
        let closing = self.path.pop();
        self.starts.pop();
        if closing.as_deref() == Some("Ntry")
            && let Some(e) = self.entry.take()
        {
            self.finish_entry(e)?;
        }
        Ok(())
    }

    fn finish_entry(&mut self, e: Entry) -> Result<(), FileError> {
        let n = e.number;
        let at = |line: u32, what: &str, msg: String| {
            FileError::at(line, format!("Ntry nr {n}, {what}: {msg}"))
        };
        let Some((amount_text, ccy, amount_line)) = e.amount else {
            return Err(at(e.line, "Amt", "beloppet saknas.".into()));
        };
        let amount = parse_amount(&amount_text)
            .ok_or_else(|| at(amount_line, "Amt", format!("\"{amount_text}\" är inget belopp.")))?;
        if !amount.is_positive() {
            return Err(at(amount_line, "Amt", "beloppet måste vara större än noll.".into()));
        }
        if ccy != "SEK" {
            return Err(at(
                amount_line,
                "Amt/@Ccy",
                format!("valutan \"{ccy}\" stöds inte; Fordra tar bara emot SEK."),
            ));
        }
        match e.credit_debit.as_deref() {
            Some("CRDT") => {}
            Some("DBIT") => {
                return Err(at(
                    e.line,
                    "CdtDbtInd",
                    "posten är en debitering (DBIT). Fordra läser bara in inbetalningar; en återföring måste hanteras för hand.".into(),
                ));
            }
            other => {
                return Err(at(
                    e.line,
                    "CdtDbtInd",
                    format!("ska vara CRDT, men är {:?}.", other.unwrap_or("tomt")),
                ));
            }
        }
        match e.status.as_deref() {
            Some("BOOK") => {}
            Some(s) => {
                return Err(at(
                    e.line,
                    "Sts",
                    format!("status {s}: bara bokförda poster (BOOK) kan läsas in."),
                ));
            }
            None => return Err(at(e.line, "Sts", "status saknas.".into())),
        }
        let Some((booked_text, booked_line)) = e.booked else {
            return Err(at(e.line, "BookgDt", "bokföringsdagen saknas.".into()));
        };
        let booked = crate::domain::calendar::parse_iso_date(&booked_text).ok_or_else(|| {
            at(booked_line, "BookgDt", format!("\"{booked_text}\" är inget datum (ÅÅÅÅ-MM-DD)."))
        })?;
        let mut txs = e.txs;
        if txs.is_empty() {
            txs.push(Tx { line: e.line, ..Tx::default() });
        }
        let single = txs.len() == 1;
        let mut sum = Sek::ZERO;
        let mut out = Vec::with_capacity(txs.len());
        for (i, tx) in txs.into_iter().enumerate() {
            let tx_amount = match &tx.amount {
                Some((t, c, l)) => {
                    let a = parse_amount(t).ok_or_else(|| {
                        at(
                            *l,
                            &format!("TxDtls nr {}, Amt", i + 1),
                            format!("\"{t}\" är inget belopp."),
                        )
                    })?;
                    if c != "SEK" {
                        return Err(at(
                            *l,
                            &format!("TxDtls nr {}, Amt/@Ccy", i + 1),
                            format!("valutan \"{c}\" stöds inte."),
                        ));
                    }
                    if !a.is_positive() {
                        return Err(at(
                            *l,
                            &format!("TxDtls nr {}, Amt", i + 1),
                            "beloppet måste vara större än noll.".into(),
                        ));
                    }
                    a
                }
                None if single => amount,
                None => {
                    return Err(at(
                        tx.line,
                        &format!("TxDtls nr {}", i + 1),
                        "beloppet saknas (AmtDtls/TxAmt/Amt).".into(),
                    ));
                }
            };
            sum += tx_amount;
            let bank_ref = match (&tx.acct_svcr_ref, &e.acct_svcr_ref) {
                (Some(r), _) if !r.is_empty() => r.clone(),
                (_, Some(r)) if !r.is_empty() && single => r.clone(),
                (_, Some(r)) if !r.is_empty() => format!("{r}/{}", i + 1),
                _ => {
                    return Err(at(
                        tx.line,
                        &format!("TxDtls nr {}, Refs/AcctSvcrRef", i + 1),
                        "bankens referens saknas; utan den kan en dubblett inte upptäckas.".into(),
                    ));
                }
            };
            let reference = tx
                .structured_ref
                .clone()
                .or_else(|| tx.unstructured.first().cloned())
                .unwrap_or_default();
            out.push(ParsedPayment {
                seq: 0,
                line: tx.line,
                kind: PaymentKind::Payment,
                booked_on: booked,
                amount: tx_amount,
                currency: "SEK".into(),
                ocr: tx.structured_ref.as_deref().and_then(ocr_of),
                reference,
                payer_name: tx.debtor_name,
                payer_account: tx.debtor_account,
                payer_id_number: tx.debtor_id,
                information: tx.unstructured.join("\n"),
                bank_ref: format!("camt:{bank_ref}"),
            });
        }
        if sum != amount {
            return Err(at(
                amount_line,
                "Amt",
                format!("posten är på {amount}, men dess transaktioner (TxDtls) är på {sum}."),
            ));
        }
        for mut p in out {
            self.seq += 1;
            p.seq = self.seq;
            self.summary.count += 1;
            self.summary.net_total += p.amount.amount();
            self.summary.booking_days.insert(p.booked_on);
            self.ready.push_back(p);
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<(), FileError> {
        while self.ready.is_empty() && !self.finished {
            let line = self.line;
            let event = self.reader.read_event_into(&mut self.buf).map_err(|e| {
                let e = e.to_string();
                if e.contains("end of input") {
                    FileError::at(
                        line,
                        format!(
                            "Filen tar slut mitt i XML-koden vid <{}>: den är ofullständig.",
                            self.path.join("/")
                        ),
                    )
                } else {
                    FileError::at(
                        line,
                        format!("XML-filen är felaktig vid <{}>: {e}", self.path.join("/")),
                    )
                }
            })?;
            match event {
                Event::Start(e) => {
                    self.line += newlines(&e);
                    let name = e.local_name().as_ref().to_string();
                    let ccy = attr(&e, "Ccy");
                    let xmlns = attr(&e, "xmlns");
                    self.start(name, ccy, xmlns, line)?;
                }
                Event::Empty(e) => {
                    self.line += newlines(&e);
                    let name = e.local_name().as_ref().to_string();
                    let ccy = attr(&e, "Ccy");
                    let xmlns = attr(&e, "xmlns");
                    self.start(name, ccy, xmlns, line)?;
                    self.end()?;
                }
                Event::End(_) => self.end()?,
                Event::Text(t) => {
                    let s = t.xml10_content();
                    self.line += newlines(&t);
                    self.text.push_str(&s);
                }
                Event::CData(t) => {
                    let s = t.into_inner().into_owned();
                    self.line += newlines(&s);
                    self.text.push_str(&s);
                }
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => match r.as_ref() {
                            "amp" => Some('&'),
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        },
                    };
                    match resolved {
                        Some(c) => self.text.push(c),
                        None => {
                            return Err(FileError::at(
                                line,
                                format!("Okänd XML-entitet &{};", r.as_ref()),
                            ));
                        }
                    }
                }
                Event::Comment(t) | Event::DocType(t) => self.line += newlines(&t),
                Event::Decl(_) | Event::PI(_) => {}
                Event::Eof => {
                    if let Some(open) = self.path.last() {
                        return Err(FileError::at(
                            line,
                            format!("Filen slutar mitt i elementet <{open}>: den är ofullständig."),
                        ));
                    }
                    if !self.root_seen {
                        return Err(FileError::file("Filen innehåller inget XML-dokument."));
                    }
                    if self.summary.message_id.as_deref().unwrap_or("").is_empty() {
                        return Err(FileError::file(
                            "GrpHdr/MsgId saknas: meddelandets identitet behövs för att upptäcka dubbletter.",
                        ));
                    }
                    if self.entries == 0 {
                        return Err(FileError::file(
                            "Filen innehåller inga poster (Ntry): det finns inga betalningar att läsa in.",
                        ));
                    }
                    self.finished = true;
                }
            }
            self.buf.clear();
        }
        Ok(())
    }
}

fn attr(e: &quick_xml::events::BytesStart, name: &str) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref() == name).map(|a| a.value.into_owned())
}

super::queued_payment_source!(Parser);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::{read_all, simulator};
    use chrono::NaiveDate;

    fn parse(xml: &str) -> Result<(Vec<ParsedPayment>, Summary), FileError> {
        read_all(Parser::new(xml.as_bytes()))
    }

    const FIXTURE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>MSG-2026-01-15-001</MsgId><CreDtTm>2026-01-15T18:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>N1</Id>
      <Acct><Id><IBAN>SE4550000000058398257466</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="SEK">1525.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>2026-01-15</Dt></BookgDt>
        <ValDt><Dt>2026-01-15</Dt></ValDt>
        <AcctSvcrRef>E1</AcctSvcrRef>
        <BkTxCd/>
        <NtryDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>T1</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="SEK">1500.00</Amt></TxAmt></AmtDtls>
            <RltdPties><Dbtr><Nm>Anna &amp; Olle Svensson</Nm></Dbtr>
              <DbtrAcct><Id><IBAN>SE3550000000054910000003</IBAN></Id></DbtrAcct></RltdPties>
            <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>1234574</Ref></CdtrRefInf></Strd></RmtInf>
          </TxDtls>
          <TxDtls>
            <Refs><AcctSvcrRef>T2</AcctSvcrRef></Refs>
            <AmtDtls><TxAmt><Amt Ccy="SEK">25.00</Amt></TxAmt></AmtDtls>
            <RmtInf><Ustrd>Faktura 4711</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"#;

    #[test]
    fn reads_entries_and_transactions() {
        let (p, s) = parse(FIXTURE).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].ocr.as_deref(), Some("1234574"));
        assert_eq!(p[0].payer_name, "Anna & Olle Svensson");
        assert_eq!(p[0].bank_ref, "camt:T1");
        assert_eq!(p[0].line, 17);
        assert_eq!(p[1].ocr, None);
        assert_eq!(p[1].reference, "Faktura 4711");
        assert_eq!(s.message_id.as_deref(), Some("MSG-2026-01-15-001"));
        assert_eq!(s.net_total, Sek::new(1525, 0).amount());
    }

    fn refused(xml: &str) -> FileError {
        parse(xml).expect_err("must be refused")
    }

    #[test]
    fn refuses_broken_files() {
        let e = refused(
            &FIXTURE.replace("</Refs>\n            <AmtDtls>", "</Refx>\n            <AmtDtls>"),
        );
        assert!(e.message.contains("XML-filen är felaktig"), "{e}");

        let e = refused(&FIXTURE[..FIXTURE.len() / 2]);
        assert!(e.message.contains("ofullständig"), "{e}");

        let e = refused(&FIXTURE.replace(">1500.00<", ">15O0.00<"));
        assert_eq!(e.line, Some(19));
        assert!(e.message.contains("TxDtls nr 1, Amt") && e.message.contains("15O0.00"), "{e}");

        let e = refused(&FIXTURE.replace(">25.00<", ">26.00<"));
        assert!(e.message.contains("transaktioner"), "{e}");

        let start = FIXTURE.find("<Ntry>").unwrap();
        let end = FIXTURE.find("</Ntry>").unwrap() + "</Ntry>".len();
        let empty = format!("{}{}", &FIXTURE[..start], &FIXTURE[end..]);
        let e = refused(&empty);
        assert!(e.message.contains("inga poster (Ntry)"), "{e}");

        let e = refused(&FIXTURE.replace("<CdtDbtInd>CRDT", "<CdtDbtInd>DBIT"));
        assert!(e.message.contains("DBIT"), "{e}");

        let e = refused(&FIXTURE.replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>"));
        assert!(e.message.contains("PDNG"), "{e}");

        let no_refs = FIXTURE
            .replace("<AcctSvcrRef>T2</AcctSvcrRef>", "")
            .replace("<AcctSvcrRef>E1</AcctSvcrRef>", "");
        let e = refused(&no_refs);
        assert!(e.message.contains("AcctSvcrRef"), "{e}");

        let e = refused("<html><body/></html>");
        assert!(e.message.contains("inte camt.054"), "{e}");
    }

    #[test]
    fn generated_files_round_trip() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let items = [
            simulator::Item::new("1234574", Sek::new(100, 50), "Kund Ett"),
            simulator::Item::new("9999", Sek::kronor(3), "Kund Två"),
        ];
        let xml = simulator::camt054(crate::config::DEFAULT_IBAN, "MSG1", d, &items);
        let (p, s) = parse(&xml).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].amount, Sek::new(100, 50));
        assert_eq!(p[0].ocr.as_deref(), Some("1234574"));
        assert_eq!(s.booking_days.iter().next(), Some(&d));
    }
}
