//! The lifecycle engine. One pass (`tick`) for a business date: advance every due claim by at
//! most one step, then deliver pending letters. The server runs it on an interval; `fordra tick`
//! runs it once.
//!
//! Safety: due claims are taken with `FOR UPDATE SKIP LOCKED` in batches, each batch in one
//! transaction; state changes are guarded on the expected state; unique keys make each
//! (claim, letter kind) letter and fee, and each step event, happen at most once. A crash
//! mid-batch rolls the batch back, and concurrent ticks never take the same claim.

pub mod outbox;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::{
    claims::{self, ClaimRecord},
    config::Identity,
    domain::{
        calendar::roll_forward,
        fees::{FeeDecision, FeeFacts, FeeKind, LetterKind, fee_for_letter},
        lifecycle::{self, ClaimState, Step},
        statement::FeeCharge,
    },
    letters,
    parameters::{self, Parameters},
    state::AppState,
};

pub const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub steps: u64,
    pub dispatched: u64,
    pub blocked: u64,
    /// Escalations held by the payment freshness gate (the previous bank day not covered).
    pub gated: bool,
    pub settlements: usize,
    pub notices: u64,
    /// Payment plans broken on this pass (an instalment too late).
    pub plans_broken: u64,
}

/// One engine pass for `today`: lifecycle steps, letters, due creditor settlements, notices.
pub async fn tick(state: &AppState, today: NaiveDate) -> Result<TickReport> {
    // Plans first: a plan broken today lets the lifecycle resume in the same pass.
    let plans = crate::mina_sidor::plan::check(state, today).await?;
    let mut report = advance(state, today).await?;
    report.plans_broken = plans.broken;
    report.dispatched = outbox::deliver(state, today).await?;
    report.settlements = settle(state, today).await?;
    report.notices = crate::mail::deliver_queue(
        &state.db,
        &state.mailer,
        &state.config.mail_from,
        state.clock.now(),
    )
    .await?;
    Ok(report)
}

async fn settle(state: &AppState, today: NaiveDate) -> Result<usize> {
    let mut tx = state.db.begin().await?;
    let params = parameters::load(&mut tx).await?;
    let r =
        crate::payments::settlement::run(&mut tx, &params, today, state.clock.now(), None, false)
            .await?;
    tx.commit().await?;
    Ok(r.settlements.len())
}

/// Whether escalation letters may go out on `today`: the previous bank day is covered by an
/// imported bank file or marked by an admin as a day without file.
pub async fn freshness_open(conn: &mut sqlx::PgConnection, today: NaiveDate) -> sqlx::Result<bool> {
    let day = crate::domain::calendar::previous_bank_day(today);
    sqlx::query_scalar("select exists (select 1 from bank_day where day = $1)")
        .bind(day)
        .fetch_one(conn)
        .await
}

/// Takes every claim due on `today` through `lifecycle::next_step`, batch by batch.
pub async fn advance(state: &AppState, today: NaiveDate) -> Result<TickReport> {
    let mut report = TickReport::default();
    let (params, open) = {
        let mut conn = state.db.acquire().await?;
        let open = !state.config.freshness_gate || freshness_open(&mut conn, today).await?;
        (parameters::load(&mut conn).await?, open)
    };
    report.gated = !open;
    // While the gate is closed only reminders go out; escalations stay due for the next pass.
    let gate = if open {
        ""
    } else {
        " and c.state = 'registered' and c.start_with = 'reminder'"
    };
    loop {
        let mut tx = state.db.begin().await?;
        let batch: Vec<ClaimRecord> = sqlx::query_as(&format!(
            "{} where c.next_action_on <= $1{gate} order by c.next_action_on, c.case_number limit $2 for update of c skip locked",
            claims::SELECT
        ))
        .bind(today)
        .bind(BATCH)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            tx.commit().await?;
            return Ok(report);
        }
        for rec in &batch {
            // Each claim in a savepoint: one claim that cannot be processed (bad data, a missing
            // reference rate) is set aside for staff instead of stopping every other claim.
            let mut sp = sqlx::Connection::begin(&mut *tx).await?;
            match step_claim(&mut sp, rec, &params, today, state).await {
                Ok(outcome) => {
                    sp.commit().await?;
                    match outcome {
                        Outcome::Stepped => report.steps += 1,
                        Outcome::Blocked => report.blocked += 1,
                        Outcome::Nothing => {}
                    }
                }
                Err(e) => {
                    sp.rollback().await?;
                    tracing::error!(claim = %rec.claim_id, error = format!("{e:#}"), "engine could not process claim");
                    set_next_action(&mut tx, rec.claim_id, None).await?;
                    let detail = serde_json::json!({"error": format!("{e:#}")});
                    claims::add_event(
                        &mut tx,
                        rec.claim_id,
                        state.clock.now(),
                        today,
                        "engine_error",
                        None,
                        detail,
                        None,
                    )
                    .await?;
                    report.blocked += 1;
                }
            }
        }
        tx.commit().await?;
    }
}

enum Outcome {
    Stepped,
    Blocked,
    Nothing,
}

