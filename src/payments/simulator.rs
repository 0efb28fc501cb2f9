//! Writes bank files the way a bank would: the demo's payment simulator, the tests and the
//! benchmark all import what these produce through the same path as a real file.

use std::fmt::Write as _;

use chrono::NaiveDate;

use crate::domain::money::Sek;

/// One payment to put in a file.
#[derive(Clone, Debug)]
pub struct Item {
    pub reference: String,
    pub amount: Sek,
    pub payer_name: String,
}

impl Item {
    pub fn new(reference: &str, amount: Sek, payer_name: &str) -> Item {
        Item { reference: reference.to_string(), amount, payer_name: payer_name.to_string() }
    }
}

fn ore(amount: Sek) -> i64 {
    let d = amount.amount() * rust_decimal::Decimal::from(100);
    d.trunc().to_string().parse().unwrap_or(0)
}

/// Latin-1 text, cut or padded to `width` characters.
fn pad(s: &str, width: usize) -> String {
    let mut out: String = s.chars().take(width).collect();
    while out.chars().count() < width {
        out.push(' ');
    }
    out
}

/// A BgMax file with one deposit to `receiver_bankgiro` booked on `day`. `serial` makes the
/// deposit and BGC serial numbers unique between files. Returns Latin-1 bytes with CRLF.
pub fn bgmax(receiver_bankgiro: &str, day: NaiveDate, serial: u32, items: &[Item]) -> Vec<u8> {
    let bg: String = receiver_bankgiro.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut lines = vec![format!("01{}01{}000000P", pad("BGMAX", 20), day.format("%Y%m%d120000"))];
    lines.push(format!("05{bg:0>10}{}SEK", " ".repeat(10)));
    let mut total = 0i64;
    for (i, item) in items.iter().enumerate() {
        let digits =
            item.reference.bytes().all(|b| b.is_ascii_digit()) && !item.reference.is_empty();
        let (reference, code) = if digits {
            (format!("{:>25}", item.reference), '2')
        } else {
            (pad(&item.reference, 25), '3')
        };
        let amount = ore(item.amount);
        total += amount;
        lines.push(format!(
            "20{:0>10}{reference}{amount:018}{code}1{:012}0",
            "",
            u64::from(serial) * 100_000 + i as u64 + 1
        ));
        if !item.payer_name.is_empty() {
            lines.push(format!("26{}", pad(&item.payer_name, 35)));
        }
    }
    lines.push(format!(
        "15{:0>35}{}{:05}{total:018}SEK{:08}",
        "58410000010098",
        day.format("%Y%m%d"),
        serial % 100_000,
        items.len()
    ));
    lines.push(format!("70{:08}{:08}{:08}{:08}", items.len(), 0, 0, 1));
    let mut out = Vec::new();
    for l in lines {
        let l = pad(&l, 80);
        out.extend(l.chars().map(|c| u32::from(c).min(255) as u8));
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A camt.054.001.02 credit notification with one booked entry per item.
/// A camt.054 credit notification for the account `iban`.
pub fn camt054(iban: &str, message_id: &str, day: NaiveDate, items: &[Item]) -> String {
    let mut out = Vec::with_capacity(600 + items.len() * 700);
    write_camt054(&mut out, iban, message_id, day, items.iter().cloned())
        .expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the writer writes UTF-8")
}

/// Writes a camt.054 file item by item (for files too large to build in memory).
pub fn write_camt054(
    out: &mut impl std::io::Write,
    iban: &str,
    message_id: &str,
    day: NaiveDate,
    items: impl IntoIterator<Item = Item>,
) -> std::io::Result<()> {
    let id = xml_escape(message_id);
    let iban = xml_escape(iban);
    write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">
<BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>{id}</MsgId><CreDtTm>{day}T18:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>{id}-N</Id><CreDtTm>{day}T18:00:00</CreDtTm>
<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>
"#
    )?;
    let mut x = String::with_capacity(1024);
    for (i, item) in items.into_iter().enumerate() {
        x.clear();
        let amount = item.amount.to_plain();
        let reference = xml_escape(&item.reference);
        let rmt = if item.reference.bytes().all(|b| b.is_ascii_digit())
            && !item.reference.is_empty()
        {
            format!(
                "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{reference}</Ref></CdtrRefInf></Strd>"
            )
        } else {
            format!("<Ustrd>{reference}</Ustrd>")
        };
        let _ = write!(
            x,
            r#"<Ntry><Amt Ccy="SEK">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt><AcctSvcrRef>{id}-{n}</AcctSvcrRef>
<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>
<NtryDtls><TxDtls><Refs><AcctSvcrRef>{id}-{n}-1</AcctSvcrRef></Refs>
<AmtDtls><TxAmt><Amt Ccy="SEK">{amount}</Amt></TxAmt></AmtDtls>
<RltdPties><Dbtr><Nm>{name}</Nm></Dbtr></RltdPties>
<RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls></Ntry>
"#,
            n = i + 1,
            name = xml_escape(&item.payer_name),
        );
        out.write_all(x.as_bytes())?;
    }
    out.write_all(b"</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::{PaymentSource, bgmax};

    #[test]
    fn bgmax_round_trip() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let items = [
            Item::new("1234574", Sek::new(100, 50), "Åsa Öberg"),
            Item::new("fel", Sek::kronor(3), ""),
        ];
        let bytes = bgmax("991-2346", d, 7, &items);
        let mut p = bgmax::Parser::new(&bytes[..]);
        let first = p.next_payment().unwrap().unwrap();
        assert_eq!(first.amount, Sek::new(100, 50));
        assert_eq!(first.ocr.as_deref(), Some("1234574"));
        assert_eq!(first.payer_name, "Åsa Öberg");
        let second = p.next_payment().unwrap().unwrap();
        assert_eq!(second.reference, "fel");
        assert!(p.next_payment().unwrap().is_none());
    }
}
