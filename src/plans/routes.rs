//! The payment plan's pages: the debtor's form, proposal and withdrawal, the creditor's
//! decision and policy. Handlers extract, call one service function, and render or redirect.

use super::views::*;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use crate::claims::{Reader, web::on_claim};

use super::{
    Policy,
    service::{self, Proposed},
};
use crate::{
    auth::Ctx,
    claims::web::visible_claim,
    domain::money::Sek,
    state::AppState,
    web::{
        extract::{Form, Query},
        prelude::*,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/arenden/{id}/amorteringsplan", get(form_page).post(propose))
        .route("/mina-sidor/arenden/{id}/amorteringsplan/aterkalla", post(withdraw))
        .route("/borgenar/krav/{id}/amorteringsplan", post(creditor_decide))
        .route("/borgenar/amorteringsplaner", get(policy_page).post(policy_save))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PreviewQuery {
    months: String,
}

/// The plan form; with `?months=N` the exact plan for N months, to confirm.
async fn form_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let rec = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let form = service::form(&mut conn, rec, state.clock.today(), &q.months).await?;
    Ok(render(&FormPage::new(&ctx, form, q.months)))
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
    let mut conn = state.db.acquire().await?;
    let rec = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let outcome = service::propose(
        &mut conn,
        &state.config.identity,
        rec.claim_id,
        &me.personal_number,
        &form.months,
        &form.total,
        state.clock.now(),
        state.clock.today(),
    )
    .await?;
    Ok(match outcome {
        Proposed::Done(message) => flash_redirect(
            &format!("/mina-sidor/arenden/{}", rec.claim_id),
            FlashKind::Success,
            message,
        ),
        Proposed::Invalid(f) => {
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &FormPage::new(&ctx, *f, form.months))
        }
    })
}

/// The debtor takes back a proposal the creditor has not decided.
async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let rec = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let back = format!("/mina-sidor/arenden/{}", rec.claim_id);
    let (now, today) = (state.clock.now(), state.clock.today());
    Ok(if service::withdraw_proposal(&mut conn, rec.claim_id, now, today).await? {
        flash_redirect(
            &back,
            FlashKind::Success,
            "Ditt förslag om amorteringsplan är återkallat. Ärendet fortsätter som vanligt.",
        )
    } else {
        flash_redirect(
            &back,
            FlashKind::Error,
            "Det finns inget förslag att återkalla: borgenären har redan beslutat.",
        )
    })
}

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
    let on = on_claim(&ctx, Reader::Creditor, &id, &state.clock)?;
    let (decision, note) = (form.decision.as_str(), form.reject_note.trim());
    let mut conn = state.db.acquire().await?;
    let outcome = service::decide(&mut conn, &state.config.identity, &on, decision, note).await?;
    Ok(flash_outcome(&on.back(), outcome))
}

async fn policy_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let p = service::policy(&mut conn, creditor_id).await?;
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
    let months = match form.max_months.trim().parse::<u32>() {
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
    let policy = Policy { max_months: months, min_instalment: min, auto_approve_up_to: auto };
    let mut conn = state.db.acquire().await?;
    service::save_policy(&mut conn, creditor_id, &policy, user.id, &ctx.ip, state.clock.now())
        .await?;
    Ok(flash_redirect(
        "/borgenar/amorteringsplaner",
        FlashKind::Success,
        "Policyn för amorteringsplaner är sparad.",
    ))
}
