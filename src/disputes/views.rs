//! The pages' askama structs and their display helpers.

use super::REASONS;
use crate::{claims::ClaimRecord, web::prelude::*};
use askama::Template;

#[derive(Template)]
#[template(path = "debtors/dispute.html")]
pub(super) struct FormPage {
    pub(super) layout: Layout,
    pub(super) c: ClaimRecord,
    pub(super) errors: FieldErrors,
    pub(super) reason: String,
    pub(super) body: String,
}

impl FormPage {
    pub(super) fn reasons(&self) -> &'static [(&'static str, &'static str)] {
        REASONS
    }
}
