//! Askama filters for sv-SE presentation. Templates reach them as `filters::name`.

use std::fmt::Display;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::{clock, domain::money::Sek};

/// `1 234,50 kr`
pub fn money(value: &Decimal, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(Sek::from_decimal(*value).to_string())
}

/// `2026-11-22`
pub fn date(value: &NaiveDate, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(value.format("%Y-%m-%d").to_string())
}

/// `2026-11-22 14:05` in Stockholm time.
pub fn datetime(value: &DateTime<Utc>, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(clock::stockholm_local(*value)
        .format("%Y-%m-%d %H:%M")
        .to_string())
}

/// Any displayable value with Swedish decimal comma, e.g. a rate `10.00` → `10,00`.
pub fn comma(value: impl Display, _: &dyn askama::Values) -> askama::Result<String> {
    Ok(value.to_string().replace('.', ","))
}
