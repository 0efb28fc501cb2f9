//! CSV import in the browser: upload, a preview with every error by line and column, then an
//! all-or-nothing commit of the previewed file (validated again at commit time).

use std::collections::HashMap;

use askama::Template;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    InsertError,
    csv::{self, COLUMNS, LineError},
    input::{self, NewClaim},
    web::DUPLICATE_INVOICE,
};
use crate::auth::Ctx;
use crate::web::extract::upload_failure;
use crate::{
    auth::audit, domain::money::Sek, parameters::Parameters, state::AppState, web::prelude::*,
};

/// Uploads up to this size (a 20,000-row file is about 4 MB).
const MAX_UPLOAD: usize = 8 * 1024 * 1024;
/// Errors listed on the preview; the count says how many more there are.
const SHOWN_ERRORS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/borgenar/krav/import",
            get(upload_form)
                .post(preview)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/borgenar/krav/import/{id}", post(commit))
        .route("/borgenar/krav/mall.csv", get(template))
}

/// The outcome of checking a whole file.
pub struct Checked {
    pub claims: Vec<NewClaim>,
    pub errors: Vec<LineError>,
    pub rows: usize,
    pub total: Sek,
}

/// Parses and validates every row, and refuses invoice numbers repeated in the file or already
/// registered by the creditor.
pub async fn check(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    bytes: &[u8],
    today: NaiveDate,
    params: &Parameters,
) -> sqlx::Result<Checked> {
    let parsed = match csv::parse(bytes) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Checked {
                claims: vec![],
                errors: vec![e],
                rows: 0,
                total: Sek::ZERO,
            });
        }
    };
    // Rows with the wrong number of fields are not in `parsed.rows` but are rows of the file.
    let rows = parsed.rows.len() + parsed.errors.iter().filter(|e| e.column.is_empty()).count();
    let mut errors = parsed.errors;
    let mut claims = Vec::with_capacity(parsed.rows.len());
    let mut lines = Vec::with_capacity(parsed.rows.len());
    for (line, row) in &parsed.rows {
        match input::validate(row, today, params) {
            Ok(c) => {
                claims.push(c);
                lines.push(*line);
            }
            Err(invalid) => {
                for (field, message) in invalid.into_errors().iter() {
                    errors.push(LineError {
                        line: *line,
                        column: csv::column_of(field),
                        message: message.to_string(),
                    });
                }
            }
        }
    }
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (c, line) in claims.iter().zip(&lines) {
        if let Some(first) = first_seen.insert(&c.invoice_number, *line) {
            errors.push(LineError {
                line: *line,
                column: "fakturanummer",
                message: format!("Fakturanumret finns redan på rad {first} i filen."),
            });
            first_seen.insert(&c.invoice_number, first);
        }
    }
    let numbers: Vec<&str> = claims.iter().map(|c| c.invoice_number.as_str()).collect();
    let existing: Vec<String> = sqlx::query_scalar(
        "select invoice_number from claim where creditor_id = $1 and invoice_number = any($2)",
    )
    .bind(creditor_id)
    .bind(&numbers)
    .fetch_all(&mut *conn)
    .await?;
    for (c, line) in claims.iter().zip(&lines) {
        if existing.contains(&c.invoice_number) {
            errors.push(LineError {
                line: *line,
                column: "fakturanummer",
                message: DUPLICATE_INVOICE.into(),
            });
        }
    }
    errors.sort_by_key(|e| e.line);
    let total = claims.iter().fold(Sek::ZERO, |t, c| t + c.capital);
    Ok(Checked {
        rows,
        claims,
        errors,
        total,
    })
}

#[derive(Template)]
#[template(path = "claims/import.html")]
struct ImportPage {
    layout: Layout,
    columns: &'static [(&'static str, bool, &'static str)],
    file_name: String,
    upload_error: Option<String>,
    preview: Option<Preview>,
}

struct Preview {
    import_id: Option<Uuid>,
    rows: usize,
    total: Sek,
    errors: Vec<LineError>,
    error_count: usize,
    sample: Vec<NewClaim>,
}

