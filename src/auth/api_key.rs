//! API keys: a creditor's or a partner's credential for the integration API. A key is shown
//! once; only its SHA-256 is stored, with a prefix to tell keys apart, its name, its scopes,
//! and when it was created and last used.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::crypto::{random_token, sha256};

/// Whose key it is. A partner's key acts for the partner's current customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Creditor(Uuid),
    Partner(Uuid),
}

impl Owner {
    pub fn kind(self) -> &'static str {
        match self {
            Owner::Creditor(_) => "creditor",
            Owner::Partner(_) => "partner",
        }
    }

    pub fn id(self) -> Uuid {
        match self {
            Owner::Creditor(id) | Owner::Partner(id) => id,
        }
    }
}

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    ClaimsRead,
    ClaimsWrite,
    Webhooks,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::ClaimsRead, Scope::ClaimsWrite, Scope::Webhooks];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ClaimsRead => "claims:read",
            Scope::ClaimsWrite => "claims:write",
            Scope::Webhooks => "webhooks",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Scope::ClaimsRead => "Läsa fordringar",
            Scope::ClaimsWrite => "Registrera och ändra fordringar",
            Scope::Webhooks => "Webhooks",
        }
    }
}

/// A live key as a request presents it.
#[derive(Clone, Debug)]
pub struct Key {
    pub key_id: Uuid,
    pub owner: Owner,
    pub scopes: Vec<Scope>,
}

impl Key {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// Creates a key with every scope (the command line's), for a creditor or a partner; returns
/// the key (shown once).
pub async fn create(
    conn: &mut PgConnection,
    owner: Owner,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    create_named(conn, owner, ("", &Scope::ALL), None, now).await
}

/// Creates a key named `name` with `scopes`, made by `by` (a portal user); returns the key.
pub async fn create_named(
    conn: &mut PgConnection,
    owner: Owner,
    (name, scopes): (&str, &[Scope]),
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let key = format!("fordra_{}", random_token(24));
    let (creditor, partner) = match owner {
        Owner::Creditor(id) => (Some(id), None),
        Owner::Partner(id) => (None, Some(id)),
    };
    let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    sqlx::query!(
        "insert into api_key (api_key_id, creditor_id, partner_id, key_hash, prefix, name, scopes, created_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        Uuid::new_v4(),
        creditor,
        partner,
        sha256(&key),
        &key[..14],
        name,
        &scopes as &[&str],
        by,
        now
    )
    .execute(conn)
    .await?;
    Ok(key)
}

/// The live (not revoked) key, and notes its use (at most once a minute, so reads stay reads).
pub async fn find(
    conn: &mut PgConnection,
    key: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Key>> {
    let found = sqlx::query!(
        "select api_key_id, creditor_id, partner_id, scopes, last_used_at from api_key
         where key_hash = $1 and revoked_at is null",
        sha256(key)
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = found else { return Ok(None) };
    let owner = match (r.creditor_id, r.partner_id) {
        (Some(c), _) => Owner::Creditor(c),
        (None, Some(p)) => Owner::Partner(p),
        (None, None) => return Ok(None),
    };
    if r.last_used_at.is_none_or(|t| now - t > chrono::Duration::minutes(1)) {
        sqlx::query!(
            "update api_key set last_used_at = $2 where api_key_id = $1",
            r.api_key_id,
            now
        )
        .execute(&mut *conn)
        .await?;
    }
    let scopes = r.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
    Ok(Some(Key { key_id: r.api_key_id, owner, scopes }))
}

/// A key as its owner's portal lists it (never the key itself).
pub struct Listed {
    pub api_key_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The owner's live keys, newest first.
pub async fn list(conn: &mut PgConnection, owner: Owner) -> sqlx::Result<Vec<Listed>> {
    sqlx::query_as!(
        Listed,
        "select api_key_id, name, prefix, scopes, created_at, last_used_at from api_key
         where (creditor_id = $1 or partner_id = $1) and revoked_at is null order by created_at desc",
        owner.id()
    )
    .fetch_all(conn)
    .await
}

/// Revokes the owner's key `id` (someone else's is not found); audited by the caller.
pub async fn revoke(
    conn: &mut PgConnection,
    owner: Owner,
    id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "update api_key set revoked_at = $3 where api_key_id = $1 and (creditor_id = $2 or partner_id = $2)
           and revoked_at is null",
        id,
        owner.id(),
        now
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The person who made key `id` in a portal (`None` for the command line's keys).
pub async fn creator(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!("select created_by from api_key where api_key_id = $1", id)
        .fetch_one(conn)
        .await
}

/// A portal user makes a key for its creditor or partner: audited with its name, prefix and
/// scopes. Returns the key (shown once).
pub async fn create_by(
    conn: &mut PgConnection,
    owner: Owner,
    (name, scopes): (&str, &[Scope]),
    by: &super::Acting<'_>,
) -> sqlx::Result<String> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let key = create_named(&mut tx, owner, (name, scopes), Some(by.user_id), by.now).await?;
    let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let detail = serde_json::json!({"name": name, "prefix": &key[..14], "scopes": names});
    by.audit(&mut tx, "api_key_created", Some(&owner.id().to_string()), detail).await?;
    tx.commit().await?;
    Ok(key)
}

/// A portal user revokes its owner's key `id`, audited; `false` when there is no such live key.
pub async fn revoke_by(
    conn: &mut PgConnection,
    owner: Owner,
    id: Uuid,
    by: &super::Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    if !revoke(&mut tx, owner, id, by.now).await? {
        return Ok(false);
    }
    by.audit(&mut tx, "api_key_revoked", Some(&id.to_string()), serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(true)
}
