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
        statement::{FeeCharge, Movement, Statement},
    },
    letters,
    parameters::{self, Parameters},
    state::AppState,
};

pub const BATCH: i64 = 500;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    pub steps: u64,
    pub dispatched: u64,
    pub blocked: u64,
    /// Escalations held by the payment freshness gate (the previous bank day not covered).
    pub gated: bool,
    pub settlements: usize,
    /// Partner commission statements issued (after a quarter, or an agreement, ended).
    pub partner_statements: usize,
    /// Webhook deliveries that succeeded on this pass.
    pub webhooks: usize,
    pub notices: u64,
    /// Payment plans broken on this pass (an instalment too late).
    pub plans_broken: u64,
    /// Letters held because their interest covers a day with no published reference rate; they
    /// are written once the rate is entered.
    pub held_for_rate: u64,
    /// Inactive creditor accounts closed after their notice.
    pub creditors_closed: usize,
    /// Closed cases anonymised after their retention period.
    pub anonymised: usize,
    /// Audit-log rows chained this pass.
    pub audit_sealed: u64,
    /// The half-year whose reference rate is missing, when letters were held for it.
    pub missing_rate: Option<NaiveDate>,
}

/// One engine pass for `today`: lifecycle steps, letters, due creditor settlements, notices.
pub async fn tick(state: &AppState, today: NaiveDate) -> Result<TickReport> {
    // Plans first: a plan broken today lets the lifecycle resume in the same pass.
    let plans = crate::plans::check(state, today).await?;
    let mut report = advance(state, today).await?;
    report.plans_broken = plans.broken;
    if report.held_for_rate > 0 {
        let mut conn = state.db.acquire().await?;
        report.missing_rate = parameters::load(&mut conn).await?.rates.missing_half_year(today);
    }
    report.dispatched = outbox::deliver(state, today).await?;
    report.settlements = settle(state, today).await?;
    crate::claims::jobs::resume(state).await?;
    report.partner_statements = {
        let mut conn = state.db.acquire().await?;
        let url = &state.config.public_url;
        crate::partners::statement::issue_due(&mut conn, (state.clock.now(), today), url).await?
    };
    let allow_private = state.config.webhooks_allow_private;
    report.webhooks =
        crate::webhooks::deliver_due(&state.db, allow_private, state.clock.now()).await?;
    // Retention and inactive accounts read the rules in force once, from the cache.
    let rules =
        state.parameters(&mut *state.db.acquire().await?).await?.book.in_force(today).clone();
    report.anonymised = crate::retention::run(state, today, &rules).await?.claims;
    {
        let mut conn = state.db.acquire().await?;
        let url = &state.config.public_url;
        let r =
            crate::creditors::inactivity::run(&mut conn, (today, state.clock.now()), &rules, url)
                .await?;
        report.creditors_closed = r.closed;
    }
    report.audit_sealed =
        crate::audit::seal(&mut *state.db.acquire().await?, state.clock.now()).await?;
    report.notices = crate::mail::deliver_queue(
        &state.db,
        &state.mailer,
        &state.config.mail_from,
        state.clock.now(),
    )
    .await?;
    sqlx::query(
        "insert into engine_status (id, business_date, finished_at, report) values (1, $1, $2, $3)
         on conflict (id) do update set business_date = excluded.business_date,
             finished_at = excluded.finished_at, report = excluded.report",
    )
    .bind(today)
    .bind(state.clock.now())
    .bind(serde_json::to_value(report)?)
    .execute(&mut *state.db.acquire().await?)
    .await?;
    Ok(report)
}

async fn settle(state: &AppState, today: NaiveDate) -> Result<usize> {
    let mut tx = state.db.begin().await?;
    let params = parameters::load(&mut tx).await?;
    let r = crate::payouts::service::run(&mut tx, &params, today, state.clock.now(), None, false)
        .await?;
    tx.commit().await?;
    Ok(r.settlements.len())
}

