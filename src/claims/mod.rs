//! Claims: registration, storage, and the view of a claim as of a business date.

pub mod csv;
pub mod import;
pub mod input;
pub mod jobs;
pub mod letters;
pub mod repo;
pub mod service;
mod views;
pub mod web;

pub use repo::*;
pub(crate) use views::NewPage;

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    domain::{
        fees::{Capacity, LetterKind},
        ids::IdNumber,
        interest::Terms,
        lifecycle::{self, ClaimSnapshot, ClaimState, LastLetter, StartWith, Step},
        money::Sek,
        statement::{FeeCharge, Movement, Statement, StatementInput, statement},
    },
    parameters::Parameters,
};

/// Who opens a claim's page or file, by the part of the site they came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// The debtor on Mina sidor: their own cases, and those of companies they represent.
    Debtor,
    /// A creditor user: the creditor's own claims.
    Creditor,
    /// Staff: any claim.
    Staff,
}

impl Reader {
    pub const ALL: [Reader; 3] = [Reader::Debtor, Reader::Creditor, Reader::Staff];

    /// Where this reader's claim pages live.
    pub fn base(self) -> &'static str {
        match self {
            Reader::Debtor => "/mina-sidor/arenden",
            Reader::Creditor => "/borgenar/krav",
            Reader::Staff => "/admin/krav",
        }
    }
}

/// Someone acting on one claim: which claim, whose claims they may act on (a creditor's own,
/// or any when `None`, for staff), through which part of the site, and who acts when.
pub struct OnClaim<'a> {
    pub claim_id: Uuid,
    pub creditor: Option<Uuid>,
    pub reader: Reader,
    pub by: crate::auth::Acting<'a>,
}

