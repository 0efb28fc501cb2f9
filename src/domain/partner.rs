//! The partner programme's pure rules: partner numbers, and whether a creditor counts as a
//! partner's customer (product.md §4 and the issue "The partner programme").

use chrono::{Datelike, NaiveDate};

use super::{
    ids::{luhn_digit, luhn_valid},
    rules::RuleSet,
};

/// Partner numbers start here, so every number has seven digits for a long time.
pub const FIRST_SERIAL: u32 = 100_001;

/// A partner number: the serial, then its Luhn check digit (as in an OCR reference, so a typo
/// in one digit or two swapped neighbours is caught).
pub fn number(serial: u32) -> String {
    let digits: Vec<u8> = serial.to_string().bytes().map(|b| b - b'0').collect();
    format!("{serial}{}", luhn_digit(&digits))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("Partnernumret har sju siffror.")]
    Format,
    #[error("Partnernumrets kontrollsiffra stämmer inte; kontrollera numret.")]
    CheckDigit,
}

/// The serial of a partner number as people type it (spaces and dashes ignored).
pub fn parse_number(input: &str) -> Result<u32, NumberError> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() < 7 || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::Format);
    }
    let d: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    if !luhn_valid(&d) {
        return Err(NumberError::CheckDigit);
    }
    digits[..digits.len() - 1].parse().map_err(|_| NumberError::Format)
}

/// How a creditor came to a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Signed up through the partner's link or with its code.
    Link,
    /// Created by the partner in its portal.
    Created,
    /// Referred by the partner (name, org.nr, e-mail), then signed up itself.
    Referral,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Link => "link",
            Via::Created => "created",
            Via::Referral => "referral",
        }
    }
}

/// What is known when a creditor signs up or is created for a partner.
#[derive(Clone, Copy, Debug)]
pub struct Arrival {
    pub via: Via,
    /// The partner is approved, not revoked, and its agreement runs on `on`.
    pub partner_active: bool,
    /// The creditor (its org.nr) was a Fordra customer before the partner brought it.
    pub existed_before: bool,
    /// Another partner referred it first or has it as a customer.
    pub other_partner: bool,
    /// For a referral: the day the partner referred it.
    pub referred_on: Option<NaiveDate>,
    /// The day it signed up or was created.
    pub on: NaiveDate,
}

/// Why a creditor is not counted as the partner's customer; the partner is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAttributed {
    #[error("Partnern är inte godkänd, eller avtalet har upphört.")]
    PartnerNotActive,
    #[error(
        "Företaget var kund hos Fordra redan innan ni förde hit det och räknas inte som er kund."
    )]
    ExistedBefore,
    #[error("Företaget har redan hänvisats av en annan partner; den första hänvisningen gäller.")]
    OtherPartner,
    #[error(
        "Företaget registrerade sig {days} dagar efter hänvisningen; en hänvisning gäller i {limit} dagar."
    )]
    ReferralExpired { days: i64, limit: u32 },
}

/// Whether the creditor becomes the partner's customer, under the rules in force on `a.on`.
/// The first reason that applies is given.
pub fn attribute(a: &Arrival, rules: &RuleSet) -> Result<(), NotAttributed> {
    if !a.partner_active {
        return Err(NotAttributed::PartnerNotActive);
    }
    if a.existed_before {
        return Err(NotAttributed::ExistedBefore);
    }
    if a.other_partner {
        return Err(NotAttributed::OtherPartner);
    }
    if let (Via::Referral, Some(referred)) = (a.via, a.referred_on) {
        let days = (a.on - referred).num_days();
        if days > i64::from(rules.referral_valid_days) {
            return Err(NotAttributed::ReferralExpired { days, limit: rules.referral_valid_days });
        }
    }
    Ok(())
}

/// The last day of the agreement period running on `today`: the first term from `signed`, then
/// renewals, each starting the day after the previous one ends. `None` before signing.
pub fn period_end(signed: NaiveDate, today: NaiveDate, rules: &RuleSet) -> Option<NaiveDate> {
    if today < signed {
        return None;
    }
    // Each period's end is counted from the signing day, so month ends do not drift.
    let after = |renewals: u32| {
        let n = rules.partner_term_months + renewals * rules.partner_renewal_months;
        signed.checked_add_months(chrono::Months::new(n))
    };
    let mut renewals = 0;
    let mut next = after(0)?;
    // (No renewals configured: the agreement simply ends after its first term.)
    while next <= today && rules.partner_renewal_months > 0 {
        renewals += 1;
        next = after(renewals)?;
    }
    next.pred_opt()
}

/// A calendar quarter, written `2026Q1`: the period of a partner's commission statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    pub year: i32,
    /// 1–4.
    pub q: u32,
}

impl Quarter {
    pub fn parse(s: &str) -> Option<Quarter> {
        let (year, q) = s.trim().split_once(['Q', 'q'])?;
        let (year, q) = (year.parse().ok()?, q.parse().ok()?);
        ((1..=4).contains(&q) && (2000..=2100).contains(&year)).then_some(Quarter { year, q })
    }