/// Takes every claim due on `today` through `lifecycle::next_step`, batch by batch.
pub async fn advance(state: &AppState, today: NaiveDate) -> Result<TickReport> {
    let mut report = TickReport::default();
    let (params, open) = {
        let mut conn = state.db.acquire().await?;
        let open = !state.config.freshness_gate
            || crate::payments::freshness_open(&mut conn, today).await?;
        (parameters::load(&mut conn).await?, open)
    };
    report.gated = !open;
    // While the gate is closed only reminders go out; escalations stay due for the next pass.
    let gate = if open { "" } else { " and c.state = 'registered' and c.start_with = 'reminder'" };
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
        // The whole batch set-based, in a savepoint. If anything in it fails (one claim with
        // bad data, a missing reference rate), the batch is redone claim by claim, each in its
        // own savepoint, so that one claim is set aside for staff and every other one proceeds.
        let mut sp = sqlx::Connection::begin(&mut *tx).await?;
        match step_batch(&mut sp, &batch, &params, today, state).await {
            Ok(r) => {
                sp.commit().await?;
                report.add(&r);
            }
            Err(e) => {
                sp.rollback().await?;
                tracing::warn!(
                    error = format!("{e:#}"),
                    "engine batch failed; taking its claims one by one"
                );
                for rec in &batch {
                    let mut sp = sqlx::Connection::begin(&mut *tx).await?;
                    match step_batch(&mut sp, std::slice::from_ref(rec), &params, today, state)
                        .await
                    {
                        Ok(r) => {
                            sp.commit().await?;
                            report.add(&r);
                        }
                        Err(e) => {
                            sp.rollback().await?;
                            set_aside(&mut tx, rec, &e, today, state.clock.now()).await?;
                            report.blocked += 1;
                        }
                    }
                }
            }
        }
        tx.commit().await?;
    }
}

