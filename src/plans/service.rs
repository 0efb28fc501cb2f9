//! The transactions of payment plans: the debtor's proposal and withdrawal, the creditor's
//! decision and policy, and the engine's check of running plans. Each reads the claim again
//! under its row lock and owns its transaction; SQL for the plan tables lives here.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::claims::OnClaim;

use super::{PlanRow, PlanView, Policy, due_dates, is_broken, within_policy};
use crate::{
    auth::audit,
    claims::{self, ClaimRecord},
    config::Identity,
    domain::{
        fees::{FeeDecision, LetterKind, payment_plan_fee},
        money::Sek,
        ocr, plan,
        statement::{FeeCharge, Movement},
    },
    letters::{self, ScheduleLine},
    parameters::{self, Parameters},
    state::AppState,
    web::{AppError, forms::FieldErrors},
};

pub async fn policy(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Policy> {
    let row: Option<(i32, Decimal, Decimal)> = sqlx::query_as(
        "select max_months, min_instalment, auto_approve_up_to from plan_policy where creditor_id = $1",
    )
    .bind(creditor_id)
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|(m, min, auto)| Policy {
            max_months: m as u32,
            min_instalment: Sek::from_decimal(min),
            auto_approve_up_to: Sek::from_decimal(auto),
        })
        .unwrap_or_default())
}

/// The instalments that pay the claim off on the given dates if each is paid on its due date:
/// equal whole-krona instalments, the last one whatever remains then (interest keeps running on
/// the capital that is left, so it is computed with the claim's own statement).
pub fn schedule(
    rec: &ClaimRecord,
    fees: &[FeeCharge],
    moves: &[Movement],
    params: &Parameters,
    dates: &[NaiveDate],
) -> anyhow::Result<Vec<(NaiveDate, Sek)>> {
    let Some(last) = dates.last() else {
        return Ok(vec![]);
    };
    // Future half-years may have no published reference rate yet: assume the last one stays.
    let params = &Parameters {
        book: params.book.clone(),
        rates: params.rates.projected_to(*last),
        wording: params.wording.clone(),
    };
    plan::schedule(dates, moves, |moves, on| {
        Ok(claims::compute_statement(rec, fees, moves, params, on)?.balance)
    })
}

