//! API keys: a creditor's credential for the integration API. A key is shown once; only its
//! SHA-256 is stored, with a prefix to tell keys apart.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::crypto::{random_token, sha256};

/// Creates an API key for a creditor; returns the key (shown once).
pub async fn create(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let key = format!("fordra_{}", random_token(24));
    sqlx::query!("insert into api_key (api_key_id, creditor_id, key_hash, prefix, created_at) values ($1, $2, $3, $4, $5)", Uuid::new_v4(), creditor_id, sha256(&key), &key[..14], now)
        .execute(conn)
        .await?;
    Ok(key)
}

/// The creditor and key id of a live (not revoked) key.
pub async fn find(conn: &mut PgConnection, key: &str) -> sqlx::Result<Option<(Uuid, Uuid)>> {
    let found = sqlx::query!(
        "select creditor_id, api_key_id from api_key where key_hash = $1 and revoked_at is null",
        sha256(key)
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.map(|r| (r.creditor_id, r.api_key_id)))
}
