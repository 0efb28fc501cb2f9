//! BankID login to Mina sidor. Fordra starts an `/auth` order, shows the animated QR code
//! (regenerated on the server every second; the secret never reaches the browser) and collects
//! the order about every two seconds while the page polls. The browser that started an order
//! holds a cookie bound to it: nobody else can follow it or receive the session.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

use super::service;
use crate::auth::session;
use crate::{
    bankid::{self, AuthRequest, BankId, Start},
    crypto::{random_token, sha256},
    state::AppState,
    web::{cookies, prelude::*, safe_next},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/logga-in", get(login_page).post(start))
        .route("/mina-sidor/logga-ut", post(logout))
        .route("/mina-sidor/bankid/{id}", get(order_page))
        .route("/mina-sidor/bankid/{id}/status", get(order_status))
        .route("/mina-sidor/bankid/{id}/klar", get(finish))
        .route("/mina-sidor/bankid/{id}/avbryt", post(cancel))
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

fn is_mobile(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ["Mobi", "Android", "iPhone", "iPad"].iter().any(|m| ua.contains(m)))
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
    // Each start is an order at BankID: at most 20 per address in 10 minutes.
    {
        let mut conn = state.db.acquire().await?;
        let bucket = format!("bankid:{}", ctx.ip);
        let window = chrono::Duration::minutes(10);
        if let crate::auth::rate_limit::Check::Blocked { .. } =
            crate::auth::rate_limit::hit(&mut conn, &bucket, state.clock.now(), 20, window).await?
        {
            return Ok(render_status(
                StatusCode::TOO_MANY_REQUESTS,
                &page("För många inloggningsförsök på kort tid. Vänta en stund och försök igen."),
            ));
        }
    }
    let req = AuthRequest::new(&ctx.ip, "Logga in på Fordra Mina sidor.");
    let order = match client.auth(&req).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "BankID auth failed");
            return Ok(render_status(StatusCode::BAD_GATEWAY, &page(e.user_message())));
        }
    };
    let now = state.clock.now();
    let id = Uuid::new_v4();
    let browser = random_token(32);
    let next = safe_next(Some(&q.next)).filter(|n| n.starts_with("/mina-sidor"));
    let mut conn = state.db.acquire().await?;
    let started = (sha256(&browser), ctx.ip.as_str(), next, is_mobile(&headers));
    service::store_order(&mut conn, id, &order, started, now).await?;
    let mut resp = see_other(&format!("/mina-sidor/bankid/{id}"));
    cookies::set_named(&mut resp, cookies::BANKID, &browser, state.config.secure_cookies());
    Ok(resp)
}

/// The order of `id` and the BankID client, if this browser started it; anything else
/// (also BankID not configured) is 404.
async fn own_order(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Arc<BankId>, service::OrderRow), AppError> {
    let client = state.bankid.clone().ok_or(AppError::NotFound)?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let browser = cookies::get(headers, cookies::BANKID).ok_or(AppError::NotFound)?;
    let order = service::order_for_browser(&mut *state.db.acquire().await?, id, &sha256(browser))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((client, order))
}