fn page(ctx: &Ctx) -> ImportPage {
    ImportPage {
        layout: ctx.layout(),
        columns: COLUMNS,
        file_name: String::new(),
        upload_error: None,
        preview: None,
    }
}

async fn upload_form(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require_creditor()?;
    Ok(render(&page(&ctx)))
}

async fn template(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require_creditor()?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"fordra-mall.csv\"",
            ),
        ],
        csv::template(),
    )
        .into_response())
}

fn preview_of(checked: Checked, import_id: Option<Uuid>) -> Preview {
    let error_count = checked.errors.len();
    let mut errors = checked.errors;
    errors.truncate(SHOWN_ERRORS);
    Preview {
        import_id,
        rows: checked.rows,
        total: checked.total,
        errors,
        error_count,
        sample: checked.claims.into_iter().take(10).collect(),
    }
}

async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                let mut p = page(&ctx);
                p.upload_error = Some(message);
                return Ok(render_status(status, &p));
            }
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                    let mut p = page(&ctx);
                    p.upload_error = Some(message);
                    return Ok(render_status(status, &p));
                }
            };
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let mut p = page(&ctx);
        p.upload_error = Some("Välj en CSV-fil att ladda upp.".into());
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    };
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let checked = check(&mut conn, creditor_id, &bytes, today, &params).await?;
    let mut p = page(&ctx);
    p.file_name = file_name.clone();
    if !checked.errors.is_empty() {
        p.preview = Some(preview_of(checked, None));
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    // Keep the checked file until it is confirmed; the commit reads exactly these bytes.
    let id = Uuid::new_v4();
    sqlx::query!("insert into claim_import (claim_import_id, creditor_id, user_id, file_name, content, row_count, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)", id, creditor_id, user.id, &file_name, csv::decode(&bytes), checked.rows as i32, state.clock.now())
    .execute(&mut *conn)
    .await?;
    p.preview = Some(preview_of(checked, Some(id)));
    Ok(render(&p))
}

async fn commit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let today = state.clock.today();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Locks the import: a double click commits once.
    let row: Option<(String, String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "select file_name, content, committed_at from claim_import
         where claim_import_id = $1 and creditor_id = $2 for update",
    )
    .bind(id)
    .bind(creditor_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((file_name, content, committed)) = row else {
        return Err(AppError::NotFound);
    };
    if committed.is_some() {
        return Ok(flash_redirect(
            "/borgenar/krav",
            FlashKind::Info,
            "Filen är redan importerad.",
        ));
    }
    let params = state.parameters(&mut tx).await?;
    let checked = check(&mut tx, creditor_id, content.as_bytes(), today, &params).await?;
    let refuse = |checked: Checked| {
        let mut p = page(&ctx);
        p.file_name = file_name.clone();
        p.preview = Some(preview_of(checked, None));
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
    };
    if !checked.errors.is_empty() {
        return Ok(refuse(checked));
    }
    match super::insert_many(
        &mut tx,
        creditor_id,
        &checked.claims,
        Some(user.id),
        now,
        today,
    )
    .await
    {
        Ok(_) => {}
        Err(InsertError::DuplicateInvoiceNumber) => {
            // Registered by someone else since the check: nothing of this file is kept.
            drop(tx);
            let mut conn = state.db.acquire().await?;
            let again = check(&mut conn, creditor_id, content.as_bytes(), today, &params).await?;
            return Ok(refuse(again));
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    }
    sqlx::query!(
        "update claim_import set committed_at = $2 where claim_import_id = $1",
        id,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        now,
        Some(user.id),
        "claims_imported",
        Some(&id.to_string()),
        serde_json::json!({"file": file_name, "claims": checked.claims.len(), "capital": checked.total.to_plain()}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
    Ok(flash_redirect(
        "/borgenar/krav",
        FlashKind::Success,
        &format!(
            "{} fordringar importerade från {file_name}, sammanlagt {}.",
            checked.claims.len(),
            checked.total
        ),
    ))
}
