//! The claim page: the creditor's page of one claim (statement, letters, timeline, the next step)
//! with its actions (withdraw, direct payment, reduce, pause), and the staff view of the same page
//! with the blocking flags. It composes what disputes, payment plans and payments show of the
//! claim, so it sits above them.

use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;
use views::*;

use crate::claims::{OnClaim, Reader, web::on_claim};
use crate::{
    auth::{Ctx, STAFF},
    claims::{
        self, Scope,
        web::{any_claim, view_of},
    },
    domain::{
        fees::FeeKind,
        lifecycle::{self, ClaimState},
        money::Sek,
    },
    letters,
    state::AppState,
    web::{extract::Form, prelude::*},
};

pub mod actions;
mod service;
mod views;

use actions::Outcome;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar/krav/{id}", get(creditor_page))
        .route("/borgenar/krav/{id}/atgard", post(creditor_action))
        .route("/admin/krav/{id}", get(staff_page))
        .route("/admin/krav/{id}/flaggor", post(staff_flags))
}
// ---------------------------------------------------------------------------------------------
// Claim page

use claims::{EventSummary as EventRow, LetterSummary as LetterRow};

impl EventRow {
    /// The timeline line, in Swedish.
    fn text(&self) -> String {
        let d = |k: &str| self.detail.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let amount = || Sek::parse(&d("amount")).map(|a| a.to_string()).unwrap_or_default();
        match self.kind.as_str() {
            "registered" => "Fordran registrerades".into(),
            kind @ ("reminder" | "collection" | "final_notice") => {
                let title = letters::title_of(kind);
                let fee = self
                    .detail
                    .pointer("/fee/amount")
                    .and_then(Value::as_str)
                    .and_then(|a| Sek::parse(a).ok())
                    .map(|a| format!(", avgift {a}"))
                    .unwrap_or_default();
                format!("{title} skapades{fee}")
            }
            "letter_dispatched" => {
                let kind = letters::title_of(&d("kind"));
                let how = if d("channel") == "email" {
                    "med e-post"
                } else {
                    "med post"
                };
                format!(
                    "{kind} skickades {how}, sista betalningsdag {}",
                    d("deadline")
                )
            }
            "enforcement_ready" => {
                "Klar för ansökan om betalningsföreläggande hos Kronofogden".into()
            }
            "withdrawn" => format!("Återkallad av borgenären. {}", d("note")),
            "paused" => format!("Pausad av borgenären. {}", d("note")),
            "resumed" => "Återupptagen av borgenären".into(),
            "direct_payment" => format!(
                "Direktbetalning till borgenären {} den {}",
                amount(),
                d("on_date")
            ),
            "credit" => format!("Kreditering {} den {}", amount(), d("on_date")),
            "paid" => match Sek::parse(&d("overpaid")) {
                Ok(over) if over.is_positive() => {
                    format!("Betald i sin helhet; {over} för mycket återbetalas till betalaren")
                }
                _ => "Betald i sin helhet".into(),
            },
            "payment_received" => format!(
                "Betalning {} bokförd {} ({})",
                amount(),
                d("booked_on"),
                if d("match") == "manual" {
                    "kopplad för hand av Fordra"
                } else {
                    "OCR"
                }
            ),
            "fee_cancelled" => format!(
                "Avgiften {} togs bort: fordran var betald innan brevet skickades",
                FeeKind::parse(&d("kind")).map_or("", |k| k.label())
            ),
            "flag_set" => format!("Fordra markerade: {}", flag_label(&d("flag"))),
            "flag_cleared" => format!("Fordra tog bort markeringen: {}", flag_label(&d("flag"))),
            "address_verified" => "Adressen kontrollerad av Fordra".into(),
            "engine_error" => "Automatiskt steg misslyckades; Fordra undersöker".into(),
            "disputed" => format!(
                "Gäldenären bestred kravet på Mina sidor ({}). Alla automatiska steg stoppades",
                crate::disputes::reason_label(&d("reason")).to_lowercase()
            ),
            "dispute_answered" => match d("answer").as_str() {
                "withdraw" => "Borgenären återkallade kravet efter bestridandet".into(),
                "reduce" => format!("Borgenären sänkte kravet med {} efter bestridandet", Sek::parse(&d("reduced_by")).map(|a| a.to_string()).unwrap_or_default()),
                _ => "Borgenären står fast vid kravet efter bestridandet".into(),
            },
            "dispute_closed" => format!("Fordra avslutade det bestridda ärendet. {}", d("note")),
            "released_for_court" => format!(
                "Fordra lämnade det bestridda ärendet för prövning i tingsrätt (aldrig Kronofogden). {}",
                d("note")
            ),
            "payment_plan_proposed" => format!("Gäldenären föreslog en amorteringsplan på {} månader", self.detail.get("months").and_then(Value::as_u64).unwrap_or(0)),
            "payment_plan_started" => format!("Amorteringsplan på {} månader startade", self.detail.get("months").and_then(Value::as_u64).unwrap_or(0)),
            "payment_plan_rejected" => format!("Förslaget om amorteringsplan avslogs. {}", d("note")),
            "payment_plan_withdrawn" => "Gäldenären återkallade sitt förslag om amorteringsplan".into(),
            "payment_plan_broken" => "Amorteringsplanen bröts: en delbetalning kom inte in i tid. Indrivningen fortsätter".into(),
            "address_changed" => "Gäldenärens nya adress godkändes av Fordra".into(),
            "refund_account_given" => "Gäldenären angav konto för återbetalning".into(),
            other => other.replace('_', " "),
        }
    }
}

