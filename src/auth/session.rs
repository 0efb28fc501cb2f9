//! Server-side sessions in PostgreSQL, one store for every audience. The cookie carries a random
//! token; the table stores only its SHA-256, so a database leak yields no usable session.
//!
//! - Staff, creditor and partner users: a new token at every login step (fixation); sessions
//!   idle out after 2 hours and end after 12.
//! - Debtors after a BankID login on Mina sidor (their own cookie): shorter, as a bank's would
//!   be, 15 minutes idle and 2 hours in all.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use super::{Role, User};
use crate::crypto::{random_token, sha256};

pub const IDLE: Duration = Duration::hours(2);
pub const ABSOLUTE: Duration = Duration::hours(12);
pub const DEBTOR_IDLE: Duration = Duration::minutes(15);
pub const DEBTOR_ABSOLUTE: Duration = Duration::hours(2);

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
    creditor_owner: bool,
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
                u.totp_secret, u.totp_enabled_at, u.totp_last_step, u.creditor_owner
         from session s join app_user u on u.user_id = s.user_id
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
        slide(pool, &r.session_hash, now, (IDLE, ABSOLUTE)).await?;
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
            creditor_owner: r.role == "creditor" && r.creditor_owner,
        },
    }))
}

/// Moves a session's idle expiry on from `now`, never past its absolute end.
async fn slide(
    pool: &PgPool,
    hash: &[u8],
    now: DateTime<Utc>,
    (idle, absolute): (Duration, Duration),
) -> sqlx::Result<()> {
    sqlx::query(
        "update session set last_seen_at = $2, expires_at = least(created_at + $3, $2 + $4)
         where session_hash = $1",
    )
    .bind(hash)
    .bind(now)
    .bind(absolute)
    .bind(idle)
    .execute(pool)
    .await?;
    Ok(())
}

/// A debtor's session on Mina sidor.
#[derive(Clone, Debug, FromRow)]
pub struct DebtorSession {
    pub session_hash: Vec<u8>,
    pub personal_number: String,
    pub csrf_token: String,
    pub given_name: String,
    pub surname: String,
    last_seen_at: DateTime<Utc>,
}

impl DebtorSession {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.surname)
    }
}

/// Creates a debtor's session after the BankID order `bankid_order_id`; returns the token for
/// the debtor cookie.
pub async fn create_debtor(
    conn: &mut PgConnection,
    personal_number: &str,
    bankid_order_id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let token = random_token(32);
    sqlx::query!("insert into session (session_hash, personal_number, bankid_order_id, stage, csrf_token, created_at, last_seen_at, expires_at)
         values ($1, $2, $3, 'full', $4, $5, $5, $6)", sha256(&token), personal_number, bankid_order_id, random_token(16), now, now + DEBTOR_IDLE)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Loads a live debtor session by cookie token and slides its idle expiry.
pub async fn load_debtor(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DebtorSession>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let s = sqlx::query_as!(
        DebtorSession,
        r#"select s.session_hash, p.personal_number, s.csrf_token, p.given_name, p.surname, s.last_seen_at
         from session s join person p on p.personal_number = s.personal_number
         where s.session_hash = $1 and s.expires_at > $2"#,
        sha256(token),
        now
    )
    .fetch_optional(pool)
    .await?;
    if let Some(s) = &s
        && now - s.last_seen_at > Duration::seconds(30)
    {
        slide(pool, &s.session_hash, now, (DEBTOR_IDLE, DEBTOR_ABSOLUTE)).await?;
    }
    Ok(s)
}

/// Ends a session (any audience's).
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
