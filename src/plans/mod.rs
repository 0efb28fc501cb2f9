//! Payment plans (amorteringsplan). The debtor proposes 2–12 monthly instalments on Mina sidor.
//! Within the creditor's policy (maximum months, minimum instalment, auto-approve up to an
//! amount) the plan starts at once; otherwise the creditor decides on its claim page. A started
//! plan is a letter with the schedule and one OCR per instalment, the 170 kr fee for a consumer
//! (A6; none for a business debtor, whose 450 kr covers it), and pauses escalation. The engine
//! checks kept instalments every pass: one more than `plan_break_days_late` days late breaks the
//! plan with a letter, and the lifecycle resumes.

use askama::Template;
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};

use crate::claims::web::visible_claim;
pub use crate::domain::plan::{Policy, due_dates, is_broken, within_policy};
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
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/mina-sidor/arenden/{id}/amorteringsplan",
            get(form_page).post(propose),
        )
        .route(
            "/mina-sidor/arenden/{id}/amorteringsplan/aterkalla",
            post(withdraw),
        )
        .route("/borgenar/krav/{id}/amorteringsplan", post(creditor_decide))
        .route(
            "/borgenar/amorteringsplaner",
            get(policy_page).post(policy_save),
        )
}

// --- Policy -------------------------------------------------------------------------------------

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

// --- Schedule (pure) ----------------------------------------------------------------------------

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
    };
    plan::schedule(dates, moves, |moves, on| {
        Ok(claims::compute_statement(rec, fees, moves, params, on)?.balance)
    })
}

// --- Views --------------------------------------------------------------------------------------

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
async fn end_plan(
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
    sqlx::query!(
        "update claim set payment_plan_active = false where claim_id = $1",
        claim_id
    )
    .execute(conn)
    .await?;
    Ok(true)
}

// --- Debtor: propose ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "debtors/plan.html")]
struct FormPage {
    layout: Layout,
    c: ClaimRecord,
    options: Vec<(u32, Sek)>,
    fee: Sek,
    months: String,
    errors: FieldErrors,
    blocked: Option<&'static str>,
    /// The exact plan for the chosen months, shown before the debtor confirms it.
    preview: Option<Preview>,
}

/// The exact instalments of a plan, as the debtor confirms them.
struct Preview {
    months: u32,
    lines: Vec<(NaiveDate, Sek)>,
    total: Sek,
}

