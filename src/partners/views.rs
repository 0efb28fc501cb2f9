//! The pages' askama structs and their display helpers.

use crate::web::prelude::*;
use askama::Template;

#[derive(Template)]
#[template(path = "partners/home.html")]
pub(super) struct PartnerHome {
    pub(super) layout: Layout,
    pub(super) p: super::repo::Overview,
    /// The last day of the agreement period running today (approved partners).
    pub(super) period_end: Option<chrono::NaiveDate>,
    /// The referral link to give companies.
    pub(super) link: String,
}

#[derive(Template)]
#[template(path = "partners/customers.html")]
pub(super) struct CustomersPage {
    pub(super) layout: Layout,
    pub(super) customers: Vec<super::repo::CustomerRow>,
    pub(super) referrals: Vec<super::repo::ReferralRow>,
    pub(super) not_attributed: Vec<super::repo::NotAttributedRow>,
    pub(super) form: super::routes::ReferForm,
    pub(super) errors: FieldErrors,
    /// How long a referral counts (a rule parameter).
    pub(super) referral_days: u32,
}

pub(super) fn via_label(via: &str) -> &'static str {
    match via {
        "link" => "Er länk eller kod",
        "created" => "Skapad av er",
        "referral" => "Er hänvisning",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "partners/admin.html")]
pub(super) struct AdminPage {
    pub(super) layout: Layout,
    pub(super) partners: Vec<super::repo::PartnerRow>,
    pub(super) can_decide: bool,
    pub(super) errors: FieldErrors,
}

pub(super) fn status_label(status: &str) -> &'static str {
    match status {
        "pending" => "Väntar på beslut",
        "approved" => "Godkänd",
        "revoked" => "Avslutad",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "partners/school.html")]
pub(super) struct SchoolPage {
    pub(super) layout: Layout,
    pub(super) rules: crate::domain::rules::RuleSet,
    /// The reference rate of today's half-year, when published.
    pub(super) reference: Option<rust_decimal::Decimal>,
    pub(super) today: chrono::NaiveDate,
}
