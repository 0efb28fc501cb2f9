//! The browser side of a BankID order, shared by every page that identifies or signs with
//! BankID (Mina sidor's login, a partner's registration): Fordra starts the order, shows the
//! animated QR code (regenerated on the server every second; the secret never reaches the
//! browser) and collects the order about every two seconds while the page polls. The browser
//! that started an order holds a cookie bound to it: nobody else can follow it or use it.
//!
//! A flow registers its order pages with [`routes`] and writes its own `/klar` handler, which
//! turns a completed order into whatever the flow is for.

use askama::Template;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;
use std::sync::Arc;
use uuid::Uuid;

use crate::bankid::orders::{self, OrderRow, Purpose};
use crate::{
    auth::Ctx,
    bankid::{self, BankId, OrderResponse, Start},
    crypto::{random_token, sha256},
    state::AppState,
    web::{Layout, cookies, prelude::*},
};

/// Where a flow's order pages live and what they say.
pub struct Flow {
    pub purpose: Purpose,
    /// The order's pages are `{base}/{id}`, `{base}/{id}/status`, `{base}/{id}/klar` and
    /// `{base}/{id}/avbryt`.
    pub base: &'static str,
    /// Where to start again after a failed or cancelled order.
    pub retry: &'static str,
    pub title: &'static str,
}

pub const LOGIN: Flow = Flow {
    purpose: Purpose::Login,
    base: "/mina-sidor/bankid",
    retry: "/mina-sidor/logga-in",
    title: "Logga in med BankID",
};

pub const PARTNER_SIGN: Flow = Flow {
    purpose: Purpose::PartnerSign,
    base: "/partner/registrera/bankid",
    retry: "/partner/registrera",
    title: "Skriv under partneravtalet med BankID",
};

/// The order page, its status poll and cancel for `flow`; the flow adds `/klar`.
pub fn routes(flow: &'static Flow) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{}/{{id}}", flow.base),
            get(move |State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(id): Path<String>| async move {
                order_page(&state, &ctx, &headers, flow, &id).await
            }),
        )
        .route(
            &format!("{}/{{id}}/status", flow.base),
            get(move |State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>| async move {
                order_status(&state, &headers, flow, &id).await
            }),
        )
        .route(
            &format!("{}/{{id}}/avbryt", flow.base),
            post(move |State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>| async move {
                cancel(&state, &headers, flow, &id).await
            }),
        )
}

pub fn is_mobile(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ["Mobi", "Android", "iPhone", "iPad"].iter().any(|m| ua.contains(m)))
}

/// Each start is an order at BankID: at most 20 per address in 10 minutes. The message to show
/// when this address has had its share.
pub async fn throttled(state: &AppState, ip: &str) -> Result<Option<&'static str>, AppError> {
    let mut conn = state.db.acquire().await?;
    let bucket = format!("bankid:{ip}");
    let window = chrono::Duration::minutes(10);
    Ok(
        match crate::auth::rate_limit::hit(&mut conn, &bucket, state.clock.now(), 20, window)
            .await?
        {
            crate::auth::rate_limit::Check::Blocked { .. } => {
                Some("För många försök med BankID på kort tid. Vänta en stund och försök igen.")
            }
            _ => None,
        },
    )
}

/// A new order's id and this browser's binding to it: what to store with the order
/// ([`orders::store`]'s `browser_hash`, IP, next path and whether it runs on a phone) and the
/// response that sends the browser to the order page holding the binding's cookie.
pub struct Binding<'a> {
    pub id: Uuid,
    pub started: orders::Started<'a>,
    pub response: Response,
}

pub fn bind<'a>(
    state: &AppState,
    (ctx, headers): (&'a Ctx, &HeaderMap),
    flow: &Flow,
    next: Option<String>,
) -> Binding<'a> {
    let id = Uuid::new_v4();
    let browser = random_token(32);
    let started = (sha256(&browser), ctx.ip.as_str(), next, is_mobile(headers));
    let mut response = see_other(&format!("{}/{id}", flow.base));
    cookies::set_named(&mut response, cookies::BANKID, &browser, state.config.secure_cookies());
    Binding { id, started, response }
}

/// Stores an order BankID just started for this browser and sends the browser to its page.
pub async fn started(
    state: &AppState,
    (ctx, headers): (&Ctx, &HeaderMap),
    flow: &Flow,
    order: &OrderResponse,
    next: Option<String>,
) -> Result<Response, AppError> {
    let b = bind(state, (ctx, headers), flow, next);
    let mut conn = state.db.acquire().await?;
    orders::store(&mut conn, b.id, flow.purpose, order, b.started, state.clock.now()).await?;
    Ok(b.response)
}

/// The order of `id` in `flow` and the BankID client, if this browser started it; anything
/// else (also BankID not configured) is 404.
pub async fn own_order(
    state: &AppState,
    headers: &HeaderMap,
    flow: &Flow,
    id: &str,
) -> Result<(Arc<BankId>, OrderRow), AppError> {
    let client = state.bankid.clone().ok_or(AppError::NotFound)?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let browser = cookies::get(headers, cookies::BANKID).ok_or(AppError::NotFound)?;
    let mut conn = state.db.acquire().await?;
    let order = orders::for_browser(&mut conn, id, flow.purpose, &sha256(browser))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((client, order))
}

