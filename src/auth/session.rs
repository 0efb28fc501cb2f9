//! Server-side sessions in PostgreSQL. The cookie carries a random token; the table stores only
//! its SHA-256, so a database leak yields no usable session. A new token is issued at every
//! login step (fixation), sessions idle out after 2 hours and end after 12.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{Role, User};
use crate::crypto::{random_token, sha256};

pub const IDLE: Duration = Duration::hours(2);
pub const ABSOLUTE: Duration = Duration::hours(12);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Logged in.
    Full,
    /// Password accepted; waiting for the TOTP code.
    Totp,
    /// Password accepted; staff without TOTP must enrol first.
    TotpEnroll,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Full => "full",
            Stage::Totp => "totp",
            Stage::TotpEnroll => "totp_enroll",
        }
    }

    fn parse(s: &str) -> Stage {
        match s {
            "full" => Stage::Full,
            "totp" => Stage::Totp,
            _ => Stage::TotpEnroll,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Session {
    pub hash: Vec<u8>,
    pub user: User,
    pub stage: Stage,
    pub csrf_token: String,
    pub pending_totp_secret: Option<Vec<u8>>,
    pub next_path: Option<String>,
    pub totp_secret: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
}

#[derive(FromRow)]
struct Row {
    session_hash: Vec<u8>,
    stage: String,
    csrf_token: String,
    pending_totp_secret: Option<Vec<u8>>,
    next_path: Option<String>,
    last_seen_at: DateTime<Utc>,
    user_id: Uuid,
    email: String,
    role: String,
    display_name: String,
    creditor_id: Option<Uuid>,
    partner_id: Option<Uuid>,
    totp_secret: Option<Vec<u8>>,
    totp_enabled_at: Option<DateTime<Utc>>,
    totp_last_step: Option<i64>,
}

/// Creates a session and returns the token for the cookie.
pub async fn create(
    conn: &mut PgConnection,
    user_id: Uuid,
    stage: Stage,
    next_path: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let token = random_token(32);
    sqlx::query!("insert into session (session_hash, user_id, stage, csrf_token, next_path, created_at, last_seen_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $6, $7)", sha256(&token), user_id, stage.as_str(), random_token(16), next_path, now, now + IDLE)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Loads a live session by cookie token and slides its idle expiry.
pub async fn load(pool: &PgPool, token: &str, now: DateTime<Utc>) -> sqlx::Result<Option<Session>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let row: Option<Row> = sqlx::query_as(
        "select s.session_hash, s.stage, s.csrf_token, s.pending_totp_secret, s.next_path, s.last_seen_at,
                u.user_id, u.email, u.role, u.display_name, u.creditor_id, u.partner_id,
                u.totp_secret, u.totp_enabled_at, u.totp_last_step
         from session s join app_user u using (user_id)
         where s.session_hash = $1 and s.expires_at > $2 and u.disabled_at is null",
    )
    .bind(sha256(token))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let Some(role) = Role::parse(&r.role) else {
        return Ok(None);
    };
    if now - r.last_seen_at > Duration::minutes(1) {
        sqlx::query(
            "update session set last_seen_at = $2, expires_at = least(created_at + $3, $2 + $4)
             where session_hash = $1",
        )
        .bind(&r.session_hash)
        .bind(now)
        .bind(ABSOLUTE)
        .bind(IDLE)
        .execute(pool)
        .await?;
    }
    Ok(Some(Session {
        hash: r.session_hash,
        stage: Stage::parse(&r.stage),
        csrf_token: r.csrf_token,
        pending_totp_secret: r.pending_totp_secret,
        next_path: r.next_path,
        totp_secret: r.totp_secret,
        totp_last_step: r.totp_last_step,
        user: User {
            id: r.user_id,
            email: r.email,
            role,
            display_name: r.display_name,
            creditor_id: r.creditor_id,
            partner_id: r.partner_id,
            totp_enabled: r.totp_enabled_at.is_some(),
        },
    }))
}

pub async fn delete(conn: &mut PgConnection, hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("delete from session where session_hash = $1", hash).execute(conn).await?;
    Ok(())
}

pub async fn delete_for_user(conn: &mut PgConnection, user_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!("delete from session where user_id = $1", user_id).execute(conn).await?;
    Ok(())
}

pub async fn set_pending_totp_secret(
    conn: &mut PgConnection,
    hash: &[u8],
    secret: &[u8],
) -> sqlx::Result<()> {
    sqlx::query!(
        "update session set pending_totp_secret = $2 where session_hash = $1",
        hash,
        secret
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes expired sessions and login attempts older than a day.
pub async fn purge_expired(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let sessions = sqlx::query!("delete from session where expires_at <= $1", now)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::query!("delete from login_attempt where at < $1", now - Duration::days(1))
        .execute(pool)
        .await?;
    Ok(sessions)
}