pub const FLAGS: &[(&str, &str)] = &[
    ("deceased", "Gäldenären avliden"),
    ("returned_mail", "Post i retur"),
    ("on_hold", "Pausad av Fordra"),
];

fn flag_label(flag: &str) -> &'static str {
    FLAGS.iter().find(|(k, _)| *k == flag).map(|(_, l)| *l).unwrap_or("okänd markering")
}

pub struct Planned {
    pub label: &'static str,
    pub date: NaiveDate,
}

fn planned_label(state: ClaimState) -> &'static str {
    match state {
        ClaimState::Reminder => "Betalningspåminnelse skickas",
        ClaimState::Collection => "Inkassokrav skickas",
        ClaimState::FinalNotice => "Slutlig påminnelse skickas",
        ClaimState::EnforcementReady => "Klar för ansökan hos Kronofogden",
        _ => "",
    }
}

struct PageInput {
    errors: FieldErrors,
    action: String,
    amount: String,
    on_date: String,
    note: String,
}

impl PageInput {
    fn empty() -> PageInput {
        PageInput {
            errors: FieldErrors::default(),
            action: String::new(),
            amount: String::new(),
            on_date: String::new(),
            note: String::new(),
        }
    }
}

async fn claim_page(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    view: claims::ClaimView,
    staff: bool,
    input: PageInput,
) -> Result<ClaimPage, AppError> {
    let today = state.clock.today();
    let params = state.parameters(&mut *conn).await?;
    let s = view.statement(&params, today)?;
    let letter = view.current_letter();
    let claims::ClaimView {
        rec,
        letters,
        events,
        books,
        has_dispute,
        has_plan,
        registered_by_partner,
        ..
    } = view;
    let (planned, blocked) =
        match lifecycle::plan(&rec.snapshot(letter), today, params.book.in_force(today)) {
            Ok(steps) => (
                steps
                    .into_iter()
                    .map(|(state, date)| Planned { label: planned_label(state), date })
                    .collect(),
                None,
            ),
            Err(reason) => (vec![], Some(reason.label())),
        };
    let dispute =
        if has_dispute { crate::disputes::latest(&mut *conn, rec.claim_id).await? } else { None };
    let plan = if has_plan { crate::plans::latest(&mut *conn, rec.claim_id).await? } else { None };
    let address_changes = if staff {
        service::pending_address_changes(&mut *conn, &rec.debtor_id_number).await?
    } else {
        vec![]
    };
    Ok(ClaimPage {
        registered_by_partner,
        dispute,
        plan,
        address_changes,
        layout: ctx.layout(),
        books,
        fees: s.fees.iter().filter(|f| !f.cancelled).cloned().collect(),
        segments: s.current_segments.clone(),
        s,
        c: rec,
        letters,
        events,
        planned,
        blocked,
        bankgiro: state.config.identity.bankgiro.clone(),
        staff,
        base: if staff { "/admin/krav" } else { "/borgenar/krav" },
        errors: input.errors,
        action: input.action,
        amount: input.amount,
        on_date: input.on_date,
        note: input.note,
    })
}

