//! The claim transactions that are more than one repo call: a CSV file checked, kept until it
//! is confirmed, and registered whole or not at all.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    InsertError,
    csv::{self, LineError},
    input::{self, NewClaim},
    web::DUPLICATE_INVOICE,
};
use crate::{
    auth::{Acting, audit},
    domain::money::Sek,
    parameters::{Cache, Parameters},
    web::AppError,
};

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
            return Ok(Checked { claims: vec![], errors: vec![e], rows: 0, total: Sek::ZERO });
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
    Ok(Checked { rows, claims, errors, total })
}

/// Keeps a checked file (`name`, `bytes`, its row count) until the creditor confirms it.
pub async fn store_import(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    user_id: Uuid,
    (name, bytes, rows): (&str, &[u8], usize),
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!("insert into claim_import (claim_import_id, creditor_id, user_id, file_name, content, row_count, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)", id, creditor_id, user_id, name, csv::decode(bytes), rows as i32, now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub enum Committed {
    Done {
        file_name: String,
        checked: Checked,
    },
    /// Imported already (a double click).
    Already,
    /// The file no longer passes (e.g. an invoice number registered since the preview);
    /// nothing of it is kept.
    Refused {
        file_name: String,
        checked: Checked,
    },
}

/// Registers a kept file's claims, all or none, after checking it again; audited.
pub async fn commit_import(
    conn: &mut PgConnection,
    params: &Cache,
    id: Uuid,
    creditor_id: Uuid,
    by: &Acting<'_>,
) -> Result<Committed, AppError> {
    let (user_id, ip, now, today) = (by.user_id, by.ip, by.now, by.today);
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Locks the import: a double click commits once.
    let row: Option<(String, String, Option<DateTime<Utc>>)> = sqlx::query_as(
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
        return Ok(Committed::Already);
    }
    let params = params.get(&mut tx).await?;
    let checked = check(&mut tx, creditor_id, content.as_bytes(), today, &params).await?;
    if !checked.errors.is_empty() {
        return Ok(Committed::Refused { file_name, checked });
    }
    let inserted =
        super::insert_many(&mut tx, creditor_id, &checked.claims, Some(user_id), now, today).await;
    match inserted {
        Ok(_) => {}
        Err(InsertError::DuplicateInvoiceNumber) => {
            // Registered by someone else since the check: nothing of this file is kept.
            tx.rollback().await?;
            let again = check(conn, creditor_id, content.as_bytes(), today, &params).await?;
            return Ok(Committed::Refused { file_name, checked: again });
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    }
    sqlx::query!("update claim_import set committed_at = $2 where claim_import_id = $1", id, now)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        now,
        Some(user_id),
        "claims_imported",
        Some(&id.to_string()),
        serde_json::json!({"file": file_name, "claims": checked.claims.len(), "capital": checked.total.to_plain()}),
        Some(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(Committed::Done { file_name, checked })
}
