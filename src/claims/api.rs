//! JSON API v1 for claims (product.md §6): `Authorization: Bearer <key>`, amounts as decimal
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

use super::{
    ClaimRecord, InsertError,
    input::{self, ClaimInput, Invalid},
};
use crate::{
    auth::access_log::{self, Accessor},
    auth::api_key,
    domain::{money::Sek, statement::Statement},
    parameters::Parameters,
    state::AppState,
    web::{api_error::ApiError, extract},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/claims", axum::routing::post(create))
        .route("/api/v1/claims/{id}", get(show))
        .route("/api/v1/claims/{id}/events", get(events))
}

/// The creditor an API key belongs to, and the key (the access log names it).
pub struct ApiCreditor {
    pub creditor_id: Uuid,
    pub key_id: Uuid,
}

impl FromRequestParts<AppState> for ApiCreditor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ApiCreditor, ApiError> {
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
        let found = api_key::find(&mut *state.db.acquire().await?, key).await?;
        found
            .map(|(creditor_id, key_id)| ApiCreditor { creditor_id, key_id })
            .ok_or_else(unauthorized)
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
    let view = super::load_view(conn, super::Scope::Creditor(creditor_id), id, false, access)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let statement = view.statement(params, today)?;
    let planned = super::planned_step(&view.rec, view.current_letter(), params, today);
    Ok(claim_json(&view.rec, &statement, planned))
}

async fn create(
    State(state): State<AppState>,
    ApiCreditor { creditor_id, .. }: ApiCreditor,
    extract::Json(body): extract::Json<ClaimInput>,
) -> Result<Response, ApiError> {
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let today = state.clock.today();
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
    let id =
        match super::insert(&mut conn, creditor_id, &claim, None, state.clock.now(), today).await {
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
    let body = view(&mut conn, &state, creditor_id, id, &params, None).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/claims/{id}"))], Json(body))
        .into_response())
}

/// The key's own claim `id`, and an access-log row saying the key read the debtor's data.
async fn load(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    key: &ApiCreditor,
    id: &str,
    what: &str,
) -> Result<ClaimRecord, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found())?;
    let rec = super::find(&mut *conn, id, Some(key.creditor_id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    access_log::log_access(
        conn,
        Accessor::ApiKey(key.key_id),
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
    key: ApiCreditor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found())?;
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let access = access_log::Access {
        who: Accessor::ApiKey(key.key_id),
        what: "fordran via API",
        at: state.clock.now(),
    };
    let body = view(&mut conn, &state, key.creditor_id, id, &params, Some(access)).await?;
    Ok(Json(body))
}

async fn events(
    State(state): State<AppState>,
    key: ApiCreditor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.db.acquire().await?;
    let rec = load(&mut conn, &state, &key, &id, "händelser via API").await?;
    let rows = super::events(&mut conn, rec.claim_id).await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(id, at, date, kind, detail)| json!({"id": id, "at": at, "business_date": date, "kind": kind, "detail": detail}))
        .collect();
    Ok(Json(json!({ "claim_id": rec.claim_id, "events": events })))
}
