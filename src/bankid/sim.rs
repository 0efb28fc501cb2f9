//! A BankID simulator serving the RP API v6.0 under `/bankid-sim/rp/v6.0/`: same paths, JSON and
//! errors as the real service (formats.md §5.2–5.5, §5.9). An order stays `pending` until a person
//! (the page `/bankid-sim`) or a test (`POST /bankid-sim/orders/{orderRef}/complete|fail|hint`)
//! settles it, the RP cancels it, or it times out. Demo and tests only: it is mounted only when
//! `FORDRA_BANKID=simulator`.
//!
//! Its state lives in PostgreSQL (`bankid_sim_state`, one row changed under a row lock) when it
//! runs inside `fordra serve`, so that with two instances behind a proxy a login started on one
//! completes on the other; unit tests keep it in memory.
//!
//! Control endpoints for tests: `POST /bankid-sim/errors` queues an HTTP error for the next API
//! call (`{"status": 503, "errorCode": "maintenance"}`); `POST /bankid-sim/clock` moves the
//! simulator's clock (`{"advanceSeconds": 31}`) to exercise the timeouts.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use askama::Template;
use axum::{
    Form, Json, Router,
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderMap, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{any, get, post},
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::valid_personal_number;
use crate::config::BankIdSimSettings;

/// The official test tokens of formats.md §5.6, used when `fixed_tokens` is on so that tests
/// can compare the QR codes Fordra shows with the published vectors.
pub const TEST_QR_START_TOKEN: &str = "67df3917-fa0d-44e5-b327-edcc928297f8";
pub const TEST_QR_START_SECRET: &str = "d28db9a7-4cde-429e-a983-359be676944c";

/// Test identities offered on the simulator page (valid personnummer; the first three have demo
/// claims).
pub const IDENTITIES: &[(&str, &str, &str)] = &[
    ("198112189876", "Sven", "Svensson"),
    ("199001012385", "Åsa", "Öberg"),
    ("198507143918", "Karin", "Lind"),
    ("197205302396", "Erik", "Exempelsson"),
];

#[derive(Clone, Debug, Serialize, Deserialize)]
enum OrderState {
    Pending { hint: String },
    Failed { hint: String, at: DateTime<Utc> },
    Complete { data: Value, at: DateTime<Utc>, collected: bool },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order {
    kind: String,
    required_pnr: Option<String>,
    text: Option<String>,
    /// `userVisibleData` and `userNonVisibleData` as sent (base64), for the signature.
    signed: (Option<String>, Option<String>),
    end_user_ip: String,
    created: DateTime<Utc>,
    picked_up: Option<DateTime<Utc>>,
    state: OrderState,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct Inner {
    orders: HashMap<String, Order>,
    errors: VecDeque<(u16, String)>,
    offset_seconds: i64,
}

/// Where the simulator keeps its state.
enum Store {
    Memory(Mutex<Inner>),
    Database(sqlx::PgPool),
}

pub struct Simulator {
    settings: BankIdSimSettings,
    store: Store,
}

type ApiResult = Result<Value, (u16, &'static str, String)>;

fn invalid(details: impl Into<String>) -> (u16, &'static str, String) {
    (400, "invalidParameters", details.into())
}

impl Simulator {
    /// A simulator of its own, in memory.
    pub fn new(settings: BankIdSimSettings) -> Simulator {
        Simulator { settings, store: Store::Memory(Mutex::new(Inner::default())) }
    }

    /// A simulator whose orders every process on `db` shares.
    pub fn shared(settings: BankIdSimSettings, db: sqlx::PgPool) -> Simulator {
        Simulator { settings, store: Store::Database(db) }
    }

    /// Runs `f` on the state, after the timeouts are applied, as one step no other step sees
    /// half done (a mutex in memory; a row lock in the database).
    async fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> Result<R, String> {
        match &self.store {
            Store::Memory(m) => {
                // A panic while holding the lock leaves plain data behind; keep serving.
                let mut inner = m.lock().unwrap_or_else(|e| e.into_inner());
                self.sweep(&mut inner);
                Ok(f(&mut inner))
            }
            Store::Database(db) => {
                let failed = |e: sqlx::Error| format!("simulator state unavailable: {e}");
                let mut tx = db.begin().await.map_err(failed)?;
                let state: Option<Value> = sqlx::query_scalar(
                    "select state from bankid_sim_state where id = 1 for update",
                )
                .fetch_optional(&mut *tx)
                .await
                .map_err(failed)?;
                let mut inner: Inner =
                    state.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
                self.sweep(&mut inner);
                let result = f(&mut inner);
                let state = serde_json::to_value(&inner).map_err(|e| e.to_string())?;
                sqlx::query(
                    "insert into bankid_sim_state (id, state) values (1, $1)
                     on conflict (id) do update set state = excluded.state",
                )
                .bind(state)
                .execute(&mut *tx)
                .await
                .map_err(failed)?;
                tx.commit().await.map_err(failed)?;
                Ok(result)
            }
        }
    }

    fn now(inner: &Inner) -> DateTime<Utc> {
        crate::clock::Clock::system().now() + chrono::Duration::seconds(inner.offset_seconds)
    }

    /// Applies the timeouts and forgets orders past their collect window (§5.7).
    fn sweep(&self, inner: &mut Inner) {
        let now = Simulator::now(inner);
        let start = chrono::Duration::from_std(self.settings.start_timeout).unwrap_or_default();
        let finish = chrono::Duration::from_std(self.settings.finish_timeout).unwrap_or_default();
        inner.orders.retain(|_, o| match &o.state {
            OrderState::Pending { .. } => {
                let expired = match o.picked_up {
                    None if now - o.created > start => Some("startFailed"),
                    Some(p) if now - p > finish => Some("expiredTransaction"),
                    _ => None,
                };
                if let Some(hint) = expired {
                    o.state = OrderState::Failed { hint: hint.into(), at: now };
                }
                true
            }
            OrderState::Failed { at, .. } => now - *at <= chrono::Duration::minutes(5),
            OrderState::Complete { at, .. } => now - *at <= chrono::Duration::minutes(3),
        });
    }

    fn start(&self, inner: &mut Inner, kind: &str, body: &Value) -> ApiResult {
        let ip = body.get("endUserIp").and_then(Value::as_str).unwrap_or("");
        if ip.trim().is_empty() || ip.parse::<std::net::IpAddr>().is_err() {
            return Err(invalid("endUserIp is missing or not an IP address"));
        }
        let text = match body.get("userVisibleData") {
            None | Some(Value::Null) if kind == "sign" => {
                return Err(invalid("userVisibleData is required"));
            }
            None | Some(Value::Null) => None,
            Some(Value::String(b64)) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| invalid("userVisibleData is not base64"))?;
                if b64.is_empty() || b64.len() > 40_000 {
                    return Err(invalid("userVisibleData has the wrong length"));
                }
                Some(
                    String::from_utf8(bytes)
                        .map_err(|_| invalid("userVisibleData is not UTF-8"))?,
                )
            }
            Some(_) => return Err(invalid("userVisibleData must be a string")),
        };
        let hidden = match body.get("userNonVisibleData") {
            None | Some(Value::Null) => None,
            Some(Value::String(b64))
                if !b64.is_empty()
                    && b64.len() <= 200_000
                    && base64::engine::general_purpose::STANDARD.decode(b64).is_ok() =>
            {
                Some(b64.clone())
            }
            Some(_) => return Err(invalid("userNonVisibleData is not base64")),
        };
        let visible = body.get("userVisibleData").and_then(Value::as_str).map(str::to_string);
        match body.get("userVisibleDataFormat") {
            None | Some(Value::Null) => {}
            Some(Value::String(f)) if f == "simpleMarkdownV1" => {}
            Some(_) => return Err(invalid("userVisibleDataFormat must be simpleMarkdownV1")),
        }
        let required_pnr = match body.pointer("/requirement/personalNumber") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if valid_personal_number(p) => Some(p.clone()),
            Some(_) => {
                return Err(invalid("requirement.personalNumber is not a valid personal number"));
            }
        };
        if let Some(p) = &required_pnr {
            let busy = inner.orders.values().any(|o| {
                o.required_pnr.as_ref() == Some(p) && matches!(o.state, OrderState::Pending { .. })
            });
            if busy {
                return Err((400, "alreadyInProgress", "Order already in progress for pno".into()));
            }
        }
        let order_ref = uuid::Uuid::new_v4().to_string();
        let (token, secret) = if self.settings.fixed_tokens {
            (TEST_QR_START_TOKEN.to_string(), TEST_QR_START_SECRET.to_string())
        } else {
            (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string())
        };
        let created = Simulator::now(inner);
        inner.orders.insert(
            order_ref.clone(),
            Order {
                kind: kind.to_string(),
                required_pnr,
                text,
                signed: (visible, hidden),
                end_user_ip: ip.to_string(),
                created,
                picked_up: None,
                state: OrderState::Pending { hint: "outstandingTransaction".into() },
            },
        );
        Ok(json!({
            "orderRef": order_ref,
            "autoStartToken": uuid::Uuid::new_v4().to_string(),
            "qrStartToken": token,
            "qrStartSecret": secret,
        }))
    }

    fn collect(inner: &mut Inner, body: &Value) -> ApiResult {
        let order_ref = order_ref_of(body)?;
        let order = inner.orders.get_mut(&order_ref).ok_or_else(|| invalid("No such order"))?;
        Ok(match &mut order.state {
            OrderState::Pending { hint } => {
                json!({"orderRef": order_ref, "status": "pending", "hintCode": hint})
            }
            OrderState::Failed { hint, .. } => {
                json!({"orderRef": order_ref, "status": "failed", "hintCode": hint})
            }
            OrderState::Complete { collected: true, .. } => {
                return Err(invalid("Order already collected"));
            }
            OrderState::Complete { data, collected, .. } => {
                *collected = true;
                // The completion data leaves with this answer: what stays is a marker that the
                // order was collected, with nothing personal in it (the state is in Fordra's
                // database, where retention looks for personal data).
                let data = std::mem::take(data);
                order.required_pnr = None;
                order.text = None;
                order.signed = (None, None);
                json!({"orderRef": order_ref, "status": "complete", "completionData": data})
            }
        })
    }

    fn cancel(inner: &mut Inner, body: &Value) -> ApiResult {
        let order_ref = order_ref_of(body)?;
        match inner.orders.get(&order_ref).map(|o| &o.state) {
            Some(OrderState::Pending { .. }) => {
                inner.orders.remove(&order_ref);
                Ok(json!({}))
            }
            _ => Err(invalid("No such order")),
        }
    }

    /// Settles a pending order as the user's app would: `Ok` or the reason it cannot.
    fn settle(inner: &mut Inner, order_ref: &str, to: Settle) -> Result<(), String> {
        let now = Simulator::now(inner);
        let order = inner
            .orders
            .get_mut(order_ref)
            .ok_or_else(|| "Ordern finns inte eller har gått ut.".to_string())?;
        if !matches!(order.state, OrderState::Pending { .. }) {
            return Err("Ordern är inte längre pågående.".into());
        }
        match to {
            Settle::Hint(hint) => {
                order.picked_up.get_or_insert(now);
                order.state = OrderState::Pending { hint };
            }
            Settle::Fail(hint) => order.state = OrderState::Failed { hint, at: now },
            Settle::Complete { personal_number, given_name, surname } => {
                if !valid_personal_number(&personal_number) {
                    return Err(
                        "Personnumret ska vara tolv siffror med giltig kontrollsiffra.".into()
                    );
                }
                if order.required_pnr.as_ref().is_some_and(|p| *p != personal_number) {
                    return Err("Ordern kräver ett annat personnummer.".into());
                }
                let data = json!({
                    "user": {
                        "personalNumber": personal_number,
                        "name": format!("{given_name} {surname}"),
                        "givenName": given_name,
                        "surname": surname,
                    },
                    "device": {"ipAddress": order.end_user_ip, "uhi": "simulated-device"},
                    "bankIdIssueDate": "2024-01-15",
                    // Simulated: the Signature Profile's shape with what was signed, but not a
                    // cryptographically valid signature or OCSP response (§5.9).
                    "signature": base64::engine::general_purpose::STANDARD.encode(
                        signature_xml(&order.kind, &order.signed)),
                    "ocspResponse": base64::engine::general_purpose::STANDARD.encode("simulated"),
                });
                order.state = OrderState::Complete { data, at: now, collected: false };
            }
        }
        Ok(())
    }

    fn pending(inner: &mut Inner) -> Vec<PendingOrder> {
        let mut list: Vec<PendingOrder> = inner
            .orders
            .iter()
            .filter_map(|(r, o)| match &o.state {
                OrderState::Pending { hint } => Some(PendingOrder {
                    order_ref: r.clone(),
                    kind: o.kind.clone(),
                    hint: hint.clone(),
                    text: o.text.clone().unwrap_or_default(),
                    required: o.required_pnr.clone(),
                    created: o.created,
                }),
                _ => None,
            })
            .collect();
        list.sort_by_key(|o| std::cmp::Reverse(o.created));
        list
    }
}

/// The XML signature BankID returns (Signature Profile), with the signed data in
/// `bankIdSignedData`; the digest and signature values are placeholders.
fn signature_xml(kind: &str, (visible, hidden): &(Option<String>, Option<String>)) -> String {
    let mut data = String::new();
    if let Some(v) = visible {
        data +=
            &format!("<usrVisibleData charset=\"UTF-8\" visible=\"wysiwys\">{v}</usrVisibleData>");
    }
    if let Some(h) = hidden {
        data += &format!("<usrNonVisibleData>{h}</usrNonVisibleData>");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\
         <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>\
         <SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         </SignedInfo><SignatureValue>simulated</SignatureValue><Object>\
         <bankIdSignedData xmlns=\"http://www.bankid.com/signature/v1.0.0/types\" Id=\"bidSignedData\">\
         {data}<srvInfo><name>simulated</name><nonce>simulated</nonce></srvInfo>\
         <clientInfo><funcId>{kind}</funcId></clientInfo></bankIdSignedData></Object></Signature>"
    )
}

enum Settle {
    Hint(String),
    Fail(String),
    Complete { personal_number: String, given_name: String, surname: String },
}

pub struct PendingOrder {
    pub order_ref: String,
    pub kind: String,
    pub hint: String,
    pub text: String,
    pub required: Option<String>,
    pub created: DateTime<Utc>,
}

fn order_ref_of(body: &Value) -> Result<String, (u16, &'static str, String)> {
    body.get("orderRef")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| invalid("orderRef is missing"))
}

