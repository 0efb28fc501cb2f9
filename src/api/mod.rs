//! The integration API v1 (product.md §6): `Authorization: Bearer <key>`, amounts as decimal
//! strings with a dot, dates ISO 8601, errors as `{"error": {"code", "message", "field"}}`.

use axum::{
    Json, Router,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::claims::{
    self as claims, ClaimRecord, InsertError,
    input::{self, ClaimInput, Invalid},
};
pub mod openapi;

use crate::{
    auth::access_log::{self, Accessor},
    auth::api_key::{self, Owner, Scope},
    domain::{money::Sek, statement::Statement},
    parameters::Parameters,
    state::AppState,
    web::{api_error::ApiError, extract},
};

/// One operation of the API: what the router mounts and what the OpenAPI document says about
/// it, in one place, so the document cannot leave a route out.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub scope: Scope,
    /// The request body's schema (a component name), if any; `optional` when it may be left out.
    pub body: Option<(&'static str, bool)>,
    /// The success status and its schema (a component name, or none for 204).
    pub answer: (u16, Option<&'static str>),
    /// Error statuses besides 401 and 403.
    pub errors: &'static [u16],
    /// A worked example: the request body.
    pub example: Option<fn() -> Value>,
}

const OPERATIONS: &[Operation] = &[
    Operation {
        method: "post",
        path: "/api/v1/claims",
        summary: "Registrera en fordran",
        scope: Scope::ClaimsWrite,
        body: Some(("ClaimInput", false)),
        answer: (201, Some("Claim")),
        errors: &[400, 409, 413, 422],
        example: Some(openapi::claim_example),
    },
    Operation {
        method: "get",
        path: "/api/v1/claims",
        summary: "Lista fordringar (filter och cursor)",
        scope: Scope::ClaimsRead,
        body: None,
        answer: (200, Some("ClaimList")),
        errors: &[422],
        example: None,
    },
    Operation {
        method: "get",
        path: "/api/v1/claims/{id}",
        summary: "Visa en fordran",
        scope: Scope::ClaimsRead,
        body: None,
        answer: (200, Some("Claim")),
        errors: &[404],
        example: None,
    },
    Operation {
        method: "get",
        path: "/api/v1/claims/{id}/events",
        summary: "Fordrans händelser",
        scope: Scope::ClaimsRead,
        body: None,
        answer: (200, Some("Events")),
        errors: &[404],
        example: None,
    },
    Operation {
        method: "post",
        path: "/api/v1/claims/{id}/withdraw",
        summary: "Återkalla fordran",
        scope: Scope::ClaimsWrite,
        body: Some(("Reason", true)),
        answer: (200, Some("Claim")),
        errors: &[404, 409, 422],
        example: Some(openapi::reason_example),
    },
    Operation {
        method: "post",
        path: "/api/v1/claims/{id}/pause",
        summary: "Pausa fordran",
        scope: Scope::ClaimsWrite,
        body: Some(("Reason", true)),
        answer: (200, Some("Claim")),
        errors: &[404, 409, 422],
        example: Some(openapi::reason_example),
    },
    Operation {
        method: "post",
        path: "/api/v1/claims/{id}/resume",
        summary: "Återuppta fordran",
        scope: Scope::ClaimsWrite,
        body: Some(("Reason", true)),
        answer: (200, Some("Claim")),
        errors: &[404, 409, 422],
        example: None,
    },
    Operation {
        method: "post",
        path: "/api/v1/claims/{id}/direct-payments",
        summary: "Registrera en direktbetalning till borgenären",
        scope: Scope::ClaimsWrite,
        body: Some(("Reduction", false)),
        answer: (200, Some("Claim")),
        errors: &[404, 409, 422],
        example: Some(openapi::reduction_example),
    },
    Operation {
        method: "post",
        path: "/api/v1/claims/{id}/credits",
        summary: "Registrera en kreditering",
        scope: Scope::ClaimsWrite,
        body: Some(("Reduction", false)),
        answer: (200, Some("Claim")),
        errors: &[404, 409, 422],
        example: Some(openapi::reduction_example),
    },
    Operation {
        method: "post",
        path: "/api/v1/webhooks",
        summary: "Prenumerera på händelser",
        scope: Scope::Webhooks,
        body: Some(("Subscribe", false)),
        answer: (201, Some("Subscription")),
        errors: &[409, 422],
        example: Some(openapi::subscribe_example),
    },
    Operation {
        method: "get",
        path: "/api/v1/webhooks",
        summary: "Lista prenumerationer",
        scope: Scope::Webhooks,
        body: None,
        answer: (200, Some("Subscriptions")),
        errors: &[],
        example: None,
    },
    Operation {
        method: "delete",
        path: "/api/v1/webhooks/{id}",
        summary: "Avsluta en prenumeration",
        scope: Scope::Webhooks,
        body: None,
        answer: (204, None),
        errors: &[404],
        example: None,
    },
];

pub fn operations() -> &'static [Operation] {
    OPERATIONS
}

/// The handler of an operation.
fn handler(op: &Operation) -> axum::routing::MethodRouter<AppState> {
    use axum::routing::{delete, post};
    match (op.method, op.path) {
        ("post", "/api/v1/claims") => post(create),
        ("get", "/api/v1/claims") => get(list),
        ("get", "/api/v1/claims/{id}") => get(show),
        ("get", "/api/v1/claims/{id}/events") => get(events),
        ("post", "/api/v1/claims/{id}/withdraw") => reason_action("withdraw"),
        ("post", "/api/v1/claims/{id}/pause") => reason_action("pause"),
        ("post", "/api/v1/claims/{id}/resume") => reason_action("resume"),
        ("post", "/api/v1/claims/{id}/direct-payments") => reduction_action("direct_payment"),
        ("post", "/api/v1/claims/{id}/credits") => reduction_action("credit"),
        ("post", "/api/v1/webhooks") => post(subscribe),
        ("get", "/api/v1/webhooks") => get(subscriptions),
        ("delete", "/api/v1/webhooks/{id}") => delete(unsubscribe),
        (m, p) => unreachable!("no handler for {m} {p}"),
    }
}

/// The API's routes, one per documented operation, and the document itself.
pub fn router() -> Router<AppState> {
    OPERATIONS
        .iter()
        .fold(Router::new(), |r, op| r.route(op.path, handler(op)))
        .route("/api/v1/openapi.json", get(|| async { Json(openapi::document()) }))
        .route("/api/dokumentation", get(openapi::page))
}

/// The API key a request presents (a creditor's, or a partner's acting for its customers), and
/// the address the request came from.
pub struct ApiKey(pub api_key::Key, pub String);

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiKey, ApiError> {
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "API-nyckel saknas eller är spärrad.",
            )
        };
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(unauthorized)?;
        let found = api_key::find(&mut *state.db.acquire().await?, key, state.clock.now()).await?;
        let ip = crate::web::client_ip::text();
        found.map(|k| ApiKey(k, ip)).ok_or_else(unauthorized)
    }
}

