//! ISO 20022 pain.001.001.03 (customer credit transfer initiation), the payout file Swedish
//! banks take in 2026, in the Swedish domestic mapping of formats.md §3.2: bankgiro payees as
//! `Othr/Id` with `SchmeNm/Prtry` BGNR and clearing member 9900, bank accounts as BBAN with
//! their clearing number, both under the SESBA clearing system.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime};

use crate::domain::money::Sek;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Account {
    /// Bankgiro digits.
    Bankgiro(String),
    BankAccount {
        clearing: String,
        account: String,
    },
    Iban(String),
}

#[derive(Clone, Debug)]
pub struct Transfer {
    pub end_to_end_id: String,
    pub amount: Sek,
    pub name: String,
    pub account: Account,
    pub remittance: String,
}

pub struct Initiation<'a> {
    pub message_id: &'a str,
    pub created: NaiveDateTime,
    pub execution_date: NaiveDate,
    pub debtor_name: &'a str,
    pub debtor_org_nr: &'a str,
    pub debtor_iban: &'a str,
    pub debtor_bic: &'a str,
    pub transfers: &'a [Transfer],
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// At most `n` characters (the schema's Max35Text, Max70Text, Max140Text).
fn cut(s: &str, n: usize) -> String {
    esc(&s.chars().take(n).collect::<String>())
}

pub fn write(p: &Initiation) -> String {
    let total: Sek = p.transfers.iter().map(|t| t.amount).sum();
    let n = p.transfers.len();
    let org: String = p.debtor_org_nr.chars().filter(char::is_ascii_digit).collect();
    let mut x = String::with_capacity(1200 + n * 800);
    let _ = write!(
        x,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>{msg}</MsgId>
      <CreDtTm>{created}</CreDtTm>
      <NbOfTxs>{n}</NbOfTxs>
      <CtrlSum>{total}</CtrlSum>
      <InitgPty><Nm>{name}</Nm><Id><OrgId><Othr><Id>{org}</Id><SchmeNm><Cd>BANK</Cd></SchmeNm></Othr></OrgId></Id></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>{msg}-1</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <NbOfTxs>{n}</NbOfTxs>
      <CtrlSum>{total}</CtrlSum>
      <PmtTpInf><SvcLvl><Cd>NURG</Cd></SvcLvl><CtgyPurp><Cd>SUPP</Cd></CtgyPurp></PmtTpInf>
      <ReqdExctnDt>{exec}</ReqdExctnDt>
      <Dbtr><Nm>{name}</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>{iban}</IBAN></Id><Ccy>SEK</Ccy></DbtrAcct>
      <DbtrAgt><FinInstnId><BIC>{bic}</BIC></FinInstnId></DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
"#,
        msg = cut(p.message_id, 35),
        created = p.created.format("%Y-%m-%dT%H:%M:%S"),
        total = total.to_plain(),
        name = cut(p.debtor_name, 70),
        exec = p.execution_date,
        iban = esc(&p.debtor_iban.replace(' ', "")),
        bic = esc(p.debtor_bic),
    );
    for t in p.transfers {
        let (member, account) = match &t.account {
            Account::Bankgiro(bg) => (
                Some("9900".to_string()),
                format!("<Othr><Id>{}</Id><SchmeNm><Prtry>BGNR</Prtry></SchmeNm></Othr>", esc(bg)),
            ),
            Account::BankAccount { clearing, account } => (
                Some(clearing.clone()),
                format!(
                    "<Othr><Id>{}{}</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr>",
                    esc(clearing),
                    esc(account)
                ),
            ),
            Account::Iban(iban) => (None, format!("<IBAN>{}</IBAN>", esc(iban))),
        };
        let agent = match member {
            Some(m) => format!(
                "<CdtrAgt><FinInstnId><ClrSysMmbId><ClrSysId><Cd>SESBA</Cd></ClrSysId><MmbId>{}</MmbId></ClrSysMmbId></FinInstnId></CdtrAgt>",
                esc(&m)
            ),
            None => String::new(),
        };
        let _ = write!(
            x,
            r#"      <CdtTrfTxInf>
        <PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="SEK">{amount}</InstdAmt></Amt>
        {agent}
        <Cdtr><Nm>{name}</Nm></Cdtr>
        <CdtrAcct><Id>{account}</Id></CdtrAcct>
        <RmtInf><Ustrd>{rmt}</Ustrd></RmtInf>
      </CdtTrfTxInf>
"#,
            e2e = cut(&t.end_to_end_id, 35),
            amount = t.amount.to_plain(),
            name = cut(&t.name, 70),
            rmt = cut(&t.remittance, 140),
        );
    }
    x.push_str("    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_mapping() {
        let transfers = [
            Transfer {
                end_to_end_id: "S1001".into(),
                amount: Sek::kronor(1000),
                name: "Demo Bygg & Co AB".into(),
                account: Account::Bankgiro("9912346".into()),
                remittance: "Avräkning 1001".into(),
            },
            Transfer {
                end_to_end_id: "R7".into(),
                amount: Sek::new(500, 5),
                name: "Anna Svensson".into(),
                account: Account::BankAccount {
                    clearing: "5102".into(),
                    account: "0158751".into(),
                },
                remittance: "Återbetalning".into(),
            },
        ];
        let xml = write(&Initiation {
            message_id: "FORDRA-501",
            created: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap().and_hms_opt(12, 0, 0).unwrap(),
            execution_date: NaiveDate::from_ymd_opt(2026, 1, 16).unwrap(),
            debtor_name: "Fordra Inkasso AB",
            debtor_org_nr: "559123-4561",
            debtor_iban: "SE45 5000 0000 0583 9825 7466",
            debtor_bic: "ESSESESS",
            transfers: &transfers,
        });
        assert!(xml.contains("<NbOfTxs>2</NbOfTxs>"));
        assert!(xml.contains("<CtrlSum>1500.05</CtrlSum>"));
        assert!(xml.contains("<Prtry>BGNR</Prtry>"));
        assert!(xml.contains("<MmbId>5102</MmbId>"));
        assert!(xml.contains("Demo Bygg &amp; Co AB"));
        assert!(xml.contains("<IBAN>SE4550000000058398257466</IBAN>"));
    }
}