async fn step_claim(
    tx: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    params: &Parameters,
    today: NaiveDate,
    state: &AppState,
) -> Result<Outcome> {
    let letter = claims::current_letter(tx, rec).await?;
    let rules = params.book.in_force(today);
    let step = lifecycle::next_step(&rec.snapshot(letter), today, rules);
    let now = state.clock.now();
    Ok(match step {
        Step::WaitUntil(date) => {
            set_next_action(tx, rec.claim_id, Some(date)).await?;
            Outcome::Nothing
        }
        Step::Blocked(_) => {
            set_next_action(tx, rec.claim_id, None).await?;
            Outcome::Blocked
        }
        Step::MarkEnforcementReady => {
            if transition(tx, rec, ClaimState::EnforcementReady).await? {
                let detail = serde_json::json!({});
                claims::add_event(
                    tx,
                    rec.claim_id,
                    now,
                    today,
                    "enforcement_ready",
                    None,
                    detail,
                    Some("step:enforcement_ready"),
                )
                .await?;
                Outcome::Stepped
            } else {
                Outcome::Nothing
            }
        }
        action => {
            let kind = action.letter().expect("every other step sends a letter");
            if produce_letter(tx, rec, kind, params, today, now, &state.config.identity).await? {
                Outcome::Stepped
            } else {
                Outcome::Nothing
            }
        }
    })
}

async fn set_next_action(
    tx: &mut sqlx::PgConnection,
    claim_id: Uuid,
    on: Option<NaiveDate>,
) -> sqlx::Result<()> {
    sqlx::query("update claim set next_action_on = $2 where claim_id = $1")
        .bind(claim_id)
        .bind(on)
        .execute(tx)
        .await?;
    Ok(())
}

/// Moves the claim to `to` if it is still in the state it was read in. Nothing is planned until
/// the new letter is dispatched.
async fn transition(
    tx: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    to: ClaimState,
) -> sqlx::Result<bool> {
    let moved = sqlx::query(
        "update claim set state = $3, next_action_on = null where claim_id = $1 and state = $2",
    )
    .bind(rec.claim_id)
    .bind(&rec.state)
    .bind(to.as_str())
    .execute(tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// Writes the letter, its fee, the state change, the event and the outbox row.
async fn produce_letter(
    tx: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    kind: LetterKind,
    params: &Parameters,
    today: NaiveDate,
    now: DateTime<Utc>,
    identity: &Identity,
) -> Result<bool> {
    let rules = params.book.in_force(today);
    let mut fees = claims::fees(tx, rec.claim_id).await?;
    let moves = claims::movements(tx, rec.claim_id).await?;
    let charged: Vec<FeeKind> = fees.iter().map(|f| f.kind).collect();
    let decision = fee_for_letter(
        kind,
        &FeeFacts {
            capacity: rec.capacity(),
            reminder_fee_agreed: rec.reminder_fee_agreed,
            effective_due_date: roll_forward(rec.due_date),
            due_date: rec.due_date,
            dispatch_date: today,
            // Fordra's inkassokrav template carries every item of 5 § inkassolagen.
            compliant_demand: true,
            charged: &charged,
        },
        params.book.in_force(rec.due_date),
    );
    let new_fee = match decision {
        FeeDecision::Charge { kind, amount } => {
            let fee = FeeCharge {
                kind,
                amount,
                charged_on: today,
            };
            fees.push(fee);
            Some(fee)
        }
        FeeDecision::NoFee(_) => None,
    };
    let statement = claims::compute_statement(rec, &fees, &moves, params, today)?;
    let deadline = lifecycle::deadline(kind, today, rules);
    let snapshot = letters::build(
        kind,
        rec,
        &statement,
        today,
        deadline,
        rules.valid_from,
        identity,
    );
    let html = letters::render_html(&snapshot)?;
    let letter_id = Uuid::new_v4();
    let channel = if rec.debtor_email.is_some() {
        "email"
    } else {
        "print"
    };
    let inserted = sqlx::query(
        "insert into letter (letter_id, claim_id, kind, created_on, snapshot, html, channel)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (claim_id, kind) where kind in ('reminder', 'collection', 'final_notice') do nothing",
    )
    .bind(letter_id)
    .bind(rec.claim_id)
    .bind(kind.as_str())
    .bind(today)
    .bind(serde_json::to_value(&snapshot)?)
    .bind(&html)
    .bind(channel)
    .execute(&mut *tx)
    .await?;
    let target = match kind {
        LetterKind::Reminder => ClaimState::Reminder,
        LetterKind::Collection => ClaimState::Collection,
        LetterKind::FinalNotice => ClaimState::FinalNotice,
        LetterKind::PaymentPlan | LetterKind::PlanBroken => {
            anyhow::bail!("{kind:?} is not a lifecycle step")
        }
    };
    if inserted.rows_affected() == 0 || !transition(tx, rec, target).await? {
        // Already done by an earlier run: make sure the claim is not picked again today.
        set_next_action(tx, rec.claim_id, None).await?;
        return Ok(false);
    }
    if let Some(fee) = &new_fee {
        claims::charge_fee(tx, rec.claim_id, fee, letter_id).await?;
    }
    let detail = serde_json::json!({
        "letter_id": letter_id,
        "fee": new_fee.map(|f| serde_json::json!({"kind": f.kind.as_str(), "amount": f.amount})),
        "fee_reason": match decision { FeeDecision::NoFee(r) => Some(r.reason()), _ => None },
        "channel": channel,
    });
    claims::add_event(
        tx,
        rec.claim_id,
        now,
        today,
        kind.as_str(),
        None,
        detail,
        Some(&format!("step:{}", kind.as_str())),
    )
    .await?;
    sqlx::query("insert into outbox (letter_id, next_attempt_at) values ($1, $2)")
        .bind(letter_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    Ok(true)
}