/// [`own_order`], collected from BankID when it is due.
async fn fresh_order(
    state: &AppState,
    headers: &HeaderMap,
    flow: &Flow,
    id: &str,
) -> Result<OrderRow, AppError> {
    let (client, order) = own_order(state, headers, flow, id).await?;
    refresh(state, &client, order).await
}

/// Collects the order from BankID if it is pending and the last collect was about two seconds
/// ago; concurrent polls never collect twice (the row update decides who does).
async fn refresh(state: &AppState, client: &BankId, order: OrderRow) -> Result<OrderRow, AppError> {
    if order.status != "pending" {
        return Ok(order);
    }
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    if !orders::take_collect_turn(&mut conn, order.bankid_order_id, now).await? {
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
            orders::record_collect(&mut conn, order.bankid_order_id, collected, now).await?;
            Ok(OrderRow {
                status: status.into(),
                hint_code: c.hint_code,
                personal_number: pnr,
                completion,
                ..order
            })
        }
        Err(e) => {
            tracing::warn!(order = %order.order_ref, error = %e, "BankID collect failed");
            orders::record_failure(&mut conn, order.bankid_order_id, e.code(), now).await?;
            Ok(OrderRow {
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

fn view(state: &AppState, flow: &Flow, o: &OrderRow) -> View {
    let start = Start { qr: !o.mobile, mobile: o.mobile, autostart_tried: false };
    let message = match (o.status.as_str(), &o.error_code) {
        ("complete", _) if flow.purpose == Purpose::PartnerSign => "Avtalet är underskrivet.",
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

#[derive(Template)]
#[template(path = "bankid/order.html")]
struct OrderPage {
    layout: Layout,
    flow: &'static Flow,
    id: Uuid,
    status: String,
    message: &'static str,
    qr_svg: String,
    autostart: String,
}

async fn order_page(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    flow: &'static Flow,
    id: &str,
) -> Result<Response, AppError> {
    let order = fresh_order(state, headers, flow, id).await?;
    if order.status == "complete" && order.consumed_at.is_none() {
        return Ok(see_other(&format!("{}/{}/klar", flow.base, order.bankid_order_id)));
    }
    let v = view(state, flow, &order);
    Ok(render(&OrderPage {
        layout: ctx.layout(),
        flow,
        id: order.bankid_order_id,
        qr_svg: v.qr.map(|(_, p)| crate::web::qr::svg(&p)).unwrap_or_default(),
        status: v.status,
        message: v.message,
        autostart: format!("bankid:///?autostarttoken={}&redirect=null", order.auto_start_token),
    }))
}

/// Polled every second by the order page: status, message and the current QR code.
async fn order_status(
    state: &AppState,
    headers: &HeaderMap,
    flow: &Flow,
    id: &str,
) -> Result<Response, AppError> {
    let order = fresh_order(state, headers, flow, id).await?;
    let v = view(state, flow, &order);
    let next = (order.status == "complete" && order.consumed_at.is_none())
        .then(|| format!("{}/{}/klar", flow.base, order.bankid_order_id));
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

async fn cancel(
    state: &AppState,
    headers: &HeaderMap,
    flow: &Flow,
    id: &str,
) -> Result<Response, AppError> {
    let (client, order) = own_order(state, headers, flow, id).await?;
    if order.status == "pending" {
        if let Err(e) = client.cancel(&order.order_ref).await {
            // Already gone at BankID (timed out or finished): nothing left to cancel.
            tracing::info!(order = %order.order_ref, error = %e, "BankID cancel");
        }
        let mut conn = state.db.acquire().await?;
        orders::cancel(&mut conn, order.bankid_order_id, state.clock.now()).await?;
    }
    let mut resp = flash_redirect(flow.retry, FlashKind::Info, bankid::RFA6);
    cookies::clear_named(&mut resp, cookies::BANKID);
    Ok(resp)
}

/// The completed order of `id`, with its personal number and completion data, when this browser
/// may use it now; otherwise where to send the browser.
pub async fn completed(
    state: &AppState,
    headers: &HeaderMap,
    flow: &Flow,
    id: &str,
) -> Result<Result<(OrderRow, String, serde_json::Value), Response>, AppError> {
    let (_, order) = own_order(state, headers, flow, id).await?;
    let (Some(pnr), Some(completion)) = (order.personal_number.clone(), order.completion.clone())
    else {
        return Ok(Err(see_other(&format!("{}/{}", flow.base, order.bankid_order_id))));
    };
    if order.status != "complete" || !bankid::valid_personal_number(&pnr) {
        return Ok(Err(flash_redirect(flow.retry, FlashKind::Error, bankid::RFA22)));
    }
    Ok(Ok((order, pnr, completion)))
}
