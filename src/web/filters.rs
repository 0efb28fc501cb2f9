//! Askama filters for sv-SE presentation. Templates reach them as `filters::name`.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::{
    clock,
    domain::{money::Sek, text},
};

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
    Ok(clock::stockholm_local(*value).format("%Y-%m-%d %H:%M").to_string())
}

/// Any displayable value with Swedish decimal comma, e.g. a rate `10.00` → `10,00`.
pub fn comma(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(comma_of(value))
}

/// `10.00` → `10,00`, outside templates.
/// A whole number with its thousands apart, as Swedish writes it: `1 200`.
pub fn num(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    let text = value.to_string();
    Ok(text.parse::<i64>().map_or(text, grouped))
}

pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if n < 0 { format!("−{out}") } else { out }
}

pub fn comma_of(value: impl Display) -> String {
    value.to_string().replace('.', ",")
}

/// The Swedish genitive of a name: `Demo Bygg AB` → `Demo Bygg AB:s` (after an abbreviation or a
/// digit), `Lars` → `Lars` (after s, x or z), `Nya Snickarna` → `Nya Snickarnas`.
pub fn genitive(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(text::genitive_of(&value.to_string()))
}

/// A stored (12-digit) identity number as people write it: `556036-0793`, `19811218-9876`.
pub fn idnr(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(crate::domain::ids::IdNumber::from_stored(&value.to_string()).display())
}

/// Whether two displayable values read the same (a select option against the chosen value).
pub fn same(a: impl Display, b: impl Display) -> bool {
    a.to_string() == b.to_string()
}