/// A claim the engine could not process: nothing is planned for it and staff see why.
async fn set_aside(
    tx: &mut sqlx::PgConnection,
    rec: &ClaimRecord,
    e: &anyhow::Error,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<()> {
    tracing::error!(claim = %rec.claim_id, error = format!("{e:#}"), "engine could not process claim");
    sqlx::query!("update claim set next_action_on = null where claim_id = $1", rec.claim_id)
        .execute(&mut *tx)
        .await?;
    let detail = serde_json::json!({"error": format!("{e:#}")});
    claims::add_event(tx, rec.claim_id, now, today, "engine_error", None, detail, None).await?;
    Ok(())
}

#[derive(Default)]
struct BatchReport {
    steps: u64,
    blocked: u64,
    held_for_rate: u64,
}

impl TickReport {
    fn add(&mut self, batch: &BatchReport) {
        self.steps += batch.steps;
        self.blocked += batch.blocked;
        self.held_for_rate += batch.held_for_rate;
    }
}

/// A letter computed for a claim, not yet written.
struct NewLetter {
    claim_id: Uuid,
    from_state: ClaimState,
    target: ClaimState,
    kind: LetterKind,
    letter_id: Uuid,
    snapshot: serde_json::Value,
    html: String,
    channel: &'static str,
    fee: Option<FeeCharge>,
    detail: serde_json::Value,
    /// Its interest would use an assumed rate: held until the rate is published.
    preliminary: bool,
}

/// Steps every claim of `batch` (locked by the caller): three reads for the whole batch, every
/// decision and letter computed in Rust, then each table written once with `unnest`. Any error
/// fails the batch, and the caller retries claim by claim.
async fn step_batch(
    tx: &mut sqlx::PgConnection,
    batch: &[ClaimRecord],
    params: &Parameters,
    today: NaiveDate,
    state: &AppState,
) -> Result<BatchReport> {
    let ids: Vec<Uuid> = batch.iter().map(|r| r.claim_id).collect();
    let last_letters = claims::current_letters_of(tx, batch).await?;
    let mut fees = claims::fees_of(tx, &ids).await?;
    let moves = claims::movements_of(tx, &ids).await?;
    let rules = params.book.in_force(today);
    let now = state.clock.now();
    let mut report = BatchReport::default();

    let mut waits: Vec<(Uuid, Option<NaiveDate>)> = Vec::new();
    let mut to_enforcement: Vec<&ClaimRecord> = Vec::new();
    let mut new_letters: Vec<NewLetter> = Vec::new();
    // Claims whose balance money already held covers: paid, never another letter.
    let mut covered: Vec<(&ClaimRecord, Statement)> = Vec::new();
    for rec in batch {
        let letter = last_letters.get(&rec.claim_id).copied();
        let step = lifecycle::next_step(&rec.snapshot(letter), today, rules);
        if matches!(step, Step::WaitUntil(_) | Step::Blocked(_)) {
            waits.push((rec.claim_id, step.wait_until()));
            report.blocked += u64::from(matches!(step, Step::Blocked(_)));
            continue;
        }
        let claim_fees = fees.remove(&rec.claim_id).unwrap_or_default();
        let claim_moves = moves.get(&rec.claim_id).map(Vec::as_slice).unwrap_or_default();
        let now_owed = claims::compute_statement(rec, &claim_fees, claim_moves, params, today)?;
        if now_owed.balance.is_zero() {
            covered.push((rec, now_owed));
            continue;
        }
        match step.letter() {
            None => to_enforcement.push(rec),
            Some(kind) => new_letters.push(prepare_letter(
                rec,
                kind,
                claim_fees,
                claim_moves,
                params,
                today,
                &state.config.identity,
            )?),
        }
    }

    // A letter never prints an assumed rate: it waits for the published one (looked at again
    // tomorrow, or as soon as staff enter the rate).
    let (held, mut new_letters): (Vec<NewLetter>, Vec<NewLetter>) =
        new_letters.into_iter().partition(|l| l.preliminary);
    report.held_for_rate = held.len() as u64;
    waits.extend(held.iter().map(|l| (l.claim_id, today.succ_opt())));

    // Letters first: one already there (an earlier run) means the step is done; the claim is
    // just not picked again today.
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "insert into letter (letter_id, claim_id, kind, created_on, snapshot, html, channel)
         select l.letter_id, l.claim_id, l.kind, $4, l.snapshot, l.html, l.channel
         from unnest($1::uuid[], $2::uuid[], $3::text[], $5::jsonb[], $6::text[], $7::text[])
              as l(letter_id, claim_id, kind, snapshot, html, channel)
         on conflict (claim_id, kind) where kind in ('reminder', 'collection', 'final_notice') do nothing
         returning claim_id",
    )
    .bind(new_letters.iter().map(|l| l.letter_id).collect::<Vec<_>>())
    .bind(new_letters.iter().map(|l| l.claim_id).collect::<Vec<_>>())
    .bind(new_letters.iter().map(|l| l.kind.as_str()).collect::<Vec<_>>())
    .bind(today)
    .bind(
        new_letters
            .iter_mut()
            .map(|l| std::mem::take(&mut l.snapshot))
            .collect::<Vec<_>>(),
    )
    .bind(new_letters.iter().map(|l| l.html.as_str()).collect::<Vec<_>>())
    .bind(new_letters.iter().map(|l| l.channel).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let inserted: std::collections::HashSet<Uuid> = inserted.into_iter().collect();
    let (mut written, already): (Vec<NewLetter>, Vec<NewLetter>) =
        new_letters.into_iter().partition(|l| inserted.contains(&l.claim_id));
    waits.extend(already.iter().map(|l| (l.claim_id, None)));

    // State changes, guarded on the state each claim was read in. Nothing is planned until the
    // new letter is dispatched.
    let mut moving: Vec<(Uuid, ClaimState, ClaimState)> =
        written.iter().map(|l| (l.claim_id, l.from_state, l.target)).collect();
    moving.extend(
        to_enforcement.iter().map(|r| (r.claim_id, r.state(), ClaimState::EnforcementReady)),
    );
    moving.extend(covered.iter().map(|(r, _)| (r.claim_id, r.state(), ClaimState::Paid)));
    // One guarded update per (from, to) pair: a handful per batch.
    let mut groups: std::collections::BTreeMap<(&str, &str), (ClaimState, ClaimState, Vec<Uuid>)> =
        Default::default();
    for (id, from, to) in moving {
        groups
            .entry((from.as_str(), to.as_str()))
            .or_insert_with(|| (from, to, Vec::new()))
            .2
            .push(id);
    }
    let mut moved = Vec::new();
    for (from, to, ids) in groups.into_values() {
        moved.extend(claims::move_claims(&mut *tx, &ids, &[from], to).await?);
    }
    let moved: std::collections::HashSet<Uuid> = moved.into_iter().collect();
    if let Some(l) = written.iter().find(|l| !moved.contains(&l.claim_id)) {
        anyhow::bail!("claim {} changed state while its letter was written", l.claim_id);
    }
    let enforced: Vec<&ClaimRecord> =
        to_enforcement.into_iter().filter(|r| moved.contains(&r.claim_id)).collect();
    let covered: Vec<(&ClaimRecord, Statement)> =
        covered.into_iter().filter(|(r, _)| moved.contains(&r.claim_id)).collect();

    sqlx::query(
        "update claim c set next_action_on = w.on_date
         from unnest($1::uuid[], $2::date[]) as w(claim_id, on_date) where c.claim_id = w.claim_id",
    )
    .bind(waits.iter().map(|w| w.0).collect::<Vec<_>>())
    .bind(waits.iter().map(|w| w.1).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    let charged: Vec<(&NewLetter, FeeCharge)> =
        written.iter().filter_map(|l| l.fee.map(|f| (l, f))).collect();
    sqlx::query("insert into fee (fee_id, claim_id, kind, amount, charged_on, letter_id)
         select gen_random_uuid(), f.claim_id, f.kind, f.amount, $4, f.letter_id
         from unnest($1::uuid[], $2::text[], $3::numeric[], $5::uuid[]) as f(claim_id, kind, amount, letter_id)
         on conflict (claim_id, kind) do nothing").bind(charged.iter().map(|(l, _)| l.claim_id).collect::<Vec<_>>()).bind(charged.iter().map(|(_, f)| f.kind.as_str()).collect::<Vec<_>>()).bind(charged.iter().map(|(_, f)| f.amount.amount()).collect::<Vec<_>>()).bind(today).bind(charged.iter().map(|(l, _)| l.letter_id).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    let mut events: Vec<(Uuid, &str, serde_json::Value)> = written
        .iter_mut()
        .map(|l| (l.claim_id, l.kind.as_str(), std::mem::take(&mut l.detail)))
        .collect();
    events
        .extend(enforced.iter().map(|r| (r.claim_id, "enforcement_ready", serde_json::json!({}))));
    events.extend(covered.iter().map(|(r, s)| {
        (r.claim_id, "paid", serde_json::json!({"paid": s.paid, "overpaid": s.overpaid}))
    }));
    sqlx::query(
        "insert into claim_event (claim_id, at, business_date, kind, detail, step_key)
         select e.claim_id, $4, $5, e.kind, e.detail, 'step:' || e.kind
         from unnest($1::uuid[], $2::text[], $3::jsonb[]) as e(claim_id, kind, detail)
         on conflict (claim_id, step_key) do nothing",
    )
    .bind(events.iter().map(|e| e.0).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.1).collect::<Vec<_>>())
    .bind(events.into_iter().map(|e| e.2).collect::<Vec<_>>())
    .bind(now)
    .bind(today)
    .execute(&mut *tx)
    .await?;
    for (rec, s) in &covered {
        if let Some(to) = &rec.debtor_email {
            crate::mail::queue(
                tx,
                to,
                &format!("Kvitto – ärende {} är betalt", rec.case_number),
                &crate::payments::ledger::receipt_text(rec, s),
                Some(rec.claim_id),
                now,
            )
            .await?;
        }
    }

    sqlx::query("insert into outbox (letter_id, next_attempt_at) select unnest($1::uuid[]), $2")
        .bind(written.iter().map(|l| l.letter_id).collect::<Vec<_>>())
        .bind(now)
        .execute(&mut *tx)
        .await?;

    report.steps = (written.len() + enforced.len() + covered.len()) as u64;
    Ok(report)
}

/// The letter for `kind`: its fee decision, the statement with that fee, the snapshot and HTML.
fn prepare_letter(
    rec: &ClaimRecord,
    kind: LetterKind,
    mut fees: Vec<FeeCharge>,
    moves: &[Movement],
    params: &Parameters,
    today: NaiveDate,
    identity: &Identity,
) -> Result<NewLetter> {
    let rules = params.book.in_force(today);
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
    let fee = match decision {
        FeeDecision::Charge { kind, amount } => {
            let fee = FeeCharge { kind, amount, charged_on: today };
            fees.push(fee);
            Some(fee)
        }
        FeeDecision::NoFee(_) => None,
    };
    let statement = claims::compute_statement(rec, &fees, moves, params, today)?;
    let preliminary = statement.preliminary;
    let deadline = lifecycle::deadline(kind, today, rules);
    let mut snapshot = crate::claims::letters::build(
        kind,
        rec,
        &statement,
        today,
        deadline,
        rules.valid_from,
        identity,
    );
    if let Some(wording) = params.wording.in_force(&format!("letter_{}", kind.as_str()), today) {
        crate::claims::letters::apply_wording(&mut snapshot, wording);
    }
    let html = letters::render_html(&snapshot)?;
    let target = match kind {
        LetterKind::Reminder => ClaimState::Reminder,
        LetterKind::Collection => ClaimState::Collection,
        LetterKind::FinalNotice => ClaimState::FinalNotice,
        LetterKind::PaymentPlan | LetterKind::PlanBroken | LetterKind::Withdrawal => {
            anyhow::bail!("{kind:?} is not a lifecycle step")
        }
    };
    let letter_id = Uuid::new_v4();
    let channel = if rec.debtor_email.is_some() { "email" } else { "print" };
    let detail = serde_json::json!({
        "letter_id": letter_id,
        "fee": fee.map(|f| serde_json::json!({"kind": f.kind.as_str(), "amount": f.amount})),
        "fee_reason": match decision { FeeDecision::NoFee(r) => Some(r.reason()), _ => None },
        "channel": channel,
    });
    Ok(NewLetter {
        claim_id: rec.claim_id,
        from_state: rec.state(),
        target,
        kind,
        letter_id,
        snapshot: serde_json::to_value(&snapshot)?,
        html,
        channel,
        fee,
        detail,
        preliminary,
    })
}