impl ApiKey {
    /// 403 `forbidden` unless the key has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.0.may(scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("Nyckeln saknar behörigheten {}.", scope.as_str()),
            ))
        }
    }

    /// The creditor whose claim `claim_id` this key may see: its own creditor's, or (a
    /// partner's key) one of the partner's current customers'. Anything else is 404.
    async fn creditor_of(
        &self,
        conn: &mut sqlx::PgConnection,
        claim_id: Uuid,
    ) -> Result<Uuid, ApiError> {
        match self.0.owner {
            Owner::Creditor(c) => Ok(c),
            Owner::Partner(p) => claims::creditor_for_partner(conn, claim_id, p)
                .await?
                .ok_or_else(ApiError::not_found),
        }
    }
}

#[derive(Serialize)]
struct FeeJson {
    kind: &'static str,
    amount: Sek,
    owed: Sek,
    charged_on: NaiveDate,
}

/// The claim as `GET /api/v1/claims/{id}` shows it.
pub fn claim_json(
    rec: &ClaimRecord,
    s: &Statement,
    next: Option<(crate::domain::lifecycle::ClaimState, NaiveDate)>,
) -> Value {
    let fees: Vec<FeeJson> = s
        .fees
        .iter()
        .filter(|f| !f.cancelled)
        .map(|f| FeeJson {
            kind: f.kind.as_str(),
            amount: f.amount,
            owed: f.owed,
            charged_on: f.charged_on,
        })
        .collect();
    json!({
        "id": rec.claim_id,
        "state": rec.state,
        "ocr": rec.ocr,
        "invoice_number": rec.invoice_number,
        "creditor": {"org_nr": rec.creditor_org_nr, "name": rec.creditor_name},
        "debtor": {"kind": rec.debtor_kind, "id_number": rec.debtor_id_number, "name": rec.debtor_name, "capacity": rec.debtor_capacity},
        "due_date": rec.due_date,
        "disputed": rec.disputed,
        "paused": rec.paused || rec.on_hold,
        "payment_plan": rec.payment_plan_active,
        "next_step": next.map(|(kind, date)| json!({"kind": kind.as_str(), "date": date})),
        "amounts": {
            "as_of": s.as_of,
            "capital": s.capital,
            "interest": s.interest,
            "fees": fees,
            "paid": s.paid,
            "balance": s.balance,
            // Some interest used the last known reference rate: no rate is published yet.
            "preliminary": s.preliminary,
        },
    })
}