/// [`own_order`], collected from BankID when it is due.
async fn fresh_order(
    state: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<service::OrderRow, AppError> {
    let (client, order) = own_order(state, headers, id).await?;
    refresh(state, &client, order).await
}

/// Collects the order from BankID if it is pending and the last collect was about two seconds
/// ago; concurrent polls never collect twice (the row update decides who does).
async fn refresh(
    state: &AppState,
    client: &BankId,
    order: service::OrderRow,
) -> Result<service::OrderRow, AppError> {
    if order.status != "pending" {
        return Ok(order);
    }
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    if !service::take_collect_turn(&mut conn, order.bankid_order_id, now).await? {
        return Ok(order);
    }
    match client.collect(&order.order_ref).await {
        Ok(c) => {
            let (status, pnr, completion) = match c.status.as_str() {
                "complete" => match c.completion_data {
                    Some(data) => (
                        "complete",
                        Some(data.user.personal_number.clone()),
                        serde_json::to_value(&data).ok(),
                    ),
                    None => ("failed", None, None),
                },
                "failed" => ("failed", None, None),
                // Unknown statuses are tolerated as pending (§5.3).
                _ => ("pending", None, None),
            };
            if status == "complete" && !pnr.as_deref().is_some_and(bankid::valid_personal_number) {
                tracing::error!(order = %order.order_ref, "BankID completion without a valid personal number");
            }
            let collected = (status, c.hint_code.as_deref(), pnr.as_deref(), &completion);
            service::record_collect(&mut conn, order.bankid_order_id, collected, now).await?;
            Ok(service::OrderRow {
                status: status.into(),
                hint_code: c.hint_code,
                personal_number: pnr,
                completion,
                ..order
            })
        }
        Err(e) => {
            tracing::warn!(order = %order.order_ref, error = %e, "BankID collect failed");
            service::record_failure(&mut conn, order.bankid_order_id, e.code(), now).await?;
            Ok(service::OrderRow {
                status: "failed".into(),
                error_code: Some(e.code().to_string()),
                ..order
            })
        }
    }
}

struct View {
    status: String,
    message: &'static str,
    qr: Option<(u64, String)>,
}

fn view(state: &AppState, o: &service::OrderRow) -> View {
    let start = Start { qr: !o.mobile, mobile: o.mobile, autostart_tried: false };
    let message = match (o.status.as_str(), &o.error_code) {
        ("complete", _) => "Du är legitimerad.",
        ("cancelled", _) => bankid::RFA6,
        ("failed", Some(code)) => {
            bankid::Error::Api { status: 400, code: code.clone(), details: String::new() }
                .user_message()
        }
        (status, _) => bankid::message(status, o.hint_code.as_deref(), start),
    };
    // The QR code is shown until the app has picked the order up (as BankID's own sample does).
    let show_qr = o.status == "pending"
        && matches!(o.hint_code.as_deref(), None | Some("outstandingTransaction" | "noClient"));
    let qr = show_qr.then(|| {
        let secs = (state.clock.now() - o.started_at).num_seconds().max(0) as u64;
        (secs, bankid::qr_payload(&o.qr_start_token, &o.qr_start_secret, secs))
    });
    View { status: o.status.clone(), message, qr }
}

async fn order_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let order = fresh_order(&state, &headers, &id).await?;
    if order.status == "complete" && order.consumed_at.is_none() {
        return Ok(see_other(&format!("/mina-sidor/bankid/{}/klar", order.bankid_order_id)));
    }
    let v = view(&state, &order);
    Ok(render(&OrderPage {
        layout: ctx.layout(),
        id: order.bankid_order_id,
        qr_svg: v.qr.map(|(_, p)| crate::web::qr::svg(&p)).unwrap_or_default(),
        status: v.status,
        message: v.message,
        autostart: format!("bankid:///?autostarttoken={}&redirect=null", order.auto_start_token),
    }))
}

/// Polled every second by the order page: status, message and the current QR code.
async fn order_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let order = fresh_order(&state, &headers, &id).await?;
    let v = view(&state, &order);
    let next = (order.status == "complete" && order.consumed_at.is_none())
        .then(|| format!("/mina-sidor/bankid/{}/klar", order.bankid_order_id));
    Ok(Json(json!({
        "status": v.status,
        "hintCode": order.hint_code,
        "message": v.message,
        "qr": v.qr.as_ref().map(|(_, p)| p),
        "qrTime": v.qr.as_ref().map(|(t, _)| t),
        "qrSvg": v.qr.as_ref().map(|(_, p)| crate::web::qr::svg(p)),
        "next": next,
    }))
    .into_response())
}

/// A completed order becomes a session, once, in the browser that started it.
async fn finish(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, order) = own_order(&state, &headers, &id).await?;
    let (Some(pnr), Some(completion)) = (&order.personal_number, &order.completion) else {
        return Ok(see_other(&format!("/mina-sidor/bankid/{}", order.bankid_order_id)));
    };
    if order.status != "complete" || !bankid::valid_personal_number(pnr) {
        return Ok(flash_redirect("/mina-sidor/logga-in", FlashKind::Error, bankid::RFA22));
    }
    let user = completion.get("user");
    let field =
        |k: &str| user.and_then(|u| u.get(k)).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let names = (field("givenName"), field("surname"));
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    let Some(token) = service::sign_in(&mut conn, &order, pnr, names, &ctx.ip, now).await? else {
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

async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (client, order) = own_order(&state, &headers, &id).await?;
    if order.status == "pending" {
        if let Err(e) = client.cancel(&order.order_ref).await {
            // Already gone at BankID (timed out or finished): nothing left to cancel.
            tracing::info!(order = %order.order_ref, error = %e, "BankID cancel");
        }
        let mut conn = state.db.acquire().await?;
        service::cancel_order(&mut conn, order.bankid_order_id, state.clock.now()).await?;
    }
    let mut resp = flash_redirect("/mina-sidor/logga-in", FlashKind::Info, bankid::RFA6);
    cookies::clear_named(&mut resp, cookies::BANKID);
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
