//! Askama filters for sv-SE presentation. Templates reach them as `filters::name`.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::{clock, domain::money::Sek};

/// Anything a template holds that is an amount of money.
pub trait Money {
    fn sek(&self) -> Sek;
}

impl Money for Decimal {
    fn sek(&self) -> Sek {
        Sek::from_decimal(*self)
    }
}

impl Money for Sek {
    fn sek(&self) -> Sek {
        *self
    }
}

impl<T: Money> Money for &T {
    fn sek(&self) -> Sek {
        (*self).sek()
    }
}

/// `1 234,50 kr`
pub fn money(value: impl Money, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(value.sek().to_string())
}

/// Anything a template holds that is a date, however many references deep.
pub trait AsDate {
    fn as_date(&self) -> NaiveDate;
}

impl AsDate for NaiveDate {
    fn as_date(&self) -> NaiveDate {
        *self
    }
}

impl<T: AsDate> AsDate for &T {
    fn as_date(&self) -> NaiveDate {
        (*self).as_date()
    }
}

/// `2026-11-22`
pub fn date(value: impl AsDate, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(value.as_date().format("%Y-%m-%d").to_string())
}

/// `2026-11-22 14:05` in Stockholm time.
pub fn datetime(value: &DateTime<Utc>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(clock::stockholm_local(*value)
        .format("%Y-%m-%d %H:%M")
        .to_string())
}

/// Any displayable value with Swedish decimal comma, e.g. a rate `10.00` → `10,00`.
pub fn comma(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(comma_of(value))
}

/// `10.00` → `10,00`, outside templates.
pub fn comma_of(value: impl Display) -> String {
    value.to_string().replace('.', ",")
}

/// The Swedish genitive of a name: `Demo Bygg AB` → `Demo Bygg AB:s` (after an abbreviation or a
/// digit), `Lars` → `Lars` (after s, x or z), `Nya Snickarna` → `Nya Snickarnas`.
pub fn genitive(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(genitive_of(&value.to_string()))
}

pub fn genitive_of(name: &str) -> String {
    let name = name.trim_end();
    let last_word = name.rsplit(' ').next().unwrap_or(name);
    match name.chars().last() {
        None => String::new(),
        Some(c) if c.is_ascii_digit() => format!("{name}:s"),
        Some(_)
            if last_word.chars().count() > 1
                && last_word.chars().all(|c| c.is_uppercase() || c == '.') =>
        {
            format!("{name}:s")
        }
        Some('s' | 'x' | 'z' | 'S' | 'X' | 'Z') => name.to_string(),
        Some(_) => format!("{name}s"),
    }
}

/// A stored (12-digit) identity number as people write it: `556036-0793`, `19811218-9876`.
pub fn idnr(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::domain::ids::IdNumber::from_stored(&value.to_string()).display())
}

/// `1 fordran`, `2 fordringar`: the count with the singular or the plural.
pub fn count_of(n: impl Display, singular: &str, plural: &str) -> String {
    let n = n.to_string();
    let word = if n == "1" { singular } else { plural };
    format!("{n} {word}")
}

/// Whether two displayable values read the same (a select option against the chosen value).
pub fn same(a: impl Display, b: impl Display) -> bool {
    a.to_string() == b.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swedish_genitive_and_plurals() {
        assert_eq!(genitive_of("Demo Bygg AB"), "Demo Bygg AB:s");
        assert_eq!(genitive_of("IKEA"), "IKEA:s");
        assert_eq!(genitive_of("Lars"), "Lars");
        assert_eq!(genitive_of("Fordra inkasso"), "Fordra inkassos");
        assert_eq!(genitive_of("Nya Snickarna"), "Nya Snickarnas");
        assert_eq!(genitive_of("Bolaget 24"), "Bolaget 24:s");
        assert_eq!(genitive_of("Åsa"), "Åsas");
        assert_eq!(count_of(1, "fordran", "fordringar"), "1 fordran");
        assert_eq!(count_of(0, "fordran", "fordringar"), "0 fordringar");
        assert_eq!(count_of(2, "fordran", "fordringar"), "2 fordringar");
    }
}