async fn creditor_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let view = view_of(&mut conn, &state, &ctx, Scope::Creditor(creditor_id), &id).await?;
    Ok(render(&claim_page(&mut conn, &state, &ctx, view, false, PageInput::empty()).await?))
}

// ---------------------------------------------------------------------------------------------
// Creditor actions

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    action: String,
    amount: String,
    on_date: String,
    note: String,
}

async fn creditor_action(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let on = on_claim(&ctx, Reader::Creditor, &id, &state.clock)?;
    let back = on.back();
    let input = actions::ActionInput {
        action: &form.action,
        amount: &form.amount,
        on_date: &form.on_date,
        note: &form.note,
    };
    let (params, identity) = (&state.params, &state.config.identity);
    let mut conn = state.db.acquire().await?;
    let actor = actions::Actor::from(&on.by);
    let outcome = actions::creditor_action(
        &mut conn,
        params,
        identity,
        (on.claim_id, on.creditor),
        &actor,
        &input,
    )
    .await?;
    Ok(match outcome {
        Outcome::Done(message) => flash_redirect(&back, FlashKind::Success, &message),
        Outcome::Closed => flash_redirect(&back, FlashKind::Error, Outcome::closed_message()),
        Outcome::NotAllowed => flash_redirect(
            &back,
            FlashKind::Error,
            "Åtgärden gick inte att utföra i fordrans nuvarande läge.",
        ),
        Outcome::Invalid(errors) => {
            refuse_action(&mut conn, &state, &ctx, &on, errors, form).await?
        }
    })
}

/// The claim page again, with the action form's input and its errors (422).
async fn refuse_action(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    on: &OnClaim<'_>,
    errors: FieldErrors,
    form: ActionForm,
) -> Result<Response, AppError> {
    let scope = Scope::Creditor(on.creditor.ok_or(AppError::Forbidden)?);
    let note = form.note.trim().to_string();
    let input =
        PageInput { errors, action: form.action, amount: form.amount, on_date: form.on_date, note };
    let view = view_of(&mut *conn, state, ctx, scope, &on.claim_id.to_string()).await?;
    let page = claim_page(conn, state, ctx, view, false, input).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

async fn staff_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let view = view_of(&mut conn, &state, &ctx, Scope::Any, &id).await?;
    Ok(render(&claim_page(&mut conn, &state, &ctx, view, true, PageInput::empty()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FlagForm {
    flag: String,
    value: String,
}

/// Sets or clears deceased, returned mail or on hold; `address_verified` records a checked
/// address and clears returned mail. Audited, on the timeline, and the engine looks again today.
async fn staff_flags(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FlagForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let rec = any_claim(&mut conn, &id).await?;
    let back = format!("/admin/krav/{}", rec.claim_id);
    let on = form.value == "on";
    let by = ctx.acting(user, &state.clock);
    let message = service::set_flag(&mut conn, &rec, &form.flag, on, &by).await?;
    Ok(flash_redirect(&back, FlashKind::Success, &message))
}
