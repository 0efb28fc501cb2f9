//! The claim transactions that are more than one repo call: a CSV file checked, kept until it
//! is confirmed, and registered whole or not at all.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    InsertError,
    csv::{self, LineError, Row},
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

/// Validates rows as read: their own problems, then the claim rules. Returns the valid claims
/// with their lines; `errors` gets the rest.
fn validate_rows(
    rows: Vec<Row>,
    today: NaiveDate,
    params: &Parameters,
    errors: &mut Vec<LineError>,
) -> Vec<(usize, NewClaim)> {
    let mut valid = Vec::with_capacity(rows.len());
    for row in rows {
        errors.extend(row.errors);
        let Some(input) = row.input else { continue };
        match input::validate(&input, today, params) {
            Ok(c) => valid.push((row.line, c)),
            Err(invalid) => {
                for (field, message) in invalid.into_errors().iter() {
                    errors.push(LineError {
                        line: row.line,
                        column: csv::column_of(field),
                        message: message.to_string(),
                    });
                }
            }
        }
    }
    valid
}

fn repeated(line: usize, first: usize) -> LineError {
    LineError {
        line,
        column: "fakturanummer",
        message: format!("Fakturanumret finns redan på rad {first} i filen."),
    }
}

fn registered(line: usize) -> LineError {
    LineError { line, column: "fakturanummer", message: DUPLICATE_INVOICE.into() }
}

/// Parses and validates every row of an uploaded file, and refuses invoice numbers repeated in
/// the file or already registered by the creditor.
pub async fn check(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    bytes: &[u8],
    today: NaiveDate,
    params: &Parameters,
) -> sqlx::Result<Checked> {
    let rows = match csv::parse(bytes) {
        Ok(rows) => rows,
        Err(e) => {
            return Ok(Checked { claims: vec![], errors: vec![e], rows: 0, total: Sek::ZERO });
        }
    };
    let count = rows.len();
    let mut errors = Vec::new();
    let valid = validate_rows(rows, today, params, &mut errors);
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (line, c) in &valid {
        match first_seen.get(c.invoice_number.as_str()) {
            Some(first) => errors.push(repeated(*line, *first)),
            None => {
                first_seen.insert(&c.invoice_number, *line);
            }
        }
    }
    let numbers: Vec<&str> = valid.iter().map(|(_, c)| c.invoice_number.as_str()).collect();
    let existing: Vec<String> = sqlx::query_scalar(
        "select invoice_number from claim where creditor_id = $1 and invoice_number = any($2)",
    )
    .bind(creditor_id)
    .bind(&numbers)
    .fetch_all(&mut *conn)
    .await?;
    for (line, c) in &valid {
        if existing.contains(&c.invoice_number) {
            errors.push(registered(*line));
        }
    }
    errors.sort_by_key(|e| e.line);
    let claims: Vec<NewClaim> = valid.into_iter().map(|(_, c)| c).collect();
    let total = claims.iter().fold(Sek::ZERO, |t, c| t + c.capital);
    Ok(Checked { rows: count, claims, errors, total })
}

/// Rows read, checked and registered at a time by [`import_file`].
const CHUNK: usize = 2_000;

/// What [`import_file`] did.
pub enum Imported {
    Done {
        claims: usize,
        total: Sek,
    },
    /// Nothing was registered; every bad line is named, in file order.
    Refused(Vec<LineError>),
}

/// Who imports a file, for whom, and where progress goes.
pub struct Import<'a> {
    pub creditor_id: Uuid,
    /// The file's name, for the audit log.
    pub name: &'a str,
    /// The user registering (a creditor's or a partner's), or `None` from the command line.
    pub by: Option<Uuid>,
    /// Rows checked so far, sent after each chunk (for a progress page).
    pub progress: Option<&'a tokio::sync::watch::Sender<usize>>,
}

/// [`import`] of a file on disk, from the command line.
pub async fn import_file(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    path: &std::path::Path,
    params: &Parameters,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<Imported> {
    let encoding = csv::Encoding::detect(std::fs::File::open(path)?)?;
    let file = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(path)?);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let imp = Import { creditor_id, name: &name, by: None, progress: None };
    import(conn, &imp, (file, encoding), params, now, today).await
}

