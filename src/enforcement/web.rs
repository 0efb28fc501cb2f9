//! `/admin/kronofogden`: the claims ready for Kronofogden with their readiness check, a PDF of
//! each application to look at, and the export (CSV, JSON, or one case's PDF) that marks the
//! exported claims as handed off.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};

use super::Candidate;
use crate::{
    auth::{Ctx, Role, STAFF},
    state::AppState,
    web::{Form, Query, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/kronofogden", get(page))
        .route("/admin/kronofogden/export", post(export))
        .route("/admin/kronofogden/{id}/ansokan.pdf", get(preview))
}

#[derive(Template)]
#[template(path = "backoffice/enforcement.html")]
struct EnforcementPage {
    layout: Layout,
    candidates: Vec<Candidate>,
    again: bool,
    can_export: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    alla: String,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let again = q.alla == "1";
    let today = state.clock.today();
    let candidates = super::candidates(&mut *state.db.acquire().await?, today, again, None).await?;
    Ok(render(&EnforcementPage {
        layout: ctx.layout(),
        candidates,
        again,
        can_export: user.role == Role::Admin,
    }))
}

fn download(content_type: &str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        body,
    )
        .into_response()
}

/// A case's application as PDF, to look at; it does not mark the claim as handed off.
async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let c = super::candidates(&mut conn, today, true, Some(&[id]))
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    let app = super::application(&mut conn, &c, &params, today, &state.config.identity).await?;
    let pdf = super::to_pdf(&app, &state.config.identity);
    Ok(download("application/pdf", &format!("ansokan-{}.pdf", app.ocr), pdf))
}

async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let value = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let format = value("format").unwrap_or("csv");
    let again = value("again") == Some("1");
    let ids: Vec<uuid::Uuid> = pairs
        .iter()
        .filter(|(k, _)| k == "claim")
        .filter_map(|(_, v)| uuid::Uuid::parse_str(v).ok())
        .collect();
    let back = if again { "/admin/kronofogden?alla=1" } else { "/admin/kronofogden" };
    if !matches!(format, "csv" | "json" | "pdf") {
        return Ok(flash_redirect(back, FlashKind::Error, "Välj CSV, JSON eller PDF."));
    }
    if format == "pdf" && ids.len() != 1 {
        return Ok(flash_redirect(
            back,
            FlashKind::Error,
            "En PDF gäller ett ärende: välj exakt ett.",
        ));
    }
    let (today, now) = (state.clock.today(), state.clock.now());
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let only = (!ids.is_empty()).then_some(ids.as_slice());
    let done = super::export(
        &mut conn,
        &params,
        (today, now),
        (only, again),
        &state.config.identity,
        Some(&by),
    )
    .await?;
    if done.applications.is_empty() {
        let why = match done.refused.first() {
            Some((rec, problems)) => format!(
                "Inget ärende exporterades. Ärende {}: {}",
                rec.case_number,
                problems.join(" ")
            ),
            None => "Inget ärende är klart att lämnas över.".to_string(),
        };
        return Ok(flash_redirect(back, FlashKind::Error, &why));
    }
    let name = format!("betalningsforelaggande-{today}");
    Ok(match format {
        "json" => download(
            "application/json",
            &format!("{name}.json"),
            serde_json::to_vec_pretty(&serde_json::json!({"applications": done.applications}))
                .map_err(anyhow::Error::from)?,
        ),
        "pdf" => download(
            "application/pdf",
            &format!("{name}-{}.pdf", done.applications[0].ocr),
            super::to_pdf(&done.applications[0], &state.config.identity),
        ),
        _ => download(
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
            super::to_csv(&done.applications).into_bytes(),
        ),
    })
}