/// The simulator's HTTP side: the RP API, the test controls and the page a person uses. It
/// needs nothing of Fordra but the simulator itself, as the real service would.
pub fn router<S: Clone + Send + Sync + 'static>(sim: Arc<Simulator>) -> Router<S> {
    Router::new()
        .route("/bankid-sim/rp/v6.0/{endpoint}", any(rp_api))
        .route("/bankid-sim", get(page))
        .route("/bankid-sim/orders", get(list_orders))
        .route("/bankid-sim/orders/{order_ref}/complete", post(control_complete))
        .route("/bankid-sim/orders/{order_ref}/fail", post(control_fail))
        .route("/bankid-sim/orders/{order_ref}/hint", post(control_hint))
        .route("/bankid-sim/orders/{order_ref}/godkann", post(page_approve))
        .route("/bankid-sim/orders/{order_ref}/avbryt", post(page_cancel))
        .route("/bankid-sim/errors", post(control_error))
        .route("/bankid-sim/clock", post(control_clock))
        .with_state(sim)
}

type Sim = State<Arc<Simulator>>;

fn api_error(status: u16, code: &str, details: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"errorCode": code, "details": details})),
    )
        .into_response()
}

/// The RP API. Like the real service: POST only (405), `Content-Type: application/json` exactly
/// (415), unknown paths 404, everything else 400 with an error code.
async fn rp_api(
    State(sim): Sim,
    method: Method,
    Path(endpoint): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method != Method::POST {
        return api_error(405, "methodNotAllowed", "Only POST is allowed");
    }
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if ct != "application/json" {
        return api_error(415, "unsupportedMediaType", "Content-Type must be application/json");
    }
    if !matches!(endpoint.as_str(), "auth" | "sign" | "collect" | "cancel") {
        return api_error(404, "notFound", "No such endpoint");
    }
    let body = serde_json::from_slice::<Value>(&body);
    let result = sim
        .with(|inner| {
            if let Some((status, code)) = inner.errors.pop_front() {
                return Err((status, code, "Simulated error".to_string()));
            }
            let Ok(body) = body else {
                return Err((400, "invalidParameters".into(), "Body is not JSON".into()));
            };
            let r = match endpoint.as_str() {
                "auth" | "sign" => sim.start(inner, &endpoint, &body),
                "collect" => Simulator::collect(inner, &body),
                _ => Simulator::cancel(inner, &body),
            };
            r.map_err(|(status, code, details)| (status, code.to_string(), details))
        })
        .await;
    match result {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err((status, code, details))) => api_error(status, &code, &details),
        Err(e) => api_error(503, "maintenance", &e),
    }
}

