//! Swedish identity numbers: personnummer, samordningsnummer and organisationsnummer.
//! Stored in 12-digit form without separator: persons `YYYYMMDDNNNC`, organisations `16` + 10.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdKind {
    Person,
    Coordination,
    Organisation,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdNumber(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("Ange numret.")]
    Empty,
    #[error("Numret får bara innehålla siffror och bindestreck (eller + för den som fyllt 100).")]
    InvalidCharacters,
    #[error("Ange 10 eller 12 siffror, till exempel 811218-9876.")]
    WrongLength,
    #[error("Datumdelen är inte ett giltigt datum.")]
    BadDate,
    #[error("Kontrollsiffran stämmer inte. Kontrollera numret.")]
    BadCheckDigit,
    #[error("Det här är ett personnummer, inte ett organisationsnummer.")]
    NotOrganisation,
    #[error("Ett organisationsnummer har 16 framför, inte ett århundrade.")]
    BadPrefix,
}

/// Luhn check digit (weights 2-1-2-1… from the right of the payload) for a digit string.
pub fn luhn_digit(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let v = (d as u32) * if i % 2 == 0 { 2 } else { 1 };
            if v > 9 { v - 9 } else { v }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

pub fn luhn_valid(digits: &[u8]) -> bool {
    match digits.split_last() {
        Some((&check, payload)) if !payload.is_empty() => luhn_digit(payload) == check,
        _ => false,
    }
}

impl IdNumber {
    /// Parses 10 or 12 digits with or without `-`/`+`. `today` decides the century of a
    /// 10-digit personnummer: the latest one not in the future, a hundred years earlier with `+`.
    pub fn parse(input: &str, today: NaiveDate) -> Result<IdNumber, IdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(IdError::Empty);
        }
        let mut plus = false;
        let mut digits = Vec::with_capacity(12);
        for (i, c) in s.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                '-' | ' ' if i > 0 => {}
                '+' if i > 0 => plus = true,
                _ => return Err(IdError::InvalidCharacters),
            }
        }
        let ten: [u8; 10] = match digits.len() {
            10 => digits[..].try_into().expect("10 digits"),
            12 => digits[2..].try_into().expect("10 digits"),
            _ => return Err(IdError::WrongLength),
        };
        let org = ten[2] >= 2;
        if !luhn_valid(&ten) {
            return Err(IdError::BadCheckDigit);
        }
        let text = |d: &[u8]| d.iter().map(|d| (b'0' + d) as char).collect::<String>();
        if org {
            if digits.len() == 12 && digits[..2] != [1, 6] {
                return Err(IdError::BadPrefix);
            }
            return Ok(IdNumber(format!("16{}", text(&ten))));
        }
        let yy = (ten[0] * 10 + ten[1]) as i32;
        let month = (ten[2] * 10 + ten[3]) as u32;
        let day_raw = (ten[4] * 10 + ten[5]) as u32;
        let day = if day_raw > 60 { day_raw - 60 } else { day_raw };
        let year = if digits.len() == 12 {
            (digits[0] as i32 * 10 + digits[1] as i32) * 100 + yy
        } else {
            let mut y = today.year() - (today.year() - yy).rem_euclid(100);
            if NaiveDate::from_ymd_opt(y, month, day).is_some_and(|b| b > today) {
                y -= 100;
            }
            if plus {
                y -= 100;
            }
            y
        };
        if NaiveDate::from_ymd_opt(year, month, day).is_none() {
            return Err(IdError::BadDate);
        }
        Ok(IdNumber(format!("{year:04}{}", text(&ten[2..]))))
    }

    /// Parses an organisation number (a legal person); a personnummer is refused.
    pub fn parse_organisation(input: &str, today: NaiveDate) -> Result<IdNumber, IdError> {
        let id = IdNumber::parse(input, today)?;
        if id.kind() == IdKind::Organisation {
            Ok(id)
        } else {
            Err(IdError::NotOrganisation)
        }
    }

    /// The 12-digit storage form, e.g. `198112189876` or `165560360793`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Restores a stored 12-digit value (trusted: it was parsed before it was stored).
    pub fn from_stored(s: &str) -> IdNumber {
        IdNumber(s.to_string())
    }

    pub fn kind(&self) -> IdKind {
        let b = self.0.as_bytes();
        if b[4] >= b'2' {
            IdKind::Organisation
        } else if b[6] >= b'6' {
            IdKind::Coordination
        } else {
            IdKind::Person
        }
    }

    /// Date of birth of a person (samordningsnummer: day minus 60); `None` for organisations.
    pub fn birth_date(&self) -> Option<NaiveDate> {
        if self.kind() == IdKind::Organisation {
            return None;
        }
        let n = |r: std::ops::Range<usize>| self.0[r].parse::<u32>().ok();
        let day = n(6..8)?;
        NaiveDate::from_ymd_opt(
            n(0..4)? as i32,
            n(4..6)?,
            if day > 60 { day - 60 } else { day },
        )
    }

    /// Whole years of age on `date`.
    pub fn age_on(&self, date: NaiveDate) -> Option<u32> {
        let b = self.birth_date()?;
        date.years_since(b)
    }

    /// The usual written form: `19811218-9876` for persons, `556036-0793` for organisations.
    pub fn display(&self) -> String {
        match self.kind() {
            IdKind::Organisation => format!("{}-{}", &self.0[2..8], &self.0[8..]),
            _ => format!("{}-{}", &self.0[..8], &self.0[8..]),
        }
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn luhn_vectors_from_rules_example_7() {
        for (payload, check) in [
            ("640823323", 4),
            ("811218987", 6),
            ("701063239", 1),
            ("212000014", 2),
            ("556036079", 3),
        ] {
            let digits: Vec<u8> = payload.bytes().map(|b| b - b'0').collect();
            assert_eq!(luhn_digit(&digits), check, "{payload}");
        }
    }

    #[test]
    fn parses_persons_coordination_and_organisations() {
        let p = IdNumber::parse("811218-9876", today()).unwrap();
        assert_eq!(p.as_str(), "198112189876");
        assert_eq!(p.kind(), IdKind::Person);
        assert_eq!(p.birth_date(), NaiveDate::from_ymd_opt(1981, 12, 18));
        assert_eq!(IdNumber::parse("198112189876", today()).unwrap(), p);
        assert_eq!(IdNumber::parse("19811218-9876", today()).unwrap(), p);

        let s = IdNumber::parse("701063-2391", today()).unwrap();
        assert_eq!(s.kind(), IdKind::Coordination);
        assert_eq!(s.birth_date(), NaiveDate::from_ymd_opt(1970, 10, 3));

        let o = IdNumber::parse("556036-0793", today()).unwrap();
        assert_eq!(
            (o.as_str(), o.kind()),
            ("165560360793", IdKind::Organisation)
        );
        assert_eq!(o.display(), "556036-0793");
        assert_eq!(IdNumber::parse("165560360793", today()).unwrap(), o);
        assert_eq!(
            IdNumber::parse("212000-0142", today()).unwrap().as_str(),
            "162120000142"
        );
        assert_eq!(o.birth_date(), None);
    }

    #[test]
    fn century_inference_and_plus() {
        // 640823 is 1964 (2064 would be in the future); with + it is 1864... unless that makes
        // no sense, the separator decides.
        assert_eq!(
            IdNumber::parse("640823-3234", today()).unwrap().as_str(),
            "196408233234"
        );
        assert_eq!(
            IdNumber::parse("640823+3234", today()).unwrap().as_str(),
            "186408233234"
        );
        // A child born 2020: 10 digits resolve to 20xx.
        let child = format!("200101{}", "2384");
        let digits: Vec<u8> = "200101238".bytes().map(|b| b - b'0').collect();
        let check = luhn_digit(&digits);
        let child = format!("{}{}", &child[..9], check);
        let id = IdNumber::parse(&child, today()).unwrap();
        assert_eq!(&id.as_str()[..4], "2020");
        assert_eq!(
            id.age_on(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
            Some(6)
        );
    }

    #[test]
    fn clear_errors() {
        assert_eq!(
            IdNumber::parse("811218-9875", today()),
            Err(IdError::BadCheckDigit)
        );
        assert_eq!(
            IdNumber::parse("81121898", today()),
            Err(IdError::WrongLength)
        );
        assert_eq!(
            IdNumber::parse("81x218-9876", today()),
            Err(IdError::InvalidCharacters)
        );
        assert_eq!(IdNumber::parse("", today()), Err(IdError::Empty));
        // 1981-13-18 does not exist (check digit made valid for the payload).
        let payload: Vec<u8> = "811318987".bytes().map(|b| b - b'0').collect();
        let bad = format!("811318987{}", luhn_digit(&payload));
        assert_eq!(IdNumber::parse(&bad, today()), Err(IdError::BadDate));
        assert_eq!(
            IdNumber::parse_organisation("811218-9876", today()),
            Err(IdError::NotOrganisation)
        );
        assert_eq!(
            IdNumber::parse("195560360793", today()),
            Err(IdError::BadPrefix)
        );
    }
}