/// Claim `id` of the key's creditor as the API shows it (one read, with the access row when the
/// key reads it), or 404.
async fn view(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    creditor_id: Uuid,
    id: Uuid,
    params: &Parameters,
    access: Option<access_log::Access<'_>>,
) -> Result<Value, ApiError> {
    let today = state.clock.today();
    let view = claims::load_view(conn, claims::Scope::Creditor(creditor_id), id, false, access)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let statement = view.statement(params, today)?;
    let planned = claims::planned_step(&view.rec, view.current_letter(), params, today);
    Ok(claim_json(&view.rec, &statement, planned))
}

async fn create(
    State(state): State<AppState>,
    key: ApiKey,
    headers: axum::http::HeaderMap,
    extract::JsonWithBody(body, raw): extract::JsonWithBody<ClaimInput>,
) -> Result<Response, ApiError> {
    key.require(Scope::ClaimsWrite)?;
    let request = (&headers, &raw);
    idempotent((&state, &key), request, "/api/v1/claims", || register(&state, &key, body)).await
}

/// Runs a POST once per `Idempotency-Key` (when the request has one): see `web::idempotency`.
async fn idempotent<F, Fut>(
    (state, key): (&AppState, &ApiKey),
    (headers, body): (&axum::http::HeaderMap, &Value),
    created_under: &str,
    run: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    use crate::web::idempotency::{self, Begin};
    let respond = |status: StatusCode, body: Value| {
        let location = (status == StatusCode::CREATED)
            .then(|| {
                body.get("id").and_then(Value::as_str).map(|id| format!("{created_under}/{id}"))
            })
            .flatten();
        let mut resp = (status, Json(body)).into_response();
        if let Some(l) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
            resp.headers_mut().insert(header::LOCATION, l);
        }
        resp
    };
    let Some(idem) = headers.get("idempotency-key") else {
        let (status, body) = run().await.unwrap_or_else(|e| (e.status, e.body()));
        return Ok(respond(status, body));
    };
    let idem = idem
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::validation(
                "Idempotency-Key",
                "Idempotency-Key ska vara 1–255 synliga tecken.",
            )
        })?
        .to_string();
    let owner = (key.0.owner.kind(), key.0.owner.id());
    let now = state.clock.now();
    match idempotency::begin(&mut *state.db.acquire().await?, owner, &idem, body, now).await? {
        Begin::Replay(status, body) => return Ok(respond(status, body)),
        Begin::OtherBody => {
            return Err(ApiError::conflict(
                "idempotency_conflict",
                "Idempotency-Key har redan använts för en annan begäran.",
            ));
        }
        Begin::InFlight => {
            return Err(ApiError::conflict(
                "idempotency_conflict",
                "En begäran med samma Idempotency-Key pågår fortfarande. Försök igen om en stund.",
            ));
        }
        Begin::Fresh => {}
    }
    let (status, answer) = run().await.unwrap_or_else(|e| (e.status, e.body()));
    idempotency::finish(&mut *state.db.acquire().await?, owner, &idem, status, &answer).await?;
    Ok(respond(status, answer))
}

