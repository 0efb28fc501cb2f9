//! The pages' askama structs and their display helpers.

use askama::Template;

use super::{EventRow, LetterRow, Planned, service};
use crate::{
    claims::ClaimRecord,
    domain::{
        interest::Segment,
        statement::{FeeLine, Statement},
    },
    web::prelude::*,
};

#[derive(Template)]
#[template(path = "claim_page/show.html")]
pub(crate) struct ClaimPage {
    pub(crate) layout: Layout,
    /// "Registrerad av partner X" when a partner registered the claim for the creditor.
    pub(crate) registered_by_partner: Option<String>,
    pub(crate) c: ClaimRecord,
    pub(crate) s: Statement,
    pub(crate) fees: Vec<FeeLine>,
    pub(crate) segments: Vec<Segment>,
    pub(crate) letters: Vec<LetterRow>,
    pub(crate) events: Vec<EventRow>,
    pub(crate) planned: Vec<Planned>,
    pub(crate) blocked: Option<&'static str>,
    pub(crate) books: crate::domain::books::ClaimBooks,
    pub(crate) bankgiro: String,
    pub(crate) staff: bool,
    pub(crate) base: &'static str,
    pub(crate) dispute: Option<crate::disputes::DisputeView>,
    pub(crate) plan: Option<crate::plans::PlanView>,
    /// Address changes the debtor asked for, waiting for staff (staff view only).
    pub(crate) address_changes: Vec<service::AddressChange>,
    pub(crate) errors: FieldErrors,
    pub(crate) action: String,
    pub(crate) amount: String,
    pub(crate) on_date: String,
    pub(crate) note: String,
}

impl ClaimPage {
    pub(crate) fn is_open(&self) -> bool {
        !self.c.state().is_terminal()
    }

    /// The creditor and staff see the amounts of a closed claim too.
    pub(crate) fn closed_message(&self) -> Option<&'static str> {
        None
    }

    pub(crate) fn flag_on(&self, flag: &str) -> bool {
        match flag {
            "deceased" => self.c.deceased,
            "returned_mail" => self.c.returned_mail,
            "on_hold" => self.c.on_hold,
            _ => false,
        }
    }
}
