//! Swedish kronor: a `Decimal` with two decimals. Rounding (half-up, away from zero at the
//! midpoint) happens here and nowhere else.

use std::{fmt, iter::Sum, ops};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sek(Decimal);

/// Always two decimals with a dot (`"2500.00"`, `"0.00"`), as the API and files write money.
impl Serialize for Sek {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_plain())
    }
}

impl<'de> Deserialize<'de> for Sek {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Sek, D::Error> {
        <Decimal as Deserialize>::deserialize(d).map(Sek::from_decimal)
    }
}

/// Rounds to öre, half-up. The one rounding rule for money.
pub fn round_ore(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

impl Sek {
    pub const ZERO: Sek = Sek(Decimal::ZERO);

    /// From any decimal, rounded to öre.
    pub fn from_decimal(d: Decimal) -> Sek {
        let mut r = round_ore(d);
        r.rescale(2);
        Sek(r)
    }

    /// Whole kronor and öre, e.g. `Sek::new(229, 4)` = 229,04 kr.
    pub fn new(kronor: i64, ore: i64) -> Sek {
        Sek::from_decimal(Decimal::new(kronor * 100 + ore.signum() * ore.abs(), 2))
    }

    pub fn kronor(kronor: i64) -> Sek {
        Sek::from_decimal(Decimal::from(kronor))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }

    pub fn min(self, other: Sek) -> Sek {
        if self <= other { self } else { other }
    }

    pub fn max(self, other: Sek) -> Sek {
        if self >= other { self } else { other }
    }

    /// Amount as API and files write it: dot decimal, two decimals (`2500.00`).
    pub fn to_plain(self) -> String {
        format!("{:.2}", self.0)
    }

    /// Parses what people type: `1234,50`, `1 234,50`, `1234.50`, `1 234,50 kr`, `1.234,50`.
    pub fn parse(input: &str) -> Result<Sek, MoneyError> {
        let mut s: String =
            input.trim().chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        for suffix in ["kr", "SEK", "sek", ":-"] {
            if let Some(stripped) = s.strip_suffix(suffix) {
                s = stripped.to_string();
            }
        }
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, s),
        };
        let last_sep = digits.rfind([',', '.']);
        let (int_part, frac_part) = match last_sep {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits.as_str(), ""),
        };
        // Separators before the decimal one are thousands separators: only in groups of three.
        let groups: Vec<&str> = int_part.split(['.', ',']).collect();
        let grouped_ok = groups.len() == 1
            || (groups[0].len() <= 3
                && !groups[0].is_empty()
                && groups[1..].iter().all(|g| g.len() == 3));
        let all_digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        if int_part.is_empty() && frac_part.is_empty()
            || !groups.iter().all(|g| all_digits(g))
            || !all_digits(frac_part)
            || !grouped_ok
            || (last_sep.is_some() && frac_part.is_empty())
        {
            return Err(MoneyError::Invalid);
        }
        if frac_part.len() > 2 {
            // "1.234" with a dot is ambiguous; "1,234" has three decimals: both refused.
            return Err(MoneyError::TooManyDecimals);
        }
        let int_digits: String = groups.concat();
        let text = format!(
            "{}{}.{}",
            if negative { "-" } else { "" },
            if int_digits.is_empty() { "0" } else { &int_digits },
            if frac_part.is_empty() { "0" } else { frac_part }
        );
        let d: Decimal = text.parse().map_err(|_| MoneyError::Invalid)?;
        if d.abs() >= Decimal::new(1_000_000_000_000, 0) {
            return Err(MoneyError::TooLarge);
        }
        Ok(Sek::from_decimal(d))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Ange ett belopp.")]
    Empty,
    #[error("Ange beloppet med siffror, till exempel 1 234,50.")]
    Invalid,
    #[error("Beloppet får ha högst två decimaler.")]
    TooManyDecimals,
    #[error("Beloppet är för stort.")]
    TooLarge,
}

