//! Per-field validation messages for re-rendered forms, and the parsing of typed dates.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// A date as typed in a form or a query: exactly `ÅÅÅÅ-MM-DD`, surrounding spaces ignored.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    crate::domain::calendar::parse_iso_date(s.trim())
}

/// The message for a date that is not `ÅÅÅÅ-MM-DD`.
pub const DATE_FORMAT: &str = "Ange datumet som ÅÅÅÅ-MM-DD, till exempel 2026-02-09.";

#[derive(Debug, Default, Clone)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// The status of a form page showing these errors: 422 when there are any, else 200.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.0.is_empty() {
            axum::http::StatusCode::OK
        } else {
            axum::http::StatusCode::UNPROCESSABLE_ENTITY
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.entry(field.to_string()).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// The first message, for a flash when the form is not shown again.
    pub fn first_message(&self) -> Option<&str> {
        self.iter().next().map(|(_, m)| m)
    }

    /// `Ok(value)` when no field has an error, else these errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(value) } else { Err(self) }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
