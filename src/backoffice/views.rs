//! The pages' askama structs and their display helpers.

use askama::Template;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::service;
use crate::{mail::StoredMail, web::prelude::*};

#[derive(Template)]
#[template(path = "backoffice/home.html")]
pub(crate) struct HomePage {
    pub(crate) layout: Layout,
    pub(crate) creditors_pending: i64,
    pub(crate) creditors_approved: i64,
    pub(crate) users: i64,
    pub(crate) todo: Vec<service::Todo>,
    /// The half-year whose reference rate must be entered now (a red alert), if any.
    pub(crate) missing_rate: Option<chrono::NaiveDate>,
    pub(crate) d: service::Dashboard,
    /// Whether the freshness gate lets escalations out today (`None` when it is off).
    pub(crate) gate_open: Option<bool>,
    /// SVG charts: claims per state, collection rate per step, first response per week.
    pub(crate) charts: [String; 3],
}

impl HomePage {
    pub(crate) fn state_label(&self, s: &str) -> &'static str {
        crate::domain::lifecycle::ClaimState::parse(s).map(|s| s.label()).unwrap_or("")
    }

    pub(crate) fn step_label(&self, kind: &str) -> &'static str {
        step_label(kind)
    }
}

/// A collection step as the dashboard names it.
pub(crate) fn step_label(kind: &str) -> &'static str {
    match kind {
        "reminder" => "Efter påminnelse",
        "collection" => "Efter inkassokrav",
        _ => "Efter slutkrav",
    }
}

/// The share `part` of `whole` in whole percent (0 when there is nothing to share).
pub(crate) fn percent(part: &i64, whole: &i64) -> Decimal {
    if *whole == 0 {
        Decimal::ZERO
    } else {
        (Decimal::from(*part) * Decimal::from(100) / Decimal::from(*whole)).round()
    }
}

#[derive(Template)]
#[template(path = "backoffice/mail_list.html")]
pub(crate) struct MailListPage {
    pub(crate) layout: Layout,
    pub(crate) file_mailer: bool,
    pub(crate) mails: Vec<StoredMail>,
}

#[derive(Template)]
#[template(path = "backoffice/mail_show.html")]
pub(crate) struct MailPage {
    pub(crate) layout: Layout,
    pub(crate) mail: StoredMail,
}

#[derive(Template)]
#[template(path = "backoffice/rates.html")]
pub(crate) struct RatesPage {
    pub(crate) layout: Layout,
    pub(crate) rows: Vec<service::RateRow>,
    pub(crate) margin: Decimal,
    pub(crate) missing: Option<NaiveDate>,
    /// Half-years that may be entered now (the current and the coming one, and corrections).
    pub(crate) choices: Vec<NaiveDate>,
    pub(crate) form: RateForm,
    pub(crate) errors: FieldErrors,
    pub(crate) can_edit: bool,
}

#[derive(Default, Deserialize)]
#[serde(default)]
pub(crate) struct RateForm {
    pub(crate) from: String,
    pub(crate) rate: String,
    pub(crate) decided_on: String,
    pub(crate) source: String,
}
