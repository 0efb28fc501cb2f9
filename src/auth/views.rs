//! The pages' askama structs and their display helpers.

use super::service::DemoAccount;
use crate::web::prelude::*;
use askama::Template;

#[derive(Template)]
#[template(path = "auth/login.html")]
pub(super) struct LoginPage {
    pub(super) layout: Layout,
    pub(super) email: String,
    pub(super) next: String,
    pub(super) error: Option<String>,
    pub(super) demo_accounts: Vec<DemoAccount>,
}

#[derive(Template)]
#[template(path = "auth/totp.html")]
pub(super) struct TotpPage {
    pub(super) layout: Layout,
    pub(super) error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/account.html")]
pub(super) struct AccountPage {
    pub(super) layout: Layout,
    pub(super) email: String,
    pub(super) role: &'static str,
    pub(super) totp_enabled: bool,
    pub(super) staff: bool,
}

#[derive(Template)]
#[template(path = "auth/totp_enroll.html")]
pub(super) struct EnrollPage {
    pub(super) layout: Layout,
    pub(super) qr_svg: String,
    pub(super) secret: String,
    pub(super) error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
pub(super) struct ForgotPage {
    pub(super) layout: Layout,
    pub(super) email: String,
    pub(super) error: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
pub(super) struct ResetPage {
    pub(super) layout: Layout,
    pub(super) token: String,
    pub(super) valid: bool,
    pub(super) errors: FieldErrors,
}
