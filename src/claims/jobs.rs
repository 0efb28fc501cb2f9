//! Claims files imported in the background (a partner's upload for a customer): the upload is
//! kept as a job (`claim_import` with a state), a task imports it with [`super::service::import`]
//! (all or nothing, one transaction) while another writes how many rows are checked so the
//! page can show progress, and the outcome is kept: the number of claims and their capital, or
//! every bad line. A job whose server stopped mid-way is run again by the engine (the import's
//! transaction was rolled back, so nothing of it stands).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::service::{Import, Imported};
use crate::state::AppState;

/// A job whose state has not changed for this long is taken to be abandoned.
const STALE_MINUTES: i32 = 5;
/// Bad lines kept with a refused job.
const KEPT_ERRORS: usize = 200;

#[derive(Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub claims: usize,
    pub total: String,
    /// (line, column, message), at most [`KEPT_ERRORS`].
    pub errors: Vec<(usize, String, String)>,
    pub error_count: usize,
}

pub struct Job {
    pub id: Uuid,
    pub file_name: String,
    pub state: String,
    pub processed: i32,
    pub rows: i32,
    pub outcome: Option<Outcome>,
}

/// Keeps an uploaded file (decoded as the importer reads it) as a queued job for the creditor.
pub async fn queue(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    user_id: Uuid,
    (name, bytes, rows): (&str, &[u8], usize),
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into claim_import (claim_import_id, creditor_id, user_id, file_name, content, row_count, created_at, state, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, 'queued', $7)",
        id,
        creditor_id,
        user_id,
        name,
        super::csv::decode(bytes),
        rows as i32,
        now
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// The job `id` of the creditor, if there is one.
pub async fn find(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Job>> {
    let row = sqlx::query!(
        "select claim_import_id, file_name, state, processed, row_count, result from claim_import
         where claim_import_id = $1 and creditor_id = $2 and state <> 'preview'",
        id,
        creditor_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Job {
        id: r.claim_import_id,
        file_name: r.file_name,
        state: r.state,
        processed: r.processed,
        rows: r.row_count,
        outcome: r.result.and_then(|v| serde_json::from_value(v).ok()),
    }))
}

/// The creditor's background jobs, newest first.
pub async fn recent(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Vec<Job>> {
    let rows = sqlx::query!(
        "select claim_import_id, file_name, state, processed, row_count, result from claim_import
         where creditor_id = $1 and state <> 'preview' order by created_at desc limit 10",
        creditor_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Job {
            id: r.claim_import_id,
            file_name: r.file_name,
            state: r.state,
            processed: r.processed,
            rows: r.row_count,
            outcome: r.result.and_then(|v| serde_json::from_value(v).ok()),
        })
        .collect())
}

/// Runs the job `id` if it is queued or abandoned (one runner wins); logs a failure.
pub async fn run(state: AppState, id: Uuid) {
    if let Err(e) = try_run(&state, id).await {
        tracing::error!(job = %id, error = %e, "background claims import failed");
        if let Ok(mut conn) = state.db.acquire().await {
            let _ = sqlx::query!(
                "update claim_import set state = 'failed', updated_at = $2 where claim_import_id = $1 and state = 'running'",
                id,
                state.clock.now()
            )
            .execute(&mut *conn)
            .await;
        }
    }
}

async fn try_run(state: &AppState, id: Uuid) -> anyhow::Result<()> {
    let now = state.clock.now();
    // A connection of its own, outside the pool: a long import does not take one from the
    // pages (and progress is written through the pool, a moment at a time).
    let mut conn: sqlx::PgConnection =
        sqlx::Connection::connect_with(&*state.db.connect_options()).await?;
    let claimed = sqlx::query!(
        "update claim_import set state = 'running', processed = 0, updated_at = $2
         where claim_import_id = $1
           and (state = 'queued' or (state = 'running' and updated_at < $2::timestamptz - make_interval(mins => $3)))
         returning creditor_id, user_id, file_name, content",
        id,
        now,
        STALE_MINUTES
    )
    .fetch_optional(&mut conn)
    .await?;
    let Some(job) = claimed else { return Ok(()) };
    // Progress is written on its own connection: the import's transaction shows nothing until
    // it commits.
    let (tx, mut rx) = tokio::sync::watch::channel(0usize);
    let writer = {
        let (db, clock) = (state.db.clone(), state.clock.clone());
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let done = *rx.borrow_and_update() as i32;
                if let Ok(mut c) = db.acquire().await {
                    let _ = sqlx::query!(
                        "update claim_import set processed = $2, updated_at = $3 where claim_import_id = $1 and state = 'running'",
                        id,
                        done,
                        clock.now()
                    )
                    .execute(&mut *c)
                    .await;
                }
            }
        })
    };
    let params = state.parameters(&mut conn).await?;
    let today = state.clock.today();
    let imp = Import {
        creditor_id: job.creditor_id,
        name: &job.file_name,
        by: Some(job.user_id),
        progress: Some(&tx),
    };
    let bytes = job.content.as_bytes();
    let src = (bytes, super::csv::Encoding::Utf8);
    let result =
        super::service::import(&mut conn, &imp, src, &params, state.clock.now(), today).await;
    drop(tx);
    let _ = writer.await;
    let (final_state, outcome) = match result? {
        Imported::Done { claims, total } => {
            ("done", Outcome { claims, total: total.to_string(), errors: vec![], error_count: 0 })
        }
        Imported::Refused(errors) => {
            let error_count = errors.len();
            let errors = errors
                .into_iter()
                .take(KEPT_ERRORS)
                .map(|e| (e.line, e.column.to_string(), e.message))
                .collect();
            ("refused", Outcome { claims: 0, total: String::new(), errors, error_count })
        }
    };
    sqlx::query!(
        "update claim_import set state = $2, result = $3, committed_at = case when $2::text = 'done' then $4::timestamptz end,
            processed = row_count, updated_at = $4
         where claim_import_id = $1",
        id,
        final_state,
        serde_json::to_value(&outcome)?,
        state.clock.now()
    )
    .execute(&mut conn)
    .await?;
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// Jobs queued but not started, or abandoned by a server that stopped: run them now (the
/// engine's pass calls this). Returns how many were taken.
pub async fn resume(state: &AppState) -> anyhow::Result<usize> {
    let ids = {
        let mut conn = state.db.acquire().await?;
        sqlx::query_scalar!(
            "select claim_import_id from claim_import
             where (state = 'queued' and updated_at < $1::timestamptz - interval '1 minute')
                or (state = 'running' and updated_at < $1::timestamptz - make_interval(mins => $2))",
            state.clock.now(),
            STALE_MINUTES
        )
        .fetch_all(&mut *conn)
        .await?
    };
    for id in &ids {
        run(state.clone(), *id).await;
    }
    Ok(ids.len())
}