    pub fn of(d: NaiveDate) -> Quarter {
        Quarter { year: d.year(), q: (d.month() - 1) / 3 + 1 }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, (self.q - 1) * 3 + 1, 1).expect("a quarter's first day")
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().expect("a day before")
    }

    pub fn next(self) -> Quarter {
        if self.q == 4 {
            Quarter { year: self.year + 1, q: 1 }
        } else {
            Quarter { q: self.q + 1, ..self }
        }
    }

    pub fn previous(self) -> Quarter {
        if self.q == 1 {
            Quarter { year: self.year - 1, q: 4 }
        } else {
            Quarter { q: self.q - 1, ..self }
        }
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn quarters() {
        let q = Quarter::parse("2026Q1").unwrap();
        assert_eq!(q.to_string(), "2026Q1");
        assert_eq!(
            (q.first_day().to_string(), q.last_day().to_string()),
            ("2026-01-01".into(), "2026-03-31".into())
        );
        assert_eq!(Quarter::parse("2026Q4").unwrap().last_day().to_string(), "2026-12-31");
        assert_eq!(Quarter::of("2026-04-02".parse().unwrap()), q.next());
        assert_eq!(q.previous().to_string(), "2025Q4");
        assert_eq!(Quarter::parse("2026Q5"), None);
        assert_eq!(Quarter::parse("2026-1"), None);
    }

    #[test]
    fn partner_numbers_carry_a_luhn_digit_that_catches_typos() {
        assert_eq!(number(FIRST_SERIAL), "1000017");
        assert_eq!(parse_number("1000017"), Ok(FIRST_SERIAL));
        assert_eq!(parse_number("100 001-7"), Ok(FIRST_SERIAL));
        for serial in [FIRST_SERIAL, 123_456, 999_999, 1_000_000] {
            let n = number(serial);
            assert_eq!(parse_number(&n), Ok(serial));
            // Every single-digit change and every swap of unequal neighbours is refused.
            let b = n.as_bytes();
            for i in 0..b.len() {
                for d in b'0'..=b'9' {
                    if d != b[i] {
                        let mut t = b.to_vec();
                        t[i] = d;
                        assert!(parse_number(std::str::from_utf8(&t).unwrap()).is_err());
                    }
                }
                if i + 1 < b.len() && b[i] != b[i + 1] && (b[i] as i32 - b[i + 1] as i32).abs() != 9
                {
                    let mut t = b.to_vec();
                    t.swap(i, i + 1);
                    assert!(parse_number(std::str::from_utf8(&t).unwrap()).is_err(), "{n}");
                }
            }
        }
        assert_eq!(parse_number("12345"), Err(NumberError::Format));
        assert_eq!(parse_number("10000x7"), Err(NumberError::Format));
    }

    #[test]
    fn who_counts_as_the_partners_customer() {
        let rules = RuleSet::sweden_2013();
        let base = Arrival {
            via: Via::Referral,
            partner_active: true,
            existed_before: false,
            other_partner: false,
            referred_on: Some(d("2026-01-01")),
            on: d("2026-06-30"),
        };
        // 180 days after the referral still counts; 181 does not.
        assert_eq!(attribute(&base, &rules), Ok(()));
        let late = Arrival { on: d("2026-07-01"), ..base };
        assert_eq!(
            attribute(&late, &rules),
            Err(NotAttributed::ReferralExpired { days: 181, limit: 180 })
        );
        assert!(attribute(&late, &rules).unwrap_err().to_string().contains("181 dagar"));
        // A link or a creation has no time limit; the other rules apply to all three.
        assert_eq!(attribute(&Arrival { via: Via::Link, ..late }, &rules), Ok(()));
        for via in [Via::Link, Via::Created, Via::Referral] {
            let a = Arrival { via, ..base };
            assert_eq!(
                attribute(&Arrival { existed_before: true, ..a }, &rules),
                Err(NotAttributed::ExistedBefore)
            );
            assert_eq!(
                attribute(&Arrival { other_partner: true, ..a }, &rules),
                Err(NotAttributed::OtherPartner)
            );
            assert_eq!(
                attribute(&Arrival { partner_active: false, ..a }, &rules),
                Err(NotAttributed::PartnerNotActive)
            );
        }
    }

    #[test]
    fn the_agreement_runs_twelve_months_then_three_at_a_time() {
        let rules = RuleSet::sweden_2013();
        let signed = d("2026-01-31");
        assert_eq!(period_end(signed, d("2026-01-30"), &rules), None);
        assert_eq!(period_end(signed, signed, &rules), Some(d("2027-01-30")));
        assert_eq!(period_end(signed, d("2027-01-30"), &rules), Some(d("2027-01-30")));
        // The first renewal runs 2027-01-31 to 2027-04-29: the next starts on 31 January + 15
        // months, which is 30 April.
        assert_eq!(period_end(signed, d("2027-01-31"), &rules), Some(d("2027-04-29")));
        assert_eq!(period_end(signed, d("2027-04-30"), &rules), Some(d("2027-07-30")));
        assert_eq!(period_end(signed, d("2030-01-01"), &rules), Some(d("2030-01-30")));
    }
}
