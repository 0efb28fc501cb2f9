//! `/admin/logg`: admins search the audit log by person, object, action and date, and export
//! what they found as CSV.

use askama::Template;
use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};

use super::{Entry, Search};
use crate::{
    auth::{Ctx, Role},
    state::AppState,
    web::{Query, forms::parse_date, prelude::*},
};

/// Rows a page shows, and the most one export holds.
const PAGE_ROWS: i64 = 500;
const EXPORT_ROWS: i64 = 100_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/logg", get(page)).route("/admin/logg.csv", get(export))
}

#[derive(Template)]
#[template(path = "backoffice/audit.html")]
struct LogPage {
    layout: Layout,
    q: Search,
    errors: FieldErrors,
    entries: Vec<Entry>,
    actions: Vec<String>,
    export_query: String,
    limit: i64,
}

/// The dates of a search, or what is wrong with them.
fn dates(
    q: &Search,
) -> Result<(Option<chrono::NaiveDate>, Option<chrono::NaiveDate>), FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut date = |field: &str, s: &str| match s.trim() {
        "" => None,
        s => {
            let d = parse_date(s);
            if d.is_none() {
                errors.add(field, "Ange datumet som ÅÅÅÅ-MM-DD.");
            }
            d
        }
    };
    let range = (date("from", &q.from), date("to", &q.to));
    errors.into_result(range)
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<Search>,
) -> Result<Response, AppError> {
    ctx.require(&[Role::Admin])?;
    let mut conn = state.db.acquire().await?;
    let actions = super::actions(&mut conn).await?;
    let (entries, errors) = match dates(&q) {
        Ok(range) => {
            (super::search(&mut conn, &q, range, PAGE_ROWS).await?, FieldErrors::default())
        }
        Err(errors) => (vec![], errors),
    };
    let export_query = serde_urlencoded::to_string([
        ("person", &q.person),
        ("object", &q.object),
        ("action", &q.action),
        ("from", &q.from),
        ("to", &q.to),
    ])
    .unwrap_or_default();
    let status = errors.status();
    let page = LogPage {
        layout: ctx.layout(),
        q,
        errors,
        entries,
        actions,
        export_query,
        limit: PAGE_ROWS,
    };
    Ok(render_status(status, &page))
}

async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<Search>,
) -> Result<Response, AppError> {
    ctx.require(&[Role::Admin])?;
    let range = dates(&q).map_err(|e| {
        AppError::BadRequest(e.first_message().unwrap_or("Ogiltigt datum.").to_string())
    })?;
    let entries = super::search(&mut *state.db.acquire().await?, &q, range, EXPORT_ROWS).await?;
    let name = format!("granskningslogg-{}.csv", state.clock.today());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        super::to_csv(&entries),
    )
        .into_response())
}