impl Preview {
    fn of(p: &Prepared, months: u32) -> anyhow::Result<Preview> {
        let lines = p.schedule(months)?;
        let total = lines.iter().map(|(_, a)| *a).sum();
        Ok(Preview {
            months,
            lines,
            total,
        })
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PreviewQuery {
    months: String,
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
        FeeDecision::Charge { kind, amount } => Some(FeeCharge {
            kind,
            amount,
            charged_on: today,
        }),
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
    Ok(Prepared {
        today,
        rec,
        fee,
        fees,
        moves,
        params,
        balance,
        live,
    })
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
        .map(|m| {
            (
                m,
                Sek::from_decimal((p.balance.amount() / Decimal::from(m)).ceil()),
            )
        })
        .collect()
}

/// The number of months a debtor chose, if it is one Fordra offers.
fn chosen_months(p: &Prepared, text: &str) -> Option<u32> {
    let max = p.params.book.in_force(p.today).plan_max_months.clamp(2, 12);
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|m| (2..=max).contains(m))
}

/// The plan form; with `?months=N` the exact plan for N months, to confirm.
async fn form_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let rec = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let p = prepare(&mut conn, rec, today).await?;
    let blocked = plan_blocked(&p.rec, p.live, p.balance);
    let mut errors = FieldErrors::default();
    let preview = match (q.months.trim(), blocked) {
        ("", _) | (_, Some(_)) => None,
        (text, None) => match chosen_months(&p, text) {
            Some(m) => Some(Preview::of(&p, m)?),
            None => {
                errors.add("months", "Välj antal månader i listan.");
                None
            }
        },
    };
    Ok(render(&FormPage {
        layout: ctx.layout(),
        blocked,
        options: options(&p, today),
        fee: p.fee.map(|f| f.amount).unwrap_or_default(),
        months: q.months,
        errors,
        preview,
        c: p.rec,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProposeForm {
    months: String,
    /// The plan's total as the debtor saw it; a different total today is shown again first.
    total: String,
}

async fn propose(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ProposeForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let today = state.clock.today();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rec = visible_claim(&mut tx, &me.personal_number, &id).await?;
    sqlx::query("select 1 from claim where claim_id = $1 for update")
        .bind(rec.claim_id)
        .execute(&mut *tx)
        .await?;
    let p = prepare(&mut tx, rec, today).await?;
    let mut errors = FieldErrors::default();
    let max = p.params.book.in_force(today).plan_max_months.clamp(2, 12);
    let months = chosen_months(&p, &form.months);
    if months.is_none() {
        errors.add("months", format!("Välj mellan 2 och {max} månader."));
    }
    if let Some(reason) = plan_blocked(&p.rec, p.live, p.balance) {
        errors.add("months", reason);
    }
    let preview = match months {
        Some(m) if errors.is_empty() => Some(Preview::of(&p, m)?),
        _ => None,
    };
    // The debtor confirms the exact plan they saw: if the amounts moved since (a new day's
    // interest, a payment), they see the new plan and confirm again.
    let seen = Sek::parse(&form.total).ok();
    if let Some(pv) = &preview
        && seen != Some(pv.total)
    {
        errors.add(
            "months",
            "Beloppen har ändrats sedan du såg planen. Kontrollera den nya planen och bekräfta igen.",
        );
    }
    if !errors.is_empty() {
        drop(tx);
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage {
                layout: ctx.layout(),
                blocked: None,
                options: options(&p, today),
                fee: p.fee.map(|f| f.amount).unwrap_or_default(),
                months: form.months,
                errors,
                preview,
                c: p.rec,
            },
        ));
    }
    let Some(Preview {
        months,
        lines: sched,
        total,
    }) = preview
    else {
        return Err(AppError::BadRequest("ingen plan".into()));
    };
    let pol = policy(&mut tx, p.rec.creditor_id).await?;
    let plan_id = Uuid::new_v4();
    sqlx::query!("insert into payment_plan (plan_id, claim_id, personal_number, months, total, fee, status, proposed_at)
         values ($1, $2, $3, $4, $5, $6, 'proposed', $7)", plan_id, p.rec.claim_id, &me.personal_number, months as i32, total.amount(), p.fee.map(|f| f.amount.amount()).unwrap_or_default(), now)
    .execute(&mut *tx)
    .await?;
    // Escalation waits while the creditor decides.
    sqlx::query!(
        "update claim set payment_plan_active = true where claim_id = $1",
        p.rec.claim_id
    )
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
        start(
            &mut tx,
            &state.config.identity,
            plan_id,
            &p,
            &sched,
            now,
            None,
        )
        .await?;
        "Din amorteringsplan är godkänd. Planen med OCR-nummer för varje delbetalning finns under Brev."
    } else {
        "Ditt förslag är skickat till borgenären, som beslutar om det. Inga nya steg tas under tiden."
    };
    tx.commit().await?;
    Ok(flash_redirect(
        &format!("/mina-sidor/arenden/{}", p.rec.claim_id),
        FlashKind::Success,
        message,
    ))
}

/// The debtor takes back a proposal the creditor has not decided: the pause ends and the
/// lifecycle looks at the claim again today.
async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let today = state.clock.today();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let rec = visible_claim(&mut tx, &me.personal_number, &id).await?;
    let back = format!("/mina-sidor/arenden/{}", rec.claim_id);
    sqlx::query("select 1 from claim where claim_id = $1 for update")
        .bind(rec.claim_id)
        .execute(&mut *tx)
        .await?;
    if !end_plan(&mut tx, rec.claim_id, &["proposed"], "withdrawn", today).await? {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Det finns inget förslag att återkalla: borgenären har redan beslutat.",
        ));
    }
    claims::wake(&mut tx, rec.claim_id, today).await?;
    claims::add_event(
        &mut tx,
        rec.claim_id,
        now,
        today,
        "payment_plan_withdrawn",
        None,
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(flash_redirect(
        &back,
        FlashKind::Success,
        "Ditt förslag om amorteringsplan är återkallat. Ärendet fortsätter som vanligt.",
    ))
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
        lines.push(ScheduleLine {
            due_date: *due,
            amount: *amount,
            ocr,
        });
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

/// Stores a plan letter (schedule or broken plan) and queues it for delivery; returns its id.
// --- Creditor -----------------------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecideForm {
    decision: String,
    reject_note: String,
}