/// Imports a claims file of any size, with the web import's format and rules, all of it or
/// nothing, in memory that does not grow with the file: read, checked and registered
/// [`CHUNK`] rows at a time inside one transaction. Invoice numbers already seen in the file
/// are kept in a temporary table, not in memory. After the first bad line nothing more is
/// registered, but the rest is still checked so that every bad line is named; then the
/// transaction is rolled back. Audited as `claims_imported`.
pub async fn import<R: std::io::BufRead + Send>(
    conn: &mut PgConnection,
    imp: &Import<'_>,
    (src, encoding): (R, csv::Encoding),
    params: &Parameters,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<Imported> {
    let creditor_id = imp.creditor_id;
    let mut reader = match csv::Reader::open(src, encoding) {
        Ok(r) => r,
        Err(e) => return Ok(Imported::Refused(vec![e])),
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // `ours`: registered by this import (so not "registered before").
    sqlx::query(
        "create temp table import_seen (invoice_number text primary key, line int not null, ours bool not null)
         on commit drop",
    )
    .execute(&mut *tx)
    .await?;
    let mut errors: Vec<LineError> = Vec::new();
    let (mut rows, mut claims, mut total) = (0, 0, Sek::ZERO);
    let mut end = false;
    while !end {
        let mut chunk = Vec::with_capacity(CHUNK);
        while chunk.len() < CHUNK {
            match reader.next_row() {
                Ok(Some(row)) => chunk.push(row),
                Ok(None) => {
                    end = true;
                    break;
                }
                Err(e) => {
                    errors.push(e);
                    end = true;
                    break;
                }
            }
        }
        rows += chunk.len();
        let from = errors.len();
        let (lines, new): (Vec<usize>, Vec<NewClaim>) =
            validate_rows(chunk, today, params, &mut errors).into_iter().unzip();
        // For each row: the line its invoice number first appeared on in the file (an earlier
        // chunk, or earlier in this one), and whether the creditor had it before this import.
        let numbers: Vec<&str> = new.iter().map(|c| c.invoice_number.as_str()).collect();
        let lines: Vec<i32> = lines.into_iter().map(|line| line as i32).collect();
        // (A temporary table, so these two are checked at run time, not by `query!`.)
        let clashes: Vec<(i32, Option<i32>, bool)> = sqlx::query_as(
            "select n.line, coalesce(s.line, nullif(min(n.line) over w, n.line)),
                 coalesce(not s.ours, true)
                   and exists(select 1 from claim c where c.creditor_id = $3 and c.invoice_number = n.invoice_number)
               from unnest($1::text[], $2::int[]) as n(invoice_number, line)
               left join import_seen s using (invoice_number)
               window w as (partition by n.invoice_number)",
        )
        .bind(&numbers)
        .bind(&lines)
        .bind(creditor_id)
        .fetch_all(&mut *tx)
        .await?;
        for &(line, first, before) in &clashes {
            if let Some(first) = first {
                errors.push(repeated(line as usize, first as usize));
            }
            if before {
                errors.push(registered(line as usize));
            }
        }
        errors[from..].sort_by_key(|e| e.line);
        let register = errors.is_empty();
        if register && !new.is_empty() {
            match super::insert_many(&mut tx, creditor_id, &new, imp.by, now, today).await {
                Ok(_) => {}
                Err(InsertError::DuplicateInvoiceNumber) => anyhow::bail!(
                    "an invoice number of the file was registered by someone else during the import; nothing was imported"
                ),
                Err(InsertError::Db(e)) => return Err(e.into()),
            }
            claims += new.len();
            total = new.iter().fold(total, |t, c| t + c.capital);
        }
        sqlx::query(
            "insert into import_seen (invoice_number, line, ours)
             select invoice_number, line, $3 from unnest($1::text[], $2::int[]) as n(invoice_number, line)
             on conflict do nothing",
        )
        .bind(&numbers)
        .bind(&lines)
        .bind(register)
        .execute(&mut *tx)
        .await?;
        if let Some(p) = imp.progress {
            let _ = p.send(rows);
        }
    }
    if rows == 0 && errors.is_empty() {
        errors.push(LineError { line: 1, column: "", message: csv::NO_ROWS.into() });
    }
    if !errors.is_empty() {
        tx.rollback().await?;
        return Ok(Imported::Refused(errors));
    }
    let via = if imp.by.is_some() { "background" } else { "cli" };
    let detail = serde_json::json!({"file": imp.name, "claims": claims, "capital": total.to_plain(), "via": via});
    audit(&mut tx, now, imp.by, "claims_imported", Some(&creditor_id.to_string()), detail, None)
        .await?;
    tx.commit().await?;
    Ok(Imported::Done { claims, total })
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
