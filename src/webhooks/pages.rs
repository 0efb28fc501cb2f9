//! Webhooks in the portals (`/borgenar/webhooks`, `/partner/webhooks`): subscriptions (the
//! secret shown once), the delivery log with response code, time and attempts, and "Skicka
//! igen".

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    auth::{Ctx, Role, api_key::Owner},
    state::AppState,
    web::{Form, path_id, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar/webhooks", get(page).post(create))
        .route("/borgenar/webhooks/{id}/avsluta", post(remove))
        .route("/borgenar/webhooks/leveranser/{id}/igen", post(resend))
        .route("/partner/webhooks", get(page).post(create))
        .route("/partner/webhooks/{id}/avsluta", post(remove))
        .route("/partner/webhooks/leveranser/{id}/igen", post(resend))
}

fn owner_of(ctx: &Ctx) -> Result<(Owner, &'static str), AppError> {
    let user = ctx.require_portal_user()?;
    match (user.role, user.creditor_id, user.partner_id) {
        // Only the company's owner manages its subscriptions.
        (Role::Creditor, Some(c), _) if user.creditor_owner => {
            Ok((Owner::Creditor(c), "/borgenar/webhooks"))
        }
        (Role::Partner, _, Some(p)) => Ok((Owner::Partner(p), "/partner/webhooks")),
        _ => Err(AppError::Forbidden),
    }
}

/// The form: the URL and a checkbox per event (named with `_` for `.`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct SubscribeForm {
    url: String,
    claim_state_changed: Option<String>,
    claim_payment_received: Option<String>,
    claim_dispute_opened: Option<String>,
    claim_dispute_answered: Option<String>,
    settlement_created: Option<String>,
}

#[derive(Template)]
#[template(path = "webhooks/page.html")]
struct WebhooksPage {
    layout: Layout,
    base: &'static str,
    subscriptions: Vec<super::Subscription>,
    log: Vec<super::LogRow>,
    events: [&'static str; 5],
    url: String,
    errors: FieldErrors,
    /// Just made: (url, secret), shown this once.
    created: Option<(String, String)>,
}

async fn view(state: &AppState, ctx: &Ctx) -> Result<WebhooksPage, AppError> {
    let (owner, base) = owner_of(ctx)?;
    let mut conn = state.db.acquire().await?;
    Ok(WebhooksPage {
        layout: ctx.layout(),
        base,
        subscriptions: super::list(&mut conn, owner).await?,
        log: super::log(&mut conn, owner).await?,
        events: super::EVENTS,
        url: String::new(),
        errors: FieldErrors::default(),
        created: None,
    })
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    Ok(render(&view(&state, &ctx).await?))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SubscribeForm>,
) -> Result<Response, AppError> {
    let (owner, _) = owner_of(&ctx)?;
    let user = ctx.user().map(|u| u.id);
    let checked = [
        ("claim.state_changed", &form.claim_state_changed),
        ("claim.payment_received", &form.claim_payment_received),
        ("claim.dispute_opened", &form.claim_dispute_opened),
        ("claim.dispute_answered", &form.claim_dispute_answered),
        ("settlement.created", &form.settlement_created),
    ];
    let events: Vec<String> =
        checked.iter().filter(|(_, on)| on.is_some()).map(|(e, _)| e.to_string()).collect();
    let made = super::subscribe(
        &mut *state.db.acquire().await?,
        owner,
        (&form.url, &events),
        (user, state.config.webhooks_allow_private, state.clock.now()),
    )
    .await?;
    match made {
        Ok((_, secret)) => {
            let page = WebhooksPage {
                created: Some((form.url.trim().to_string(), secret)),
                ..view(&state, &ctx).await?
            };
            Ok(render_status(StatusCode::CREATED, &page))
        }
        Err((field, why)) => {
            let mut errors = FieldErrors::default();
            errors.add(field, why);
            let page = WebhooksPage { url: form.url, errors, ..view(&state, &ctx).await? };
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

async fn remove(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (owner, base) = owner_of(&ctx)?;
    let id = path_id(&id)?;
    if !super::unsubscribe(&mut *state.db.acquire().await?, owner, id, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash_redirect(base, FlashKind::Success, "Prenumerationen är avslutad."))
}

async fn resend(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (owner, base) = owner_of(&ctx)?;
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    if !super::resend(&mut *state.db.acquire().await?, owner, id, state.clock.now()).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash_redirect(
        base,
        FlashKind::Success,
        "Leveransen skickas igen vid nästa körning, inom någon minut.",
    ))
}

fn state_label(state: &str) -> &'static str {
    match state {
        "delivered" => "Levererad",
        "failed" => "Gav upp efter 24 timmar",
        _ => "Väntar på nytt försök",
    }
}
