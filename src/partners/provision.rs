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

/// Bars per month (label, amount incl. VAT) as an accessible SVG drawn on the server.
pub fn bar_chart(months: &[(String, Decimal)]) -> String {
    let (w, h, top, bottom) = (480.0_f64, 180.0_f64, 16.0_f64, 28.0_f64);
    let max = months.iter().map(|(_, a)| *a).max().unwrap_or_default().max(Decimal::ONE);
    let max: f64 = max.to_string().parse().unwrap_or(1.0);
    let slot = w / months.len().max(1) as f64;
    let mut bars = String::new();
    for (i, (label, amount)) in months.iter().enumerate() {
        let value: f64 = amount.to_string().parse().unwrap_or(0.0);
        let bh = ((value.max(0.0) / max) * (h - top - bottom)).round();
        let x = i as f64 * slot + slot * 0.2;
        let y = h - bottom - bh;
        let shown = crate::web::filters::comma_of(*amount);
        bars += &format!(
            "<g><title>{label}: {shown} kr</title><rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{:.0}\" height=\"{bh:.0}\" fill=\"currentColor\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">{label}</text>\
             <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"11\">{shown}</text></g>",
            slot * 0.6,
            x + slot * 0.3,
            h - 10.0,
            x + slot * 0.3,
            (y - 4.0).max(11.0)
        );
    }
    let summary: Vec<String> = months
        .iter()
        .map(|(l, a)| format!("{l} {} kr", crate::web::filters::comma_of(*a)))
        .collect();
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Provision per månad: {}\" xmlns=\"http://www.w3.org/2000/svg\">{bars}</svg>",
        summary.join(", ")
    )
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
        chart: bar_chart(&months),
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
