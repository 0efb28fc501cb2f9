//! The pages' askama structs and their display helpers.

use super::service::{PlanForm, Preview};
use crate::{auth::Ctx, claims::ClaimRecord, domain::money::Sek, web::prelude::*};
use askama::Template;

#[derive(Template)]
#[template(path = "debtors/plan.html")]
pub(super) struct FormPage {
    pub(super) layout: Layout,
    pub(super) c: ClaimRecord,
    pub(super) options: Vec<(u32, Sek)>,
    pub(super) fee: Sek,
    pub(super) months: String,
    pub(super) errors: FieldErrors,
    pub(super) blocked: Option<&'static str>,
    /// The exact plan for the chosen months, shown before the debtor confirms it.
    pub(super) preview: Option<Preview>,
}

impl FormPage {
    pub(super) fn new(ctx: &Ctx, f: PlanForm, months: String) -> FormPage {
        FormPage {
            layout: ctx.layout(),
            c: f.c,
            options: f.options,
            fee: f.fee,
            months,
            errors: f.errors,
            blocked: f.blocked,
            preview: f.preview,
        }
    }
}

#[derive(Template)]
#[template(path = "debtors/policy.html")]
pub(super) struct PolicyPage {
    pub(super) layout: Layout,
    pub(super) max_months: String,
    pub(super) min_instalment: String,
    pub(super) auto_approve_up_to: String,
    pub(super) errors: FieldErrors,
}
