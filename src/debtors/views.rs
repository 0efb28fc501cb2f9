//! The pages' askama structs and their display helpers.

use askama::Template;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{CaseRow, PayNow, gdpr};
use crate::{
    auth::Ctx,
    claims::{self, ClaimRecord},
    domain::{
        books::ClaimBooks,
        interest::Segment,
        money::Sek,
        statement::{FeeLine, Statement},
    },
    state::AppState,
    web::prelude::*,
};

#[derive(Template)]
#[template(path = "debtors/home.html")]
pub(crate) struct HomePage {
    pub(crate) layout: Layout,
    pub(crate) name: String,
    pub(crate) open: Vec<CaseRow>,
    pub(crate) closed: Vec<CaseRow>,
    pub(crate) companies: Vec<(String, String)>,
    pub(crate) errors: FieldErrors,
    pub(crate) ocr: String,
    pub(crate) case_code: String,
}

#[derive(Template)]
#[template(path = "debtors/case.html")]
pub(crate) struct CasePage {
    pub(crate) layout: Layout,
    /// What to pay now: the debt, or a running plan's next instalment.
    pub(crate) pay: PayNow,
    pub(crate) c: ClaimRecord,
    pub(crate) s: Statement,
    pub(crate) fees: Vec<FeeLine>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) books: ClaimBooks,
    pub(crate) letters: Vec<claims::LetterSummary>,
    pub(crate) next: Option<(&'static str, NaiveDate)>,
    pub(crate) blocked: Option<&'static str>,
    pub(crate) bankgiro: String,
    pub(crate) qr_svg: String,
    pub(crate) qr_text: String,
    pub(crate) dispute: Option<crate::disputes::DisputeView>,
    pub(crate) plan: Option<crate::plans::PlanView>,
    pub(crate) refund_due: Sek,
    pub(crate) refund_account: Option<(String, String)>,
    pub(crate) errors: FieldErrors,
}

impl CasePage {
    pub(crate) fn is_open(&self) -> bool {
        !self.c.state().is_terminal()
    }

    /// A closed case asks for nothing: the debtor is told why it is closed instead.
    pub(crate) fn closed_message(&self) -> Option<&'static str> {
        claims::closed_message(self.c.state())
    }

    /// A claim is disputed once; after the answer and a decision there is nothing to re-open.
    pub(crate) fn can_dispute(&self) -> bool {
        self.is_open() && self.dispute.is_none()
    }

    pub(crate) fn can_plan(&self) -> bool {
        self.is_open()
            && !self.c.disputed
            && self.plan.as_ref().is_none_or(|p| !p.live())
            && self.s.balance.is_positive()
    }
}

#[derive(Template)]
#[template(path = "debtors/my_data.html")]
pub(crate) struct MyDataPage {
    pub(crate) layout: Layout,
    pub(crate) e: gdpr::Export,
}

impl MyDataPage {
    pub(crate) fn role_label(role: &str) -> &'static str {
        match role {
            "creditor" => "borgenär",
            "api" => "borgenärens system via API",
            "admin" => "Fordras administratör",
            "support" => "Fordras kundtjänst",
            _ => "partner",
        }
    }
}

#[derive(Template)]
#[template(path = "debtors/contact.html")]
pub(crate) struct ContactPage {
    pub(crate) layout: Layout,
    pub(crate) contact: ContactForm,
    pub(crate) address: AddressForm,
    pub(crate) current_address: Option<(String, String, String)>,
    pub(crate) pending: Option<(String, String, String, DateTime<Utc>)>,
    pub(crate) errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "debtors/messages.html")]
pub(crate) struct MessagesPage {
    pub(crate) layout: Layout,
    pub(crate) tickets: Vec<crate::tickets::Row>,
    pub(crate) cases: Vec<(Uuid, String)>,
    pub(crate) form: MessageForm,
    pub(crate) errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "debtors/login.html")]
pub(crate) struct LoginPage {
    pub(crate) layout: Layout,
    pub(crate) enabled: bool,
    pub(crate) simulator: bool,
    pub(crate) next: String,
    pub(crate) error: Option<&'static str>,
}

impl LoginPage {
    pub(crate) fn new(
        state: &AppState,
        ctx: &Ctx,
        next: String,
        error: Option<&'static str>,
    ) -> LoginPage {
        LoginPage {
            layout: ctx.layout(),
            enabled: state.bankid.is_some(),
            simulator: state.bankid.as_ref().is_some_and(|b| b.sim.is_some()),
            next,
            error,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct ContactForm {
    pub(crate) email: String,
    pub(crate) phone: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AddressForm {
    pub(crate) street: String,
    pub(crate) postal_code: String,
    pub(crate) city: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct MessageForm {
    pub(crate) claim: String,
    pub(crate) subject: String,
    pub(crate) body: String,
}