/// Registers a claim from the API: the key's creditor's, or a partner's customer's.
async fn register(
    state: &AppState,
    key: &ApiKey,
    body: ClaimInput,
) -> Result<(StatusCode, Value), ApiError> {
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let today = state.clock.today();
    let creditor_id = match key.0.owner {
        Owner::Creditor(c) => c,
        Owner::Partner(p) => {
            let missing = || {
                ApiError::validation(
                    "creditor_org_nr",
                    "Ange organisationsnumret för den kund fordran gäller.",
                )
            };
            let org = body.creditor_org_nr.as_deref().ok_or_else(missing)?;
            let org = crate::domain::ids::IdNumber::parse(org, today)
                .map_err(|e| ApiError::validation("creditor_org_nr", e.to_string()))?;
            claims::customer_of_partner(&mut conn, p, org.as_str()).await?.ok_or_else(|| {
                ApiError::validation("creditor_org_nr", "Företaget är inte er kund hos Fordra.")
            })?
        }
    };
    let claim = match input::validate(&body, today, &params) {
        Ok(c) => c,
        Err(Invalid::Fields(errors)) => {
            let (field, message) = errors
                .iter()
                .next()
                .map(|(f, m)| (f.to_string(), m.to_string()))
                .unwrap_or_default();
            let details: Vec<Value> =
                errors.iter().map(|(f, m)| json!({"field": f, "message": m})).collect();
            return Err(ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "validation_failed",
                message,
                field: Some(field),
                details: Some(Value::Array(details)),
            });
        }
        Err(Invalid::TimeBarred { limitation_date, field }) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "time_barred",
                input::time_barred_message(limitation_date),
            )
            .with_field(field));
        }
    };
    let id = match claims::insert(&mut conn, creditor_id, &claim, None, state.clock.now(), today)
        .await
    {
        Ok(id) => id,
        Err(InsertError::DuplicateInvoiceNumber) => {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "duplicate_invoice_number",
                "Fakturanumret finns redan registrerat hos er.",
            );
            e.field = Some("invoice_number".into());
            return Err(e);
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    };
    let body = view(&mut conn, state, creditor_id, id, &params, None).await?;
    Ok((StatusCode::CREATED, body))
}

/// The key's own claim `id`, and an access-log row saying the key read the debtor's data.
async fn load(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    key: &ApiKey,
    id: &str,
    what: &str,
) -> Result<ClaimRecord, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    let creditor = key.creditor_of(conn, id).await?;
    let rec =
        claims::find(&mut *conn, id, Some(creditor)).await?.ok_or_else(ApiError::not_found)?;
    access_log::log_access(
        conn,
        Accessor::ApiKey(key.0.key_id),
        rec.claim_id,
        &rec.debtor_id_number,
        what,
        state.clock.now(),
    )
    .await?;
    Ok(rec)
}

async fn show(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    key.require(Scope::ClaimsRead)?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let mut conn = state.db.acquire().await?;
    let creditor = key.creditor_of(&mut conn, id).await?;
    let params = state.parameters(&mut conn).await?;
    let access = access_log::Access {
        who: Accessor::ApiKey(key.0.key_id),
        what: "fordran via API",
        at: state.clock.now(),
    };
    let body = view(&mut conn, &state, creditor, id, &params, Some(access)).await?;
    Ok(Json(body))
}

async fn events(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    key.require(Scope::ClaimsRead)?;
    let mut conn = state.db.acquire().await?;
    let rec = load(&mut conn, &state, &key, &id, "händelser via API").await?;
    let rows = claims::events(&mut conn, rec.claim_id).await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(id, at, date, kind, detail)| json!({"id": id, "at": at, "business_date": date, "kind": kind, "detail": detail}))
        .collect();
    Ok(Json(json!({ "claim_id": rec.claim_id, "events": events })))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    state: Option<String>,
    updated_since: Option<String>,
    invoice_number: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

/// The cursor after a claim: its registration time and id, opaque to the client.
fn cursor_of(rec: &ClaimRecord) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", rec.registered_at.timestamp_micros(), rec.claim_id);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn parse_cursor(s: &str) -> Option<(chrono::DateTime<chrono::Utc>, Uuid)> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
    let (micros, id) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((
        chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        Uuid::parse_str(id).ok()?,
    ))
}

