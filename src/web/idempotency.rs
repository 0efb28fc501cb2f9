//! `Idempotency-Key` for the API's POSTs: the first answer to a key (2xx or 4xx; not 429 or 5xx)
//! is kept for 24 hours per key owner and given again, with the same status, to a request with
//! the same key and the same JSON body (compared parsed, so key order and whitespace do not
//! matter). The same key with another body, or while the first request still runs, is 409.

use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use sqlx::PgConnection;

/// How long an answer is kept.
const KEPT_HOURS: i64 = 24;
/// A first request that has not answered within this long is taken to have died.
const ABANDONED_SECONDS: i64 = 60;

pub enum Begin {
    /// The first request with this key: go on, then [`finish`].
    Fresh,
    /// Answered before: give this again.
    Replay(StatusCode, Value),
    /// The key was used for another body.
    OtherBody,
    /// The first request with this key is still running.
    InFlight,
}

/// Who the key belongs to: (`creditor` | `partner`, id).
pub type Owner<'a> = (&'a str, uuid::Uuid);

fn digest(body: &Value) -> Vec<u8> {
    // serde_json's maps are ordered by key: the same object prints the same however it was sent.
    crate::crypto::sha256(&body.to_string())
}

pub async fn begin(
    conn: &mut PgConnection,
    (kind, owner): Owner<'_>,
    key: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> sqlx::Result<Begin> {
    let hash = digest(body);
    // A kept answer past its day, or a first request that died, makes way.
    sqlx::query!(
        "delete from idempotency_key where owner_kind = $1 and owner_id = $2 and key = $3
           and (created_at < $4 or (status is null and created_at < $5))",
        kind,
        owner,
        key,
        now - Duration::hours(KEPT_HOURS),
        now - Duration::seconds(ABANDONED_SECONDS)
    )
    .execute(&mut *conn)
    .await?;
    let inserted = sqlx::query!(
        "insert into idempotency_key (owner_kind, owner_id, key, request_hash, created_at)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
        kind,
        owner,
        key,
        hash,
        now
    )
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Begin::Fresh);
    }
    let kept = sqlx::query!(
        "select request_hash, status, body from idempotency_key where owner_kind = $1 and owner_id = $2 and key = $3",
        kind,
        owner,
        key
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match kept {
        // Deleted meanwhile by its own request's failure: this one may run.
        None => Begin::Fresh,
        Some(k) if k.request_hash != hash => Begin::OtherBody,
        Some(k) => match (k.status, k.body) {
            (Some(status), Some(body)) => {
                Begin::Replay(StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK), body)
            }
            _ => Begin::InFlight,
        },
    })
}

/// Keeps the answer to a fresh request (2xx and 4xx except 429); anything else frees the key so
/// the request can be tried again.
pub async fn finish(
    conn: &mut PgConnection,
    (kind, owner): Owner<'_>,
    key: &str,
    status: StatusCode,
    body: &Value,
) -> sqlx::Result<()> {
    let keep = (status.is_success() || status.is_client_error())
        && status != StatusCode::TOO_MANY_REQUESTS;
    if keep {
        sqlx::query!(
            "update idempotency_key set status = $4, body = $5 where owner_kind = $1 and owner_id = $2 and key = $3",
            kind,
            owner,
            key,
            i32::from(status.as_u16()),
            body
        )
        .execute(conn)
        .await?;
    } else {
        sqlx::query!(
            "delete from idempotency_key where owner_kind = $1 and owner_id = $2 and key = $3",
            kind,
            owner,
            key
        )
        .execute(conn)
        .await?;
    }
    Ok(())
}