async fn creditor_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let c = claims::web::own_claim(&mut conn, creditor_id, &id).await?;
    let back = format!("/borgenar/krav/{}", c.claim_id);
    let today = state.clock.today();
    let now = state.clock.now();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("select 1 from claim where claim_id = $1 for update")
        .bind(c.claim_id)
        .execute(&mut *tx)
        .await?;
    let Some((plan_id, months)): Option<(Uuid, i32)> = sqlx::query_as(
        "select plan_id, months from payment_plan where claim_id = $1 and status = 'proposed'",
    )
    .bind(c.claim_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Det finns inget förslag att besluta om.",
        ));
    };
    let note = form.reject_note.trim().to_string();
    let message = match form.decision.as_str() {
        "approve" => {
            let p = prepare(&mut tx, c.clone(), today).await?;
            let sched = p.schedule(months as u32)?;
            start(
                &mut tx,
                &state.config.identity,
                plan_id,
                &p,
                &sched,
                now,
                Some(user.id),
            )
            .await?;
            audit(
                &mut tx,
                now,
                Some(user.id),
                "payment_plan_decided",
                Some(&c.claim_id.to_string()),
                json!({"decision": form.decision}),
                Some(&ctx.ip),
            )
            .await?;
            "Amorteringsplanen är godkänd. Gäldenären får planen med OCR-nummer för varje delbetalning."
        }
        "reject" if note.chars().count() >= 5 => {
            sqlx::query!("update payment_plan set decision_note = $2, decided_at = $3, decided_by = $4 where plan_id = $1", plan_id, &note, now, user.id)
                .execute(&mut *tx)
                .await?;
            end_live_plan(&mut tx, c.claim_id, "rejected", today).await?;
            claims::web::record_change(
                &mut tx,
                &c,
                user.id,
                &ctx.ip,
                "payment_plan_rejected",
                json!({"note": note}),
                now,
                today,
            )
            .await?;
            "Förslaget är avslaget. Indrivningen fortsätter."
        }
        "reject" => {
            return Ok(flash_redirect(
                &back,
                FlashKind::Error,
                "Skriv varför förslaget avslås (minst 5 tecken). Gäldenären får läsa det.",
            ));
        }
        _ => {
            return Ok(flash_redirect(
                &back,
                FlashKind::Error,
                "Välj godkänn eller avslå.",
            ));
        }
    };
    tx.commit().await?;
    Ok(flash_redirect(&back, FlashKind::Success, message))
}

#[derive(Template)]
#[template(path = "debtors/policy.html")]
struct PolicyPage {
    layout: Layout,
    max_months: String,
    min_instalment: String,
    auto_approve_up_to: String,
    errors: FieldErrors,
}

async fn policy_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let p = policy(&mut conn, creditor_id).await?;
    Ok(render(&PolicyPage {
        layout: ctx.layout(),
        max_months: p.max_months.to_string(),
        min_instalment: p.min_instalment.to_string().replace(" kr", ""),
        auto_approve_up_to: p.auto_approve_up_to.to_string().replace(" kr", ""),
        errors: FieldErrors::default(),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PolicyForm {
    max_months: String,
    min_instalment: String,
    auto_approve_up_to: String,
}

async fn policy_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<PolicyForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut errors = FieldErrors::default();
    let months = match form.max_months.trim().parse::<i32>() {
        Ok(m) if (2..=12).contains(&m) => m,
        _ => {
            errors.add("max_months", "Ange ett antal månader mellan 2 och 12.");
            0
        }
    };
    let mut money = |field: &str, v: &str| match Sek::parse(v) {
        Ok(a) if !a.is_negative() => a,
        Ok(_) => {
            errors.add(field, "Beloppet kan inte vara negativt.");
            Sek::default()
        }
        Err(e) => {
            errors.add(field, e.to_string());
            Sek::default()
        }
    };
    let min = money("min_instalment", &form.min_instalment);
    let auto = money("auto_approve_up_to", &form.auto_approve_up_to);
    if !errors.is_empty() {
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PolicyPage {
                layout: ctx.layout(),
                max_months: form.max_months,
                min_instalment: form.min_instalment,
                auto_approve_up_to: form.auto_approve_up_to,
                errors,
            },
        ));
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!("insert into plan_policy (creditor_id, max_months, min_instalment, auto_approve_up_to, updated_at, updated_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (creditor_id) do update set max_months = $2, min_instalment = $3, auto_approve_up_to = $4,
            updated_at = $5, updated_by = $6", creditor_id, months, min.amount(), auto.amount(), now, user.id)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, now, Some(user.id), "plan_policy_changed", Some(&creditor_id.to_string()),
        json!({"max_months": months, "min_instalment": min.to_plain(), "auto_approve_up_to": auto.to_plain()}), Some(&ctx.ip))
        .await?;
    tx.commit().await?;
    Ok(flash_redirect(
        "/borgenar/amorteringsplaner",
        FlashKind::Success,
        "Policyn för amorteringsplaner är sparad.",
    ))
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
        let inst: Vec<(NaiveDate, Sek)> = inst
            .into_iter()
            .map(|(d, a)| (d, Sek::from_decimal(a)))
            .collect();
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