impl fmt::Display for Sek {
    /// sv-SE: `1 234,50 kr`, `-60,00 kr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.to_plain();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
        let mut grouped = String::new();
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                grouped.push(' ');
            }
            grouped.push(c);
        }
        write!(f, "{sign}{grouped},{frac} kr")
    }
}

impl ops::Add for Sek {
    type Output = Sek;
    fn add(self, o: Sek) -> Sek {
        Sek(self.0 + o.0)
    }
}

impl ops::Sub for Sek {
    type Output = Sek;
    fn sub(self, o: Sek) -> Sek {
        Sek(self.0 - o.0)
    }
}

impl ops::AddAssign for Sek {
    fn add_assign(&mut self, o: Sek) {
        self.0 += o.0;
    }
}

impl ops::SubAssign for Sek {
    fn sub_assign(&mut self, o: Sek) {
        self.0 -= o.0;
    }
}

impl ops::Neg for Sek {
    type Output = Sek;
    fn neg(self) -> Sek {
        Sek(-self.0)
    }
}

impl Sum for Sek {
    fn sum<I: Iterator<Item = Sek>>(iter: I) -> Sek {
        iter.fold(Sek::ZERO, |a, b| a + b)
    }
}

impl From<Sek> for Decimal {
    fn from(s: Sek) -> Decimal {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sv_se() {
        assert_eq!(Sek::new(1234, 50).to_string(), "1 234,50 kr");
        assert_eq!(Sek::new(229, 4).to_string(), "229,04 kr");
        assert_eq!(Sek::kronor(10_469).to_string(), "10 469,00 kr");
        assert_eq!(Sek::kronor(1_000_000).to_string(), "1 000 000,00 kr");
        assert_eq!((-Sek::kronor(60)).to_string(), "-60,00 kr");
        assert_eq!(Sek::ZERO.to_string(), "0,00 kr");
        assert_eq!(Sek::new(2500, 0).to_plain(), "2500.00");
        assert_eq!(serde_json::to_string(&Sek::ZERO).unwrap(), "\"0.00\"");
        assert_eq!(serde_json::from_str::<Sek>("\"60.00\"").unwrap(), Sek::kronor(60));
        assert_eq!(serde_json::to_string(&Sek::ZERO).unwrap(), "\"0.00\"");
        assert_eq!(serde_json::from_str::<Sek>("\"60.00\"").unwrap(), Sek::kronor(60));
    }

    #[test]
    fn parses_what_people_type() {
        for (input, want) in [
            ("1234,50", Sek::new(1234, 50)),
            ("1 234,50", Sek::new(1234, 50)),
            ("1234.50", Sek::new(1234, 50)),
            ("1 234,50 kr", Sek::new(1234, 50)),
            ("1\u{a0}234,5", Sek::new(1234, 50)),
            ("1.234,50", Sek::new(1234, 50)),
            ("1,234.50", Sek::new(1234, 50)),
            ("10000", Sek::kronor(10_000)),
            ("0,05", Sek::new(0, 5)),
            ("-60", -Sek::kronor(60)),
        ] {
            assert_eq!(Sek::parse(input), Ok(want), "{input}");
        }
        assert_eq!(Sek::parse(""), Err(MoneyError::Empty));
        assert_eq!(Sek::parse("12a"), Err(MoneyError::Invalid));
        assert_eq!(Sek::parse("1,234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Sek::parse("1,2,3"), Err(MoneyError::Invalid));
        assert_eq!(Sek::parse("12,"), Err(MoneyError::Invalid));
        assert_eq!(Sek::parse("1 23,4,5"), Err(MoneyError::Invalid));
    }

    #[test]
    fn rounds_half_up_once() {
        assert_eq!(round_ore(Decimal::new(2290411, 4)), Decimal::new(22904, 2));
        assert_eq!(round_ore(Decimal::new(1005, 3)), Decimal::new(101, 2));
        assert_eq!(round_ore(Decimal::new(-1005, 3)), Decimal::new(-101, 2));
        assert_eq!(Sek::from_decimal(Decimal::new(12345, 3)).amount(), Decimal::new(1235, 2));
    }
}