async fn list_orders(State(sim): Sim) -> Response {
    let pending = match sim.with(Simulator::pending).await {
        Ok(p) => p,
        Err(e) => return api_error(503, "maintenance", &e),
    };
    let list: Vec<Value> = pending
        .into_iter()
        .map(|o| {
            json!({"orderRef": o.order_ref, "kind": o.kind, "hintCode": o.hint,
                   "userVisibleData": o.text, "created": o.created})
        })
        .collect();
    Json(json!({"orders": list})).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompleteBody {
    personal_number: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    surname: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HintBody {
    hint_code: String,
}

impl Simulator {
    /// Settles `order_ref` as [`Simulator::settle`] does, in the shared state.
    async fn settle_order(&self, order_ref: &str, to: Settle) -> Result<(), String> {
        self.with(|inner| Simulator::settle(inner, order_ref, to)).await?
    }
}

fn control_result(r: Result<(), String>) -> Response {
    match r {
        Ok(()) => Json(json!({})).into_response(),
        Err(details) => api_error(400, "invalidParameters", &details),
    }
}

async fn control_complete(
    State(sim): Sim,
    Path(order_ref): Path<String>,
    Json(body): Json<CompleteBody>,
) -> Response {
    control_result(
        sim.settle_order(
            &order_ref,
            Settle::Complete {
                personal_number: body.personal_number,
                given_name: body.given_name,
                surname: body.surname,
            },
        )
        .await,
    )
}

async fn control_fail(
    State(sim): Sim,
    Path(order_ref): Path<String>,
    Json(body): Json<HintBody>,
) -> Response {
    control_result(sim.settle_order(&order_ref, Settle::Fail(body.hint_code)).await)
}

async fn control_hint(
    State(sim): Sim,
    Path(order_ref): Path<String>,
    Json(body): Json<HintBody>,
) -> Response {
    control_result(sim.settle_order(&order_ref, Settle::Hint(body.hint_code)).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    status: u16,
    error_code: String,
}

async fn control_error(State(sim): Sim, Json(body): Json<ErrorBody>) -> Response {
    if !(400..600).contains(&body.status) {
        return api_error(400, "invalidParameters", "status must be 4xx or 5xx");
    }
    let queued = sim.with(|inner| inner.errors.push_back((body.status, body.error_code))).await;
    control_result(queued)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClockBody {
    advance_seconds: i64,
}

async fn control_clock(State(sim): Sim, Json(body): Json<ClockBody>) -> Response {
    let seconds = body.advance_seconds.clamp(0, 86_400);
    control_result(sim.with(|inner| inner.offset_seconds += seconds).await)
}

// --- The page a person uses in the demo --------------------------------------------------------
// It stands for the BankID app: its own page, not part of Fordra's site.

#[derive(Template)]
#[template(path = "bankid_sim/index.html")]
struct SimPage {
    orders: Vec<PendingOrder>,
    identities: &'static [(&'static str, &'static str, &'static str)],
    message: Option<(String, String)>,
}

impl SimPage {
    fn created(o: &PendingOrder) -> String {
        crate::clock::stockholm_local(o.created).format("%Y-%m-%d %H:%M").to_string()
    }
}

/// What the last action did, shown once: `?typ=success&meddelande=…`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Shown {
    typ: String,
    meddelande: String,
}

async fn page(State(sim): Sim, Query(shown): Query<Shown>) -> Response {
    let kind = match shown.typ.as_str() {
        "success" | "error" | "info" => shown.typ,
        _ => String::new(),
    };
    let message = (!kind.is_empty() && !shown.meddelande.is_empty())
        .then(|| (kind, shown.meddelande.chars().take(200).collect()));
    let orders = match sim.with(Simulator::pending).await {
        Ok(orders) => orders,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    };
    let page = SimPage { orders, identities: IDENTITIES, message };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Back to the page, saying what happened.
fn back(kind: &str, message: &str) -> Response {
    let query =
        serde_urlencoded::to_string([("typ", kind), ("meddelande", message)]).unwrap_or_default();
    (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/bankid-sim?{query}"))]).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ApproveForm {
    identity: String,
}

async fn page_approve(
    State(sim): Sim,
    Path(order_ref): Path<String>,
    Form(form): Form<ApproveForm>,
) -> Response {
    let Some((pnr, given, surname)) = IDENTITIES.iter().find(|(p, _, _)| *p == form.identity)
    else {
        return back("error", "Välj en testperson.");
    };
    let settled = sim
        .settle_order(
            &order_ref,
            Settle::Complete {
                personal_number: pnr.to_string(),
                given_name: given.to_string(),
                surname: surname.to_string(),
            },
        )
        .await;
    match settled {
        Ok(()) => back(
            "success",
            &format!(
                "Legitimerad som {given} {surname}. Gå tillbaka till fliken där du loggar in."
            ),
        ),
        Err(e) => back("error", &e),
    }
}

async fn page_cancel(State(sim): Sim, Path(order_ref): Path<String>) -> Response {
    match sim.settle_order(&order_ref, Settle::Fail("userCancel".into())).await {
        Ok(()) => back("info", "Ordern avbröts i appen."),
        Err(e) => back("error", &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim() -> Simulator {
        Simulator::new(BankIdSimSettings { fixed_tokens: true, ..BankIdSimSettings::default() })
    }

    /// One step on the in-memory state, as the HTTP side takes it.
    fn step<R>(s: &Simulator, f: impl FnOnce(&mut Inner) -> R) -> R {
        let Store::Memory(m) = &s.store else { unreachable!("unit tests keep state in memory") };
        let mut inner = m.lock().unwrap();
        s.sweep(&mut inner);
        f(&mut inner)
    }

    fn start(s: &Simulator, kind: &str, body: Value) -> ApiResult {
        step(s, |i| s.start(i, kind, &body))
    }

    fn collect(s: &Simulator, body: Value) -> ApiResult {
        step(s, |i| Simulator::collect(i, &body))
    }

    #[test]
    fn an_order_stays_pending_until_settled_and_is_collected_once() {
        let s = sim();
        let r = start(&s, "auth", json!({"endUserIp": "127.0.0.1"})).unwrap();
        assert_eq!(r["qrStartToken"], TEST_QR_START_TOKEN);
        let order = r["orderRef"].as_str().unwrap().to_string();
        for _ in 0..3 {
            let c = collect(&s, json!({"orderRef": order})).unwrap();
            assert_eq!(c["status"], "pending");
            assert_eq!(c["hintCode"], "outstandingTransaction");
        }
        step(&s, |i| {
            Simulator::settle(
                i,
                &order,
                Settle::Complete {
                    personal_number: "198112189876".into(),
                    given_name: "Sven".into(),
                    surname: "Svensson".into(),
                },
            )
        })
        .unwrap();
        let c = collect(&s, json!({"orderRef": order})).unwrap();
        assert_eq!(c["status"], "complete");
        assert_eq!(c["completionData"]["user"]["personalNumber"], "198112189876");
        assert_eq!(collect(&s, json!({"orderRef": order})).unwrap_err().1, "invalidParameters");
    }

    #[test]
    fn refuses_what_the_real_service_refuses() {
        let s = sim();
        assert_eq!(start(&s, "auth", json!({})).unwrap_err().1, "invalidParameters");
        assert_eq!(
            start(&s, "sign", json!({"endUserIp": "1.2.3.4"})).unwrap_err().1,
            "invalidParameters"
        );
        let with_pnr =
            json!({"endUserIp": "1.2.3.4", "requirement": {"personalNumber": "198112189876"}});
        start(&s, "auth", with_pnr.clone()).unwrap();
        assert_eq!(start(&s, "auth", with_pnr.clone()).unwrap_err().1, "alreadyInProgress");
        assert_eq!(collect(&s, json!({"orderRef": "nope"})).unwrap_err().1, "invalidParameters");
        assert_eq!(
            step(&s, |i| Simulator::cancel(i, &json!({"orderRef": "nope"}))).unwrap_err().1,
            "invalidParameters"
        );
    }

    #[test]
    fn unpicked_orders_fail_with_start_failed() {
        let s = sim();
        let r = start(&s, "auth", json!({"endUserIp": "::1"})).unwrap();
        let order = r["orderRef"].as_str().unwrap();
        step(&s, |i| i.offset_seconds = 31);
        let c = collect(&s, json!({"orderRef": order})).unwrap();
        assert_eq!(
            (c["status"].as_str(), c["hintCode"].as_str()),
            (Some("failed"), Some("startFailed"))
        );
        step(&s, |i| i.offset_seconds = 31 + 301);
        assert!(collect(&s, json!({"orderRef": order})).is_err());
    }

    #[test]
    fn test_identities_are_valid() {
        for (p, _, _) in IDENTITIES {
            assert!(valid_personal_number(p), "{p}");
        }
    }
}
