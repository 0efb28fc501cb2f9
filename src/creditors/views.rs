//! The pages' askama structs and their display helpers.

use super::{CreditorRow, Terms, UserRow, onboarding::SignupForm};
use crate::web::prelude::*;
use askama::Template;

#[derive(Template)]
#[template(path = "creditors/signup.html")]
pub(super) struct SignupPage {
    pub(super) layout: Layout,
    pub(super) form: SignupForm,
    pub(super) errors: FieldErrors,
    pub(super) terms: Terms,
    pub(super) industries: &'static [(&'static str, &'static str, bool)],
    pub(super) company_forms: [crate::domain::company::CompanyForm; 6],
}

#[derive(Template)]
#[template(path = "creditors/signup_sent.html")]
pub(super) struct SentPage {
    pub(super) layout: Layout,
    pub(super) email: String,
    pub(super) hours: i64,
}

#[derive(Template)]
#[template(path = "creditors/confirm.html")]
pub(super) struct ConfirmPage {
    pub(super) layout: Layout,
    pub(super) token: String,
    pub(super) valid: bool,
}

#[derive(Template)]
#[template(path = "creditors/terms.html")]
pub(super) struct TermsPage {
    pub(super) layout: Layout,
    pub(super) terms: Terms,
}

#[derive(Template)]
#[template(path = "creditors/users.html")]
pub(super) struct UsersPage {
    pub(super) layout: Layout,
    pub(super) users: Vec<UserRow>,
    pub(super) invite_name: String,
    pub(super) invite_email: String,
    pub(super) is_owner: bool,
    pub(super) me: uuid::Uuid,
    pub(super) errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "backoffice/creditors.html")]
pub(super) struct AdminListPage {
    pub(super) layout: Layout,
    pub(super) creditors: Vec<CreditorRow>,
}

#[derive(Template)]
#[template(path = "backoffice/creditor.html")]
pub(super) struct AdminShowPage {
    pub(super) layout: Layout,
    pub(super) c: CreditorRow,
    pub(super) reason: String,
    pub(super) errors: FieldErrors,
    pub(super) can_decide: bool,
}

#[derive(Template)]
#[template(path = "creditors/home.html")]
pub(super) struct CreditorHome {
    pub(super) layout: Layout,
    pub(super) company: String,
    pub(super) org_nr: String,
    pub(super) status: String,
    pub(super) open: i64,
    pub(super) open_capital: rust_decimal::Decimal,
    pub(super) blocked: i64,
    /// The partner the creditor is a customer of: (name, number, since).
    pub(super) partner: Option<(String, String, chrono::NaiveDate)>,
    /// The terms to accept, when the creditor has not (a customer a partner created).
    pub(super) terms: Option<crate::terms::Terms>,
}
