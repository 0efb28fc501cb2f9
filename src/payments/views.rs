//! The pages' askama structs and their display helpers.

use askama::Template;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{ledger::Account, service};
use crate::{claims::ClaimRecord, domain::money::Sek, web::prelude::*};

#[derive(Template)]
#[template(path = "payments/overview.html")]
pub(crate) struct OverviewPage {
    pub(crate) layout: Layout,
    pub(crate) files: Vec<service::FileRow>,
    pub(crate) upload_error: Option<String>,
    pub(crate) gate_enabled: bool,
    pub(crate) previous_bank_day: NaiveDate,
    pub(crate) covered: Option<String>,
    pub(crate) unmatched_count: i64,
    pub(crate) unmatched_total: Decimal,
    pub(crate) balances: Vec<(String, Decimal)>,
    pub(crate) day_errors: FieldErrors,
    pub(crate) day: String,
    pub(crate) note: String,
    pub(crate) is_admin: bool,
    pub(crate) demo: bool,
}

impl OverviewPage {
    pub(crate) fn account_label(&self, name: &str) -> &'static str {
        Account::label(name)
    }
}

#[derive(Template)]
#[template(path = "payments/unmatched.html")]
pub(crate) struct UnmatchedPage {
    pub(crate) layout: Layout,
    pub(crate) q: String,
    pub(crate) rows: Vec<service::PaymentRow>,
    pub(crate) refund_after: NaiveDate,
    pub(crate) refund_days: u32,
}

#[derive(Template)]
#[template(path = "payments/payment.html")]
pub(crate) struct PaymentPage {
    pub(crate) layout: Layout,
    pub(crate) p: service::PaymentRow,
    pub(crate) claim_case: Option<i64>,
    pub(crate) q: String,
    pub(crate) candidates: Vec<ClaimRecord>,
    pub(crate) searched: bool,
    pub(crate) errors: FieldErrors,
    pub(crate) clearing: String,
    pub(crate) account: String,
    pub(crate) is_admin: bool,
}

#[derive(Template)]
#[template(path = "payments/simulator.html")]
pub(crate) struct SimulatorPage {
    pub(crate) layout: Layout,
    pub(crate) claims: Vec<(ClaimRecord, Sek)>,
    pub(crate) day: String,
    pub(crate) error: Option<String>,
}
