//! Payment plans (amorteringsplan). The debtor proposes 2–12 monthly instalments on Mina sidor.
//! Within the creditor's policy (maximum months, minimum instalment, auto-approve up to an
//! amount) the plan starts at once; otherwise the creditor decides on its claim page. A started
//! plan is a letter with the schedule and one OCR per instalment, the 170 kr fee for a consumer
//! (A6; none for a business debtor, whose 450 kr covers it), and pauses escalation. The engine
//! checks kept instalments every pass: one more than `plan_break_days_late` days late breaks the
//! plan with a letter, and the lifecycle resumes.

mod routes;
pub mod service;
mod views;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::money::Sek;
pub use crate::domain::plan::{Policy, due_dates, is_broken, within_policy};
pub use routes::router;
pub use service::{CheckReport, check, end_live_plan, latest, policy, schedule};

#[derive(FromRow, Clone)]
pub struct PlanRow {
    pub plan_id: Uuid,
    pub months: i32,
    pub total: Decimal,
    pub fee: Decimal,
    pub status: String,
    pub proposed_at: chrono::DateTime<Utc>,
    pub decision_note: Option<String>,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub letter_id: Option<Uuid>,
}

#[derive(FromRow, Clone)]
pub struct InstalmentRow {
    pub seq: i32,
    pub due_date: NaiveDate,
    pub amount: Decimal,
    pub ocr: String,
}

#[derive(Clone)]
pub struct PlanView {
    pub plan: PlanRow,
    pub instalments: Vec<InstalmentRow>,
}

impl PlanView {
    pub fn live(&self) -> bool {
        matches!(self.plan.status.as_str(), "proposed" | "active")
    }

    pub fn status_label(&self) -> &'static str {
        match self.plan.status.as_str() {
            "proposed" => "Förslaget väntar på borgenärens beslut",
            "active" => "Pågår",
            "rejected" => "Avslagen",
            "withdrawn" => "Förslaget återkallades",
            "broken" => "Bruten: en delbetalning kom inte in i tid",
            _ => "Fullgjord",
        }
    }

    pub fn total(&self) -> Sek {
        Sek::from_decimal(self.plan.total)
    }

    /// The first instalment that `paid` (payments since the plan started, applied to the
    /// instalments in order) has not covered, with its number (from 1).
    pub fn next_instalment(&self, paid: Sek) -> Option<(usize, &InstalmentRow)> {
        let mut cumulative = Sek::ZERO;
        self.instalments.iter().enumerate().find_map(|(i, inst)| {
            cumulative += Sek::from_decimal(inst.amount);
            (cumulative > paid).then_some((i + 1, inst))
        })
    }

    /// How much of instalment number `n` (from 1) `paid` already covers.
    pub fn covered_of(&self, n: usize, paid: Sek) -> Sek {
        let before: Sek = self
            .instalments
            .iter()
            .take(n.saturating_sub(1))
            .map(|i| Sek::from_decimal(i.amount))
            .sum();
        (paid - before).max(Sek::ZERO)
    }
}
