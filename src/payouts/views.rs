//! The pages' askama structs and their display helpers.

use super::repo::{Batch, Note, PayoutRow, RefundOwed, SettlementRow};
use super::service as settlement;
use crate::{domain::money::Sek, web::prelude::*};
use askama::Template;
use chrono::NaiveDate;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "payouts/settlements.html")]
pub(super) struct SettlementsPage {
    pub(super) layout: Layout,
    pub(super) settlements: Vec<SettlementRow>,
    pub(super) open_payouts: Vec<PayoutRow>,
    pub(super) open_total: Sek,
    pub(super) batches: Vec<Batch>,
    pub(super) refunds: Vec<RefundOwed>,
    pub(super) refund_errors: Option<(Uuid, FieldErrors)>,
    pub(super) interval: u32,
    pub(super) dual_over: Sek,
    pub(super) is_admin: bool,
}

impl SettlementsPage {
    pub(super) fn errors_for(&self, claim: &Uuid) -> FieldErrors {
        match &self.refund_errors {
            Some((c, e)) if c == claim => e.clone(),
            _ => FieldErrors::default(),
        }
    }

    pub(super) fn state_label(&self, state: &str) -> &'static str {
        settlement::state_label(state)
    }
}

#[derive(Template)]
#[template(path = "payouts/batch.html")]
pub(super) struct BatchPage {
    pub(super) layout: Layout,
    pub(super) b: Batch,
    pub(super) payouts: Vec<PayoutRow>,
    pub(super) user_id: Uuid,
    pub(super) is_admin: bool,
}

impl BatchPage {
    pub(super) fn state_label(&self) -> &'static str {
        settlement::state_label(&self.b.state)
    }

    pub(super) fn may_approve(&self) -> bool {
        self.is_admin && self.b.state == "draft" && self.b.approved_by != Some(self.user_id)
    }
}

#[derive(Template)]
#[template(path = "payouts/note.html")]
pub(super) struct NotePage {
    pub(super) layout: Layout,
    pub(super) n: Note,
    pub(super) base: &'static str,
    pub(super) staff: bool,
}

#[derive(Template)]
#[template(path = "payouts/creditor_settlements.html")]
pub(super) struct CreditorSettlementsPage {
    pub(super) layout: Layout,
    pub(super) settlements: Vec<SettlementRow>,
    pub(super) to_settle: Sek,
    pub(super) account: Option<String>,
}

#[derive(Template)]
#[template(path = "payouts/account.html")]
pub(super) struct AccountPage {
    pub(super) layout: Layout,
    pub(super) current: Option<String>,
    pub(super) pending: Option<(String, NaiveDate)>,
    pub(super) delay: u32,
    /// Only the company's owner changes the payout account.
    pub(super) can_change: bool,
    pub(super) errors: FieldErrors,
    pub(super) kind: String,
    pub(super) bankgiro: String,
    pub(super) clearing: String,
    pub(super) account: String,
}

impl SettlementRow {
    pub(super) fn payout_label(&self) -> &'static str {
        match self.batch_state.as_deref() {
            None => "Väntar på utbetalningsuppdrag",
            Some(s) => settlement::state_label(s),
        }
    }
}
