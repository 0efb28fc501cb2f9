//! Creditors: self-service sign-up with kundbedömning, the versioned terms, colleagues invited
//! by a creditor user, the staff decision (approve / reject) on a new creditor, and the
//! creditor's home page.

pub mod inactivity;
pub mod onboarding;
mod routes;
pub mod service;
mod views;

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

pub use crate::terms::{Terms, current as current_terms};
pub use routes::router;

#[derive(FromRow)]
pub struct UserRow {
    user_id: uuid::Uuid,
    creditor_owner: bool,
    display_name: String,
    email: String,
    created_at: DateTime<Utc>,
    has_logged_in: bool,
}

#[derive(FromRow)]
pub struct CreditorRow {
    creditor_id: Uuid,
    org_nr: String,
    company_form: String,
    name: String,
    status: String,
    address_street: String,
    address_postal: String,
    address_city: String,
    industry: String,
    contact_name: String,
    contact_email: String,
    payout_bankgiro: Option<String>,
    payout_clearing: Option<String>,
    payout_account: Option<String>,
    terms_version: Option<String>,
    terms_accepted_at: Option<DateTime<Utc>>,
    terms_accepted_ip: Option<String>,
    referral_code: Option<String>,
    rejected_reason: Option<String>,
    created_at: DateTime<Utc>,
    claims: i64,
}

impl CreditorRow {
    fn org_display(&self) -> String {
        crate::domain::ids::IdNumber::from_stored(&self.org_nr).display()
    }

    fn company_form_label(&self) -> &'static str {
        crate::domain::company::CompanyForm::parse(&self.company_form).map_or("", |f| f.label())
    }

    fn industry_label(&self) -> &str {
        onboarding::industry_label(&self.industry)
    }

    fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
}

pub use crate::domain::company::status_label;