pub async fn latest(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Option<PlanView>> {
    let plan: Option<PlanRow> = sqlx::query_as(
        "select plan_id, months, total, fee, status, proposed_at, decision_note, started_on, ended_on, letter_id
         from payment_plan where claim_id = $1 order by proposed_at desc limit 1",
    )
    .bind(claim_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(plan) = plan else { return Ok(None) };
    let instalments = sqlx::query_as(
        "select seq, due_date, amount, ocr from plan_instalment where plan_id = $1 order by seq",
    )
    .bind(plan.plan_id)
    .fetch_all(conn)
    .await?;
    Ok(Some(PlanView { plan, instalments }))
}

/// Ends a proposed or running plan (`rejected`, `broken` or `completed`) and lifts its pause.
pub async fn end_live_plan(
    conn: &mut PgConnection,
    claim_id: Uuid,
    status: &str,
    today: NaiveDate,
) -> sqlx::Result<bool> {
    end_plan(conn, claim_id, &["proposed", "active"], status, today).await
}

/// Ends the claim's plan if it is in one of the statuses `from`, setting `status`, and lifts
/// the pause; false when there was no such plan (then nothing changes).
pub(super) async fn end_plan(
    conn: &mut PgConnection,
    claim_id: Uuid,
    from: &[&str],
    status: &str,
    today: NaiveDate,
) -> sqlx::Result<bool> {
    let ended = sqlx::query("update payment_plan set status = $2, ended_on = $3 where claim_id = $1 and status = any($4)").bind(claim_id).bind(status).bind(today).bind(from)
    .execute(&mut *conn)
    .await?;
    if ended.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!("update claim set payment_plan_active = false where claim_id = $1", claim_id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// The exact instalments of a plan, as the debtor confirms them.
pub struct Preview {
    pub months: u32,
    pub lines: Vec<(NaiveDate, Sek)>,
    pub total: Sek,
}

impl Preview {
    fn of(p: &Prepared, months: u32) -> anyhow::Result<Preview> {
        let lines = p.schedule(months)?;
        let total = lines.iter().map(|(_, a)| *a).sum();
        Ok(Preview { months, lines, total })
    }
}

/// Why a plan cannot be asked for on this claim now.
fn plan_blocked(c: &ClaimRecord, live: bool, balance: Sek) -> Option<&'static str> {
    if c.state().is_terminal() {
        Some("Ärendet är avslutat.")
    } else if c.disputed {
        Some("Kravet är bestritt. Ansök om en plan när bestridandet är utrett.")
    } else if live {
        Some("Det finns redan en amorteringsplan för ärendet.")
    } else if !balance.is_positive() {
        Some("Det finns inget kvar att betala.")
    } else {
        None
    }
}

struct Prepared {
    today: NaiveDate,
    rec: ClaimRecord,
    fee: Option<FeeCharge>,
    fees: Vec<FeeCharge>,
    moves: Vec<Movement>,
    params: Parameters,
    balance: Sek,
    live: bool,
}

async fn prepare(
    conn: &mut PgConnection,
    rec: ClaimRecord,
    today: NaiveDate,
) -> anyhow::Result<Prepared> {
    let params = parameters::load(conn).await?;
    let mut fees = claims::fees(conn, rec.claim_id).await?;
    let moves = claims::movements(conn, rec.claim_id).await?;
    let charged: Vec<_> = fees.iter().map(|f| f.kind).collect();
    let fee = match payment_plan_fee(rec.capacity(), &charged, params.book.in_force(today)) {
        FeeDecision::Charge { kind, amount } => Some(FeeCharge { kind, amount, charged_on: today }),
        FeeDecision::NoFee(_) => None,
    };
    if let Some(f) = fee {
        fees.push(f);
    }
    let balance = claims::compute_statement(&rec, &fees, &moves, &params, today)?.balance;
    let live: bool = sqlx::query_scalar(
        "select exists(select 1 from payment_plan where claim_id = $1 and status in ('proposed', 'active'))",
    )
    .bind(rec.claim_id)
    .fetch_one(conn)
    .await?;
    Ok(Prepared { today, rec, fee, fees, moves, params, balance, live })
}

impl Prepared {
    /// The instalments of a plan of `months` starting today.
    fn schedule(&self, months: u32) -> anyhow::Result<Vec<(NaiveDate, Sek)>> {
        let dates = due_dates(self.today, months);
        schedule(&self.rec, &self.fees, &self.moves, &self.params, &dates)
    }
}

fn options(p: &Prepared, today: NaiveDate) -> Vec<(u32, Sek)> {
    let max = p.params.book.in_force(today).plan_max_months.clamp(2, 12);
    (2..=max)
        .map(|m| (m, Sek::from_decimal((p.balance.amount() / Decimal::from(m)).ceil())))
        .collect()
}

/// The number of months a debtor chose, if it is one Fordra offers.
fn chosen_months(p: &Prepared, text: &str) -> Option<u32> {
    let max = p.params.book.in_force(p.today).plan_max_months.clamp(2, 12);
    text.trim().parse::<u32>().ok().filter(|m| (2..=max).contains(m))
}

/// What the plan form shows: the choices, the fee, why no plan can be asked for (if so), and the
/// exact plan for the chosen months.
pub struct PlanForm {
    pub c: ClaimRecord,
    pub options: Vec<(u32, Sek)>,
    pub fee: Sek,
    pub blocked: Option<&'static str>,
    pub preview: Option<Preview>,
    pub errors: FieldErrors,
}

/// The plan form for claim `rec` on `today`; with `months` (as typed) the exact plan to confirm.
pub async fn form(
    conn: &mut PgConnection,
    rec: ClaimRecord,
    today: NaiveDate,
    months: &str,
) -> anyhow::Result<PlanForm> {
    let p = prepare(conn, rec, today).await?;
    let blocked = plan_blocked(&p.rec, p.live, p.balance);
    let mut errors = FieldErrors::default();
    let preview = match (months.trim(), blocked) {
        ("", _) | (_, Some(_)) => None,
        (text, None) => match chosen_months(&p, text) {
            Some(m) => Some(Preview::of(&p, m)?),
            None => {
                errors.add("months", "Välj antal månader i listan.");
                None
            }
        },
    };
    Ok(PlanForm {
        options: options(&p, today),
        fee: p.fee.map(|f| f.amount).unwrap_or_default(),
        blocked,
        preview,
        errors,
        c: p.rec,
    })
}

pub enum Proposed {
    /// The message for the debtor: started at once (within policy) or sent to the creditor.
    Done(&'static str),
    Invalid(Box<PlanForm>),
}

/// The debtor (`personal_number`) proposes the plan of `months` they saw with `total_seen`.
/// Within the creditor's policy it starts at once; otherwise it waits for the creditor, and
/// escalation waits meanwhile.
#[allow(clippy::too_many_arguments)]
pub async fn propose(
    conn: &mut PgConnection,
    identity: &Identity,
    claim_id: Uuid,
    personal_number: &str,
    months: &str,
    total_seen: &str,
    now: chrono::DateTime<Utc>,
    today: NaiveDate,
) -> Result<Proposed, AppError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let rec = claims::lock(&mut tx, claim_id, None).await?.ok_or(AppError::NotFound)?;
    let p = prepare(&mut tx, rec, today).await?;
    let mut errors = FieldErrors::default();
    let max = p.params.book.in_force(today).plan_max_months.clamp(2, 12);
    let chosen = chosen_months(&p, months);
    if chosen.is_none() {
        errors.add("months", format!("Välj mellan 2 och {max} månader."));
    }
    if let Some(reason) = plan_blocked(&p.rec, p.live, p.balance) {
        errors.add("months", reason);
    }
    let preview = match chosen {
        Some(m) if errors.is_empty() => Some(Preview::of(&p, m)?),
        _ => None,
    };
    // The debtor confirms the exact plan they saw: if the amounts moved since (a new day's
    // interest, a payment), they see the new plan and confirm again.
    let seen = Sek::parse(total_seen).ok();
    if let Some(pv) = &preview
        && seen != Some(pv.total)
    {
        errors.add(
            "months",
            "Beloppen har ändrats sedan du såg planen. Kontrollera den nya planen och bekräfta igen.",
        );
    }
    let Some(Preview { months, lines: sched, total }) = preview.filter(|_| errors.is_empty())
    else {
        // Shown again with the plan as it is now (when there is one to show).
        let preview = match chosen {
            Some(m) if plan_blocked(&p.rec, p.live, p.balance).is_none() => {
                Some(Preview::of(&p, m)?)
            }
            _ => None,
        };
        return Ok(Proposed::Invalid(Box::new(PlanForm {
            options: options(&p, today),
            fee: p.fee.map(|f| f.amount).unwrap_or_default(),
            blocked: None,
            preview,
            errors,
            c: p.rec,
        })));
    };
    let pol = policy(&mut tx, p.rec.creditor_id).await?;
    let plan_id = Uuid::new_v4();
    sqlx::query!("insert into payment_plan (plan_id, claim_id, personal_number, months, total, fee, status, proposed_at)
         values ($1, $2, $3, $4, $5, $6, 'proposed', $7)", plan_id, p.rec.claim_id, personal_number, months as i32, total.amount(), p.fee.map(|f| f.amount.amount()).unwrap_or_default(), now)
    .execute(&mut *tx)
    .await?;
    // Escalation waits while the creditor decides.
    sqlx::query!("update claim set payment_plan_active = true where claim_id = $1", p.rec.claim_id)
        .execute(&mut *tx)
        .await?;
    claims::add_event(
        &mut tx,
        p.rec.claim_id,
        now,
        today,
        "payment_plan_proposed",
        None,
        json!({"months": months, "total": total.to_plain()}),
        None,
    )
    .await?;
    let message = if within_policy(&pol, total, &sched) {
        start(&mut tx, identity, plan_id, &p, &sched, now, None).await?;
        "Din amorteringsplan är godkänd. Planen med OCR-nummer för varje delbetalning finns under Brev."
    } else {
        "Ditt förslag är skickat till borgenären, som beslutar om det. Inga nya steg tas under tiden."
    };
    tx.commit().await?;
    Ok(Proposed::Done(message))
}

/// The debtor takes back a proposal the creditor has not decided: the pause ends and the
/// lifecycle looks at the claim again today. False when there was no proposal left.
pub async fn withdraw_proposal(
    conn: &mut PgConnection,
    claim_id: Uuid,
    now: chrono::DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    claims::lock(&mut tx, claim_id, None).await?;
    if !end_plan(&mut tx, claim_id, &["proposed"], "withdrawn", today).await? {
        return Ok(false);
    }
    claims::wake(&mut tx, claim_id, today).await?;
    claims::add_event(
        &mut tx,
        claim_id,
        now,
        today,
        "payment_plan_withdrawn",
        None,
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Starts an approved plan on `p.today` with the instalments `sched`: fee, instalments with
/// their own OCRs, and the letter with the schedule. (Escalation is already paused: the claim's
/// flag was set when the plan was proposed.)
async fn start(
    tx: &mut PgConnection,
    identity: &Identity,
    plan_id: Uuid,
    p: &Prepared,
    sched: &[(NaiveDate, Sek)],
    now: chrono::DateTime<Utc>,
    by: Option<Uuid>,
) -> anyhow::Result<()> {
    let today = p.today;
    let total: Sek = sched.iter().map(|(_, a)| *a).sum();
    let mut lines = Vec::new();
    for (i, (due, amount)) in sched.iter().enumerate() {
        let n: i64 = sqlx::query_scalar("select nextval('claim_case_number_seq')")
            .fetch_one(&mut *tx)
            .await?;
        let ocr = ocr::generate(n as u64);
        sqlx::query!("insert into plan_instalment (plan_id, seq, due_date, amount, ocr) values ($1, $2, $3, $4, $5)", plan_id, i as i32 + 1, due, amount.amount(), &ocr)
        .execute(&mut *tx)
        .await?;
        lines.push(ScheduleLine { due_date: *due, amount: *amount, ocr });
    }
    let statement = claims::compute_statement(&p.rec, &p.fees, &p.moves, &p.params, today)?;
    let mut snapshot = crate::claims::letters::build(
        LetterKind::PaymentPlan,
        &p.rec,
        &statement,
        today,
        lines.first().map_or(today, |l| l.due_date),
        p.params.book.in_force(today).valid_from,
        identity,
    );
    // The letter asks for the instalments: interest runs until each due date, so their sum is
    // more than today's balance; the difference is shown as interest to the last due date.
    let future_interest = total - snapshot.total;
    if future_interest.is_positive() {
        snapshot.fees.push(letters::FeeLine {
            label: "Beräknad dröjsmålsränta till förfallodagarna".into(),
            amount: future_interest,
        });
    }
    snapshot.total = total;
    snapshot.schedule = lines;
    let letter_id = crate::claims::letters::queue(&mut *tx, &p.rec, &snapshot, now).await?;
    if let Some(fee) = &p.fee {
        claims::charge_fee(&mut *tx, p.rec.claim_id, fee, letter_id).await?;
    }
    sqlx::query!("update payment_plan set status = 'active', total = $2, fee = $3, decided_at = $4, decided_by = $5,
            letter_id = $6, started_on = $7 where plan_id = $1", plan_id, total.amount(), p.fee.map(|f| f.amount.amount()).unwrap_or_default(), now, by, letter_id, today)
    .execute(&mut *tx)
    .await?;
    claims::add_event(
        &mut *tx,
        p.rec.claim_id,
        now,
        today,
        "payment_plan_started",
        by,
        json!({"months": sched.len(), "total": total.to_plain(), "fee": p.fee.map(|f| f.amount.to_plain()), "letter_id": letter_id}),
        None,
    )
    .await?;
    Ok(())
}

/// The creditor approves (`approve`) or rejects (`reject`, with a note the debtor reads) the
/// proposal on claim `claim_id`. `Ok(Err(message))` when refused; nothing changes then.
pub async fn decide(
    conn: &mut PgConnection,
    identity: &Identity,
    on: &OnClaim<'_>,
    decision: &str,
    note: &str,
) -> Result<Result<&'static str, &'static str>, AppError> {
    let (by, now, today) = (&on.by, on.by.now, on.by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let c = claims::lock(&mut tx, on.claim_id, on.creditor).await?.ok_or(AppError::NotFound)?;
    let Some((plan_id, months)): Option<(Uuid, i32)> = sqlx::query_as(
        "select plan_id, months from payment_plan where claim_id = $1 and status = 'proposed'",
    )
    .bind(c.claim_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(Err("Det finns inget förslag att besluta om."));
    };
    let message = match decision {
        "approve" => {
            let p = prepare(&mut tx, c.clone(), today).await?;
            let sched = p.schedule(months as u32)?;
            start(&mut tx, identity, plan_id, &p, &sched, now, Some(by.user_id)).await?;
            audit(
                &mut tx,
                now,
                Some(by.user_id),
                "payment_plan_decided",
                Some(&c.claim_id.to_string()),
                json!({"decision": decision}),
                Some(by.ip),
            )
            .await?;
            "Amorteringsplanen är godkänd. Gäldenären får planen med OCR-nummer för varje delbetalning."
        }
        "reject" if note.chars().count() >= 5 => {
            sqlx::query!("update payment_plan set decision_note = $2, decided_at = $3, decided_by = $4 where plan_id = $1", plan_id, note, now, by.user_id)
                .execute(&mut *tx)
                .await?;
            end_live_plan(&mut tx, c.claim_id, "rejected", today).await?;
            claims::web::record_change(
                &mut tx,
                &c,
                Some(by.user_id),
                by.ip,
                "payment_plan_rejected",
                json!({"note": note}),
                now,
                today,
            )
            .await?;
            "Förslaget är avslaget. Indrivningen fortsätter."
        }
        "reject" => {
            return Ok(Err(
                "Skriv varför förslaget avslås (minst 5 tecken). Gäldenären får läsa det.",
            ));
        }
        _ => return Ok(Err("Välj godkänn eller avslå.")),
    };
    tx.commit().await?;
    Ok(Ok(message))
}

/// Saves the creditor's plan policy, audited.
pub async fn save_policy(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    p: &Policy,
    user_id: Uuid,
    ip: &str,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let (months, min, auto) = (p.max_months as i32, p.min_instalment, p.auto_approve_up_to);
    sqlx::query!("insert into plan_policy (creditor_id, max_months, min_instalment, auto_approve_up_to, updated_at, updated_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (creditor_id) do update set max_months = $2, min_instalment = $3, auto_approve_up_to = $4,
            updated_at = $5, updated_by = $6", creditor_id, months, min.amount(), auto.amount(), now, user_id)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, now, Some(user_id), "plan_policy_changed", Some(&creditor_id.to_string()),
        json!({"max_months": months, "min_instalment": min.to_plain(), "auto_approve_up_to": auto.to_plain()}), Some(ip))
        .await?;
    tx.commit().await?;
    Ok(())
}

// --- Engine: kept or broken ---------------------------------------------------------------------

#[derive(Default, Debug)]
pub struct CheckReport {
    pub broken: u64,
    pub completed: u64,
}

/// The engine's pass over running plans.
pub async fn check(state: &AppState, today: NaiveDate) -> anyhow::Result<CheckReport> {
    let mut report = CheckReport::default();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // A plan is never broken for a payment still in a bank file not yet imported: like
    // escalation letters, breaking waits until the previous bank day is covered.
    if state.config.freshness_gate && !crate::payments::freshness_open(&mut tx, today).await? {
        tx.commit().await?;
        return Ok(report);
    }
    let params = state.parameters(&mut tx).await?;
    let days = params.book.in_force(today).plan_break_days_late;
    let plans: Vec<(Uuid, Uuid, NaiveDate, String)> = sqlx::query_as(
        "select p.plan_id, p.claim_id, p.started_on, c.state from payment_plan p join claim c using (claim_id)
         where p.status = 'active' for update of p skip locked",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (plan_id, claim_id, started_on, claim_state) in plans {
        if matches!(claim_state.as_str(), "paid" | "withdrawn" | "written_off") {
            end_live_plan(&mut tx, claim_id, "completed", today).await?;
            report.completed += 1;
            continue;
        }
        let inst: Vec<(NaiveDate, Decimal)> = sqlx::query_as(
            "select due_date, amount from plan_instalment where plan_id = $1 order by seq",
        )
        .bind(plan_id)
        .fetch_all(&mut *tx)
        .await?;
        let paid: Decimal = sqlx::query_scalar(
            "select coalesce(sum(amount), 0) from payment where claim_id = $1 and kind = 'payment' and booked_on >= $2",
        )
        .bind(claim_id)
        .bind(started_on)
        .fetch_one(&mut *tx)
        .await?;
        let inst: Vec<(NaiveDate, Sek)> =
            inst.into_iter().map(|(d, a)| (d, Sek::from_decimal(a))).collect();
        if !is_broken(&inst, Sek::from_decimal(paid), today, days) {
            continue;
        }
        end_live_plan(&mut tx, claim_id, "broken", today).await?;
        let rec = claims::find(&mut tx, claim_id, None)
            .await?
            .ok_or_else(|| anyhow::anyhow!("claim {claim_id} is gone"))?;
        let statement = claims::load_statement(&mut tx, &rec, &params, today).await?;
        let rules = params.book.in_force(today);
        let snapshot = crate::claims::letters::build(
            LetterKind::PlanBroken,
            &rec,
            &statement,
            today,
            crate::domain::lifecycle::deadline(LetterKind::PlanBroken, today, rules),
            rules.valid_from,
            &state.config.identity,
        );
        let letter_id = crate::claims::letters::queue(&mut tx, &rec, &snapshot, now).await?;
        claims::add_event(
            &mut tx,
            claim_id,
            now,
            today,
            "payment_plan_broken",
            None,
            json!({"paid": paid, "letter_id": letter_id}),
            None,
        )
        .await?;
        // The lifecycle resumes: the engine looks at the claim again today.
        claims::wake(&mut tx, claim_id, today).await?;
        report.broken += 1;
    }
    tx.commit().await?;
    Ok(report)
}