impl OnClaim<'_> {
    /// The claim's page, to go back to after the action.
    pub fn back(&self) -> String {
        format!("{}/{}", self.reader.base(), self.claim_id)
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct ClaimRecord {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub ocr: String,
    pub case_code: String,
    pub creditor_id: Uuid,
    pub creditor_name: String,
    pub creditor_org_nr: String,
    pub creditor_status: String,
    pub invoice_number: String,
    pub description: String,
    pub capital: Decimal,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub claim_arose_date: NaiveDate,
    pub reminder_fee_agreed: bool,
    pub start_with: String,
    pub debtor_kind: String,
    pub debtor_id_number: String,
    pub debtor_name: String,
    pub debtor_capacity: String,
    pub debtor_street: String,
    pub debtor_postal_code: String,
    pub debtor_city: String,
    pub debtor_email: Option<String>,
    pub debtor_phone: Option<String>,
    pub state: String,
    pub disputed: bool,
    pub paused: bool,
    pub on_hold: bool,
    pub deceased: bool,
    pub returned_mail: bool,
    pub payment_plan_active: bool,
    pub address_verified_at: Option<DateTime<Utc>>,
    pub next_action_on: Option<NaiveDate>,
    pub registered_at: DateTime<Utc>,
}

macro_rules! claim_columns {
    () => {
        "select c.claim_id, c.case_number, c.ocr, c.case_code, c.creditor_id,
        cr.name as creditor_name, cr.org_nr as creditor_org_nr, cr.status as creditor_status,
        c.invoice_number, c.description, c.capital, c.invoice_date, c.due_date, c.claim_arose_date,
        c.reminder_fee_agreed, c.start_with, c.debtor_kind, c.debtor_id_number, c.debtor_name,
        c.debtor_capacity, c.debtor_street, c.debtor_postal_code, c.debtor_city, c.debtor_email,
        c.debtor_phone, c.state, c.disputed, c.paused, c.on_hold, c.deceased, c.returned_mail,
        c.payment_plan_active, c.address_verified_at, c.next_action_on, c.registered_at"
    };
}

/// The columns of a [`ClaimRecord`] from `claim c` joined to its creditor `cr`, as a literal
/// that `concat!` can extend with a `where` clause (a statement built at compile time).
macro_rules! claim_select {
    () => {
        concat!(
            $crate::claims::claim_columns!(),
            " from claim c join creditor cr using (creditor_id)"
        )
    };
}
pub(crate) use {claim_columns, claim_select};

pub(crate) const SELECT_COLUMNS: &str = claim_columns!();
pub(crate) const FROM: &str = "from claim c join creditor cr using (creditor_id)";

/// The columns of a [`ClaimRecord`], from `claim c` joined to its creditor `cr`.
pub const SELECT: &str = claim_select!();

impl ClaimRecord {
    pub fn state(&self) -> ClaimState {
        ClaimState::parse(&self.state).unwrap_or(ClaimState::Registered)
    }

    pub fn capacity(&self) -> Capacity {
        if self.debtor_capacity == "business" { Capacity::Business } else { Capacity::Consumer }
    }

    pub fn debtor_id(&self) -> IdNumber {
        IdNumber::from_stored(&self.debtor_id_number)
    }

    pub fn snapshot(&self, last_letter: Option<LastLetter>) -> ClaimSnapshot {
        ClaimSnapshot {
            state: self.state(),
            start_with: if self.start_with == "collection" {
                StartWith::Collection
            } else {
                StartWith::Reminder
            },
            due_date: self.due_date,
            creditor_approved: self.creditor_status == "approved",
            disputed: self.disputed,
            paused: self.paused,
            on_hold: self.on_hold,
            deceased: self.deceased,
            returned_mail: self.returned_mail,
            payment_plan_active: self.payment_plan_active,
            debtor_birth_date: self.debtor_id().latest_birth_date(),
            claim_arose_date: self.claim_arose_date,
            last_letter,
        }
    }
}

/// A claim marked paid that owes again (a payment was taken off it) goes back to the state of
/// its last letter, due again on that letter's deadline (or today, if it has passed); without a
/// letter it is registered and due today. Claims in any other state are left alone.
pub async fn reopen_if_owing(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    params: &Parameters,
    today: NaiveDate,
) -> Result<bool> {
    if rec.state() != ClaimState::Paid {
        return Ok(false);
    }
    let ids = [rec.claim_id];
    let fees = fees_of(conn, &ids).await?;
    let moves = movements_of(conn, &ids).await?;
    let s = compute_statement(
        rec,
        fees.get(&rec.claim_id).map_or(&[], Vec::as_slice),
        moves.get(&rec.claim_id).map_or(&[], Vec::as_slice),
        params,
        today,
    )?;
    if s.balance.is_zero() {
        return Ok(false);
    }
    let last = sqlx::query!(
        "select kind, deadline from letter where claim_id = $1 and kind in ('reminder', 'collection', 'final_notice')
         order by created_on desc, case kind when 'final_notice' then 3 when 'collection' then 2 else 1 end desc limit 1",
        rec.claim_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let (state, due) = match last {
        Some(l) => (l.kind, l.deadline.map_or(today, |d| d.max(today))),
        None => ("registered".to_string(), today),
    };
    sqlx::query!(
        "update claim set state = $2, next_action_on = $3 where claim_id = $1 and state = 'paid'",
        rec.claim_id,
        state,
        due
    )
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// Withdraws a claim for its creditor (`by`). Debtors who got a letter are told by a notice
/// letter (no amounts, nothing to pay). Refused when the claim is closed meanwhile.
pub async fn withdraw(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    identity: &crate::config::Identity,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), StateError> {
    change_state(conn, rec.claim_id, &NOT_CLOSED, ClaimState::Withdrawn).await?;
    let letters_sent: bool = sqlx::query_scalar(
        "select exists (select 1 from letter where claim_id = $1 and dispatched_on is not null)",
    )
    .bind(rec.claim_id)
    .fetch_one(&mut *conn)
    .await?;
    if letters_sent {
        let statement = Statement::closed(today);
        let snapshot =
            letters::build(LetterKind::Withdrawal, rec, &statement, today, today, today, identity);
        letters::queue(conn, rec, &snapshot, now).await?;
    }
    Ok(())
}

/// The claim's money as of `today`.
pub fn compute_statement(
    rec: &ClaimRecord,
    fees: &[FeeCharge],
    movements: &[Movement],
    params: &Parameters,
    today: NaiveDate,
) -> Result<Statement> {
    let rules = params.book.in_force(rec.due_date);
    let interest_from = lifecycle::first_action_date(rec.due_date);
    Ok(statement(&StatementInput {
        capital: Sek::from_decimal(rec.capital),
        interest_from,
        fees,
        movements,
        as_of: today,
        terms: Terms {
            rates: &params.rates,
            margin: rules.interest_margin,
            basis: rules.day_count,
        },
    })?)
}

/// Loads a claim's fees and capital reductions and computes its money as of `today`.
pub async fn load_statement(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    params: &Parameters,
    today: NaiveDate,
) -> Result<Statement> {
    let fees = fees(&mut *conn, rec.claim_id).await?;
    let moves = movements(&mut *conn, rec.claim_id).await?;
    compute_statement(rec, &fees, &moves, params, today)
}

/// [`load_statement`] for many claims in two queries (a debtor's case list), by claim id.
pub async fn load_statements(
    conn: &mut PgConnection,
    recs: &[ClaimRecord],
    params: &Parameters,
    today: NaiveDate,
) -> Result<HashMap<Uuid, Statement>> {
    let ids: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    let mut fees = fees_of(&mut *conn, &ids).await?;
    let mut moves = movements_of(&mut *conn, &ids).await?;
    recs.iter()
        .map(|rec| {
            let fees = fees.remove(&rec.claim_id).unwrap_or_default();
            let moves = moves.remove(&rec.claim_id).unwrap_or_default();
            Ok((rec.claim_id, compute_statement(rec, &fees, &moves, params, today)?))
        })
        .collect()
}

/// The next planned step and its date, or `None` when nothing is planned (blocked or done).
pub fn planned_step(
    rec: &ClaimRecord,
    letter: Option<LastLetter>,
    params: &Parameters,
    today: NaiveDate,
) -> Option<(ClaimState, NaiveDate)> {
    let snapshot = rec.snapshot(letter);
    let step = lifecycle::next_step(&snapshot, today, params.book.in_force(today));
    match step {
        Step::WaitUntil(date) => {
            rec.state().successor(snapshot.start_with).map(|target| (target, date))
        }
        other => other.target().map(|t| (t, today.max(rec.next_action_on.unwrap_or(today)))),
    }
}

/// What a debtor is told about a closed case, which no longer asks for money.
pub fn closed_message(state: ClaimState) -> Option<&'static str> {
    match state {
        ClaimState::Paid => Some("Ärendet är betalt och avslutat. Du behöver inte göra något mer."),
        ClaimState::Withdrawn => Some(
            "Borgenären har återkallat kravet och ärendet är avslutat. Du behöver inte betala något till Fordra.",
        ),
        ClaimState::WrittenOff => {
            Some("Ärendet är avskrivet och avslutat. Du behöver inte betala något till Fordra.")
        }
        _ => None,
    }
}
