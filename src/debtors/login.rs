//! BankID login to Mina sidor: starts an `/auth` order and, once the debtor has identified in
//! the app, turns it into a session. The order pages are the shared [`crate::auth::bankid`] flow.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use super::service;
use crate::auth::session;
use crate::{
    auth::bankid::{self as flow, LOGIN},
    bankid::AuthRequest,
    state::AppState,
    web::{cookies, prelude::*, safe_next},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/logga-in", get(login_page).post(start))
        .route("/mina-sidor/logga-ut", post(logout))
        .route("/mina-sidor/bankid/{id}/klar", get(finish))
        .merge(flow::routes(&LOGIN))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NextQuery {
    next: String,
}

async fn login_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if ctx.debtor.is_some() {
        return Ok(see_other("/mina-sidor"));
    }
    Ok(render(&LoginPage::new(&state, &ctx, q.next, None)))
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(q): Form<NextQuery>,
) -> Result<Response, AppError> {
    let page = |error: &'static str| LoginPage::new(&state, &ctx, q.next.clone(), Some(error));
    let Some(client) = state.bankid.clone() else {
        return Ok(render_status(
            StatusCode::SERVICE_UNAVAILABLE,
            &page("Inloggning med BankID är inte påslagen på den här servern."),
        ));
    };
    if let Some(message) = flow::throttled(&state, &ctx.ip).await? {
        return Ok(render_status(StatusCode::TOO_MANY_REQUESTS, &page(message)));
    }
    let req = AuthRequest::new(&ctx.ip, "Logga in på Fordra Mina sidor.");
    let order = match client.auth(&req).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "BankID auth failed");
            return Ok(render_status(StatusCode::BAD_GATEWAY, &page(e.user_message())));
        }
    };
    let next = safe_next(Some(&q.next)).filter(|n| n.starts_with("/mina-sidor"));
    flow::started(&state, (&ctx, &headers), &LOGIN, &order, next).await
}

/// A completed order becomes a session, once, in the browser that started it.
async fn finish(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (order, pnr, completion) = match flow::completed(&state, &headers, &LOGIN, &id).await? {
        Ok(done) => done,
        Err(resp) => return Ok(resp),
    };
    let user = completion.get("user");
    let field =
        |k: &str| user.and_then(|u| u.get(k)).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let names = (field("givenName"), field("surname"));
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    let Some(token) = service::sign_in(&mut conn, &order, &pnr, names, &ctx.ip, now).await? else {
        return Ok(flash_redirect(
            "/mina-sidor/logga-in",
            FlashKind::Error,
            "Inloggningen är redan använd. Logga in igen.",
        ));
    };
    let to = order.next_path.clone().unwrap_or_else(|| "/mina-sidor".into());
    let mut resp = see_other(&to);
    cookies::clear_named(&mut resp, cookies::BANKID);
    cookies::set_named(&mut resp, cookies::DEBTOR, &token, state.config.secure_cookies());
    Ok(resp)
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if let Some(d) = &ctx.debtor {
        session::delete(&mut *state.db.acquire().await?, &d.session_hash).await?;
    }
    let mut resp = flash_redirect("/mina-sidor/logga-in", FlashKind::Success, "Du är utloggad.");
    cookies::clear_named(&mut resp, cookies::DEBTOR);
    Ok(resp)
}