/// `GET /api/v1/claims`: the key's claims (a partner's: its customers'), filtered by state,
/// activity since a time and invoice number, a page at a time: `{"claims", "next_cursor"}`.
async fn list(
    State(state): State<AppState>,
    key: ApiKey,
    extract::Query(q): extract::Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    key.require(Scope::ClaimsRead)?;
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => 50,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if (1..=200).contains(&n) => n,
            _ => return Err(ApiError::validation("limit", "limit ska vara ett heltal 1–200.")),
        },
    };
    let states = [
        "registered",
        "reminder",
        "collection",
        "final_notice",
        "enforcement_ready",
        "paid",
        "withdrawn",
        "written_off",
    ];
    let wanted = q.state.as_deref().filter(|s| !s.is_empty());
    if let Some(s) = wanted.filter(|s| !states.contains(s)) {
        return Err(ApiError::validation(
            "state",
            format!("Okänt läge {s:?}; använd ett av {}.", states.join(", ")),
        ));
    }
    let updated_since = match q.updated_since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            chrono::DateTime::parse_from_rfc3339(s)
                .map(|t| t.to_utc())
                .ok()
                .or_else(|| {
                    s.parse::<NaiveDate>()
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t.and_utc())
                })
                .ok_or_else(|| {
                    ApiError::validation(
                        "updated_since",
                        "Ange tiden som ISO 8601, till exempel 2026-03-01T00:00:00Z.",
                    )
                })?,
        ),
    };
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            Some(parse_cursor(c).ok_or_else(|| ApiError::validation("cursor", "Ogiltig cursor."))?)
        }
    };
    let (creditor, partner) = match key.0.owner {
        Owner::Creditor(c) => (Some(c), None),
        Owner::Partner(p) => (None, Some(p)),
    };
    let filter = claims::ApiFilter {
        creditor,
        partner,
        state: wanted,
        invoice_number: q.invoice_number.as_deref().filter(|s| !s.is_empty()),
        updated_since,
        after,
        limit: limit + 1,
    };
    let mut conn = state.db.acquire().await?;
    let mut recs = claims::api_page(&mut conn, &filter).await?;
    let more = recs.len() as i64 > limit;
    recs.truncate(limit as usize);
    let params = state.parameters(&mut conn).await?;
    let today = state.clock.today();
    let ids: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    let fees = claims::fees_of(&mut conn, &ids).await?;
    let moves = claims::movements_of(&mut conn, &ids).await?;
    let letters = claims::current_letters_of(&mut conn, &recs).await?;
    let mut found = Vec::with_capacity(recs.len());
    for rec in &recs {
        let s = claims::compute_statement(
            rec,
            fees.get(&rec.claim_id).map_or(&[], Vec::as_slice),
            moves.get(&rec.claim_id).map_or(&[], Vec::as_slice),
            &params,
            today,
        )?;
        let next = claims::planned_step(rec, letters.get(&rec.claim_id).copied(), &params, today);
        found.push(claim_json(rec, &s, next));
    }
    let next_cursor = if more { recs.last().map(cursor_of) } else { None };
    Ok(Json(json!({ "claims": found, "next_cursor": next_cursor })))
}

/// `{"reason"}` for withdraw, pause and resume (all optional).
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

/// `{"amount", "date", "comment"}` for direct payments and credits.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ReductionBody {
    amount: Option<Value>,
    date: Option<String>,
    comment: Option<String>,
}

/// `withdraw`, `pause` or `resume`: an optional `{"reason"}`.
fn reason_action(action: &'static str) -> axum::routing::MethodRouter<AppState> {
    axum::routing::post(
        move |State(state): State<AppState>,
              key: ApiKey,
              headers: axum::http::HeaderMap,
              Path(id): Path<String>,
              extract::OptionalJsonWithBody(body, raw): extract::OptionalJsonWithBody<
            ReasonBody,
        >| async move {
            let note = body.reason.unwrap_or_default();
            act(&state, &key, &headers, &id, &raw, (action, "", "", &note)).await
        },
    )
}

