//! The partner's pages.

use super::views::*;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::get,
};
use serde::Deserialize;

use crate::{
    auth::{Ctx, Role, STAFF},
    domain::ids::IdNumber,
    state::AppState,
    web::{Form, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner", get(home))
        .route("/partner/kunder", get(customers).post(refer))
        .route("/partner/inkassoskolan", get(school))
        .route("/partner/kunder/{id}/avsluta", axum::routing::post(partner_ends))
        .route("/borgenar/partner/avsluta", axum::routing::post(creditor_ends))
        .route("/r/{number}", get(referral_link))
        .route("/admin/partner", get(admin_list))
        .route("/admin/partner/{id}/beslut", axum::routing::post(admin_decide))
        .merge(super::register::router())
        .merge(super::agreement::router())
        .merge(super::provision::router())
        .merge(super::customers::router())
        .merge(super::help::router())
}

/// The partner user and the partner it works for.
pub(super) fn partner_of(ctx: &Ctx) -> Result<(&crate::auth::User, uuid::Uuid), AppError> {
    let user = ctx.require(&[Role::Partner])?;
    Ok((user, user.partner_id.ok_or(AppError::NotFound)?))
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, partner_id) = partner_of(&ctx)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let p = super::repo::overview(&mut conn, partner_id).await?.ok_or(AppError::NotFound)?;
    let params = state.parameters(&mut conn).await?;
    let period_end = match (p.status.as_str(), p.agreement_signed_on) {
        ("approved", Some(signed)) => {
            crate::domain::partner::period_end(signed, today, params.book.in_force(today))
        }
        _ => None,
    };
    let link = format!("{}/r/{}", state.config.public_url, p.partner_number);
    Ok(render(&PartnerHome { layout: ctx.layout(), p, period_end, link }))
}

/// A partner's referral link: the sign-up form with the partner's number filled in. A number
/// whose check digit is wrong is no link of ours.
async fn referral_link(Path(number): Path<String>) -> Result<Response, AppError> {
    let serial = crate::domain::partner::parse_number(&number).map_err(|_| AppError::NotFound)?;
    let number = crate::domain::partner::number(serial);
    Ok(see_other(&format!("/bli-kund?ref_code={number}")))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct ReferForm {
    pub(super) org_nr: String,
    pub(super) name: String,
    pub(super) email: String,
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    partner_id: uuid::Uuid,
    form: ReferForm,
    errors: FieldErrors,
) -> Result<CustomersPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let today = state.clock.today();
    let referral_days = state.parameters(&mut conn).await?.book.in_force(today).referral_valid_days;
    Ok(CustomersPage {
        referral_days,
        layout: ctx.layout(),
        customers: super::repo::customers(&mut conn, partner_id).await?,
        referrals: super::repo::referrals(&mut conn, partner_id).await?,
        not_attributed: super::repo::not_attributed(&mut conn, partner_id).await?,
        form,
        errors,
    })
}

async fn customers(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, partner_id) = partner_of(&ctx)?;
    let p = page(&state, &ctx, partner_id, ReferForm::default(), FieldErrors::default()).await?;
    Ok(render(&p))
}

async fn refer(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ReferForm>,
) -> Result<Response, AppError> {
    let (_, partner_id) = partner_of(&ctx)?;
    let today = state.clock.today();
    let mut errors = FieldErrors::default();
    let org =
        IdNumber::parse(&form.org_nr, today).map_err(|e| errors.add("org_nr", e.to_string())).ok();
    let name = form.name.trim();
    if name.is_empty() {
        errors.add("name", "Ange företagets namn.");
    }
    let email = form.email.trim();
    if !crate::mail::looks_like_email(email) {
        errors.add("email", "Ange en giltig e-postadress.");
    }
    if let (Some(org), true) = (&org, errors.is_empty()) {
        let mut conn = state.db.acquire().await?;
        let params = state.parameters(&mut conn).await?;
        let referral = super::service::Referral { org_nr: org, name, email };
        let now = state.clock.now();
        match super::service::refer(&mut conn, partner_id, &referral, &params, now, today).await? {
            Ok(()) => {
                return Ok(flash_redirect(
                    "/partner/kunder",
                    FlashKind::Success,
                    &format!(
                        "{name} är hänvisat. Registrerar företaget sig inom {} dagar blir det er kund.",
                        params.book.in_force(today).referral_valid_days
                    ),
                ));
            }
            Err(why) => errors.add("org_nr", why),
        }
    }
    let p = page(&state, &ctx, partner_id, form, errors).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

async fn admin_page(
    state: &AppState,
    ctx: &Ctx,
    errors: FieldErrors,
) -> Result<AdminPage, AppError> {
    let partners = super::repo::all(&mut *state.db.acquire().await?).await?;
    let can_decide = ctx.user().is_some_and(|u| u.role == Role::Admin);
    Ok(AdminPage { layout: ctx.layout(), partners, can_decide, errors })
}

async fn admin_list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    Ok(render(&admin_page(&state, &ctx, FieldErrors::default()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    decision: String,
    reason: String,
}

async fn admin_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let partner_id = path_id(&id)?;
    let reason = form.reason.trim();
    let decision = match form.decision.as_str() {
        "approve" => super::service::Decision::Approve,
        "revoke" if !reason.is_empty() => super::service::Decision::Revoke,
        "revoke" => {
            let mut errors = FieldErrors::default();
            errors.add(
                &format!("reason-{partner_id}"),
                "Ange skälet till att avtalet avslutas; det sparas i loggen.",
            );
            let page = admin_page(&state, &ctx, errors).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
        _ => return Err(AppError::NotFound),
    };
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let done = super::service::decide(&mut conn, partner_id, decision, reason, &by).await?;
    let (kind, message) = match (done, decision) {
        (false, _) => (FlashKind::Error, "Partnern är redan bedömd."),
        (true, super::service::Decision::Approve) => (FlashKind::Success, "Partnern är godkänd."),
        (true, super::service::Decision::Revoke) => {
            (FlashKind::Success, "Partnerns avtal är avslutat från i dag.")
        }
    };
    Ok(flash_redirect("/admin/partner", kind, message))
}

/// The partner ends a relationship with one of its own customers (another's: 404).
async fn partner_ends(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, partner_id) = partner_of(&ctx)?;
    let creditor_id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    if !super::service::end_relationship(&mut conn, creditor_id, Some(partner_id), &by).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash_redirect(
        "/partner/kunder",
        FlashKind::Success,
        "Samarbetet med kunden är avslutat från i dag. Provision för betalningar under de närmaste tolv månaderna räknas fortfarande.",
    ))
}

/// The creditor ends the relationship with its partner.
async fn creditor_ends(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let ended = super::service::end_relationship(&mut conn, creditor_id, None, &by).await?;
    let (kind, message) = if ended {
        (FlashKind::Success, "Ni är inte längre partnerns kund.")
    } else {
        (FlashKind::Info, "Ni har ingen partner.")
    };
    Ok(flash_redirect("/borgenar", kind, message))
}

/// Inkassoskolan: how a case runs and what it costs, from the rules in force today.
async fn school(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    partner_of(&ctx)?;
    let today = state.clock.today();
    let params = state.parameters(&mut *state.db.acquire().await?).await?;
    let rules = params.book.in_force(today).clone();
    let reference = params.rates.period_of(today).filter(|r| !r.projected).map(|r| r.percent);
    Ok(render(&SchoolPage { layout: ctx.layout(), rules, reference, today }))
}
