//! `/partner/provision`: the current quarter's running total, a month-by-month bar chart drawn
//! on the server as SVG, the agreement period, and past statements with their payout state; each
//! statement as a page, PDF and CSV. A partner sees only its own (another's is 404).

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

use super::statement::{self, Statement, kind_label};
use crate::{auth::Ctx, domain::partner::Quarter, state::AppState, web::prelude::*};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner/provision", get(dashboard))
        .route("/partner/provision/{quarter}", get(show))
        .route("/partner/provision/{quarter}/{file}", get(file))
}

#[derive(Template)]
#[template(path = "partners/provision.html")]
struct Dashboard {
    layout: Layout,
    quarter: String,
    running: Decimal,
    chart: String,
    months: Vec<(String, Decimal)>,
    past: Vec<super::repo::Past>,
    period_end: Option<NaiveDate>,
}

pub fn payout_label(state: Option<&str>) -> &'static str {
    match state {
        None => "Ingen utbetalning",
        Some("draft") => "Väntar på utbetalning",
        Some("approved" | "exported") => "Utbetalning på väg",
        Some("executed") => "Utbetald",
        Some(_) => "Okänd",
    }
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"];

async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, partner_id) = super::routes::partner_of(&ctx)?;
    let today = state.clock.today();
    let quarter = Quarter::of(today);
    let mut conn = state.db.acquire().await?;
    let running = super::repo::running_total(&mut conn, partner_id, today).await?;
    // The last twelve months, by the month the commission was earned.
    let first = NaiveDate::from_ymd_opt(today.year() - 1, today.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .unwrap_or(today);
    let sums = super::repo::by_month(&mut conn, partner_id, first, today).await?;
    let months: Vec<(String, Decimal)> = (0..12)
        .filter_map(|i| first.checked_add_months(chrono::Months::new(i)))
        .map(|m| {
            let s = sums.iter().find(|r| r.0 == m).map_or(Decimal::ZERO, |r| r.1);
            (MONTHS[m.month0() as usize].to_string(), s)
        })
        .collect();
    let past = super::repo::statements(&mut conn, partner_id).await?;
    let a = super::repo::signed(&mut conn, partner_id).await?;
    let params = state.parameters(&mut conn).await?;
    let period_end = a.filter(|a| a.status == "approved").and_then(|a| {
        crate::domain::partner::period_end(a.signed_on, today, params.book.in_force(today))
    });
    Ok(render(&Dashboard {
        layout: ctx.layout(),
        quarter: quarter.to_string(),
        running,
        chart: crate::web::chart::bars(&months, "kr"),
        months,
        past,
        period_end,
    }))
}

#[derive(Template)]
#[template(path = "partners/statement.html")]
struct StatementPage {
    layout: Layout,
    s: Statement,
}

async fn own(state: &AppState, ctx: &Ctx, quarter: &str) -> Result<Statement, AppError> {
    let (_, partner_id) = super::routes::partner_of(ctx)?;
    let mut conn = state.db.acquire().await?;
    statement::load(&mut conn, partner_id, quarter).await?.ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(quarter): Path<String>,
) -> Result<Response, AppError> {
    let s = own(&state, &ctx, &quarter).await?;
    Ok(render(&StatementPage { layout: ctx.layout(), s }))
}

async fn file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((quarter, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let s = own(&state, &ctx, &quarter).await?;
    let (bytes, mime, ext) = match file.as_str() {
        "underlag.pdf" => (statement::pdf(&s, &state.config.identity), "application/pdf", "pdf"),
        "underlag.csv" => (statement::csv(&s), "text/csv; charset=utf-8", "csv"),
        _ => return Err(AppError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"provision-{}-{}.{ext}\"", s.partner, s.quarter),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// For the statement page's lines.
pub fn label(kind: &str) -> &'static str {
    kind_label(kind)
}