/// `direct_payment` or `credit`: `{"amount", "date", "comment"}`.
fn reduction_action(action: &'static str) -> axum::routing::MethodRouter<AppState> {
    axum::routing::post(
        move |State(state): State<AppState>,
              key: ApiKey,
              headers: axum::http::HeaderMap,
              Path(id): Path<String>,
              extract::JsonWithBody(body, raw): extract::JsonWithBody<ReductionBody>| async move {
            let amount = match &body.amount {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let date = body.date.unwrap_or_default();
            let comment = body.comment.unwrap_or_default();
            act(&state, &key, &headers, &id, &raw, (action, &amount, &date, &comment)).await
        },
    )
}

/// A creditor action over the API, with the claim page's rules and messages: the claim as
/// `GET` shows it, 409 `invalid_state` when the claim's state does not allow it, 422 on a field.
async fn act(
    state: &AppState,
    key: &ApiKey,
    headers: &axum::http::HeaderMap,
    id: &str,
    raw: &Value,
    (action, amount, date, note): (&str, &str, &str, &str),
) -> Result<Response, ApiError> {
    use crate::claim_page::actions::{self as service, ActionInput, Actor, Outcome};
    key.require(Scope::ClaimsWrite)?;
    let claim_id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    idempotent((state, key), (headers, raw), "", || async move {
        let mut conn = state.db.acquire().await?;
        let creditor = key.creditor_of(&mut conn, claim_id).await?;
        let actor = Actor {
            user: api_key::creator(&mut conn, key.0.key_id).await?,
            api_key: Some(key.0.key_id),
            ip: &key.1,
            now: state.clock.now(),
            today: state.clock.today(),
        };
        let on = (claim_id, Some(creditor));
        let input = ActionInput { action, amount, on_date: date, note };
        let (params, identity) = (&state.params, &state.config.identity);
        let outcome = service::creditor_action(&mut conn, params, identity, on, &actor, &input)
            .await
            .map_err(|e| match e {
                crate::web::AppError::NotFound => ApiError::not_found(),
                other => ApiError::from(anyhow::anyhow!("{other:?}")),
            })?;
        let invalid_state = || {
            ApiError::conflict(
                "invalid_state",
                "Åtgärden går inte att utföra i fordrans nuvarande läge.",
            )
        };
        match outcome {
            Outcome::Done(_) => {}
            Outcome::Closed => {
                return Err(ApiError::conflict(
                    "invalid_state",
                    service::Outcome::closed_message(),
                ));
            }
            Outcome::NotAllowed => return Err(invalid_state()),
            Outcome::Invalid(errors) => {
                let api_field = |f: &str| {
                    match f {
                        "on_date" => "date",
                        "note" => "comment",
                        other => other,
                    }
                    .to_string()
                };
                let (field, message) = errors
                    .iter()
                    .next()
                    .map(|(f, m)| (api_field(f), m.to_string()))
                    .unwrap_or_default();
                let details: Vec<Value> = errors
                    .iter()
                    .map(|(f, m)| json!({"field": api_field(f), "message": m}))
                    .collect();
                return Err(ApiError {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    code: "validation_failed",
                    message,
                    field: Some(field),
                    details: Some(Value::Array(details)),
                });
            }
        }
        let params = state.parameters(&mut conn).await?;
        let body = view(&mut conn, state, creditor, claim_id, &params, None).await?;
        Ok((StatusCode::OK, body))
    })
    .await
}

#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct SubscribeBody {
    url: String,
    events: Vec<String>,
}

/// `POST /api/v1/webhooks {"url", "events"}`: 201 with the secret, shown this once.
async fn subscribe(
    State(state): State<AppState>,
    key: ApiKey,
    headers: axum::http::HeaderMap,
    extract::JsonWithBody(body, raw): extract::JsonWithBody<SubscribeBody>,
) -> Result<Response, ApiError> {
    key.require(Scope::Webhooks)?;
    idempotent((&state, &key), (&headers, &raw), "/api/v1/webhooks", || async {
        let mut conn = state.db.acquire().await?;
        let by = api_key::creator(&mut conn, key.0.key_id).await?;
        let allow = state.config.webhooks_allow_private;
        let made = crate::webhooks::subscribe(
            &mut conn,
            key.0.owner,
            (&body.url, &body.events),
            (by, allow, state.clock.now()),
        )
        .await?;
        match made {
            Ok((id, secret)) => Ok((
                StatusCode::CREATED,
                json!({"id": id, "url": body.url.trim(), "events": body.events, "secret": secret}),
            )),
            Err((field, why)) => Err(ApiError::validation(field, why)),
        }
    })
    .await
}

async fn subscriptions(
    State(state): State<AppState>,
    key: ApiKey,
) -> Result<Json<Value>, ApiError> {
    key.require(Scope::Webhooks)?;
    let list = crate::webhooks::list(&mut *state.db.acquire().await?, key.0.owner).await?;
    let hooks: Vec<Value> = list
        .into_iter()
        .map(|s| json!({"id": s.subscription_id, "url": s.url, "events": s.events, "created_at": s.created_at}))
        .collect();
    Ok(Json(json!({ "webhooks": hooks })))
}

async fn unsubscribe(
    State(state): State<AppState>,
    key: ApiKey,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    key.require(Scope::Webhooks)?;
    let not_found =
        || ApiError::new(StatusCode::NOT_FOUND, "not_found", "Prenumerationen finns inte.");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let mut conn = state.db.acquire().await?;
    if crate::webhooks::unsubscribe(&mut conn, key.0.owner, id, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found())
    }
}
