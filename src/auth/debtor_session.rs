//! Debtor sessions after BankID login: like staff sessions (random cookie token, only its SHA-256
//! stored, CSRF token per session) but shorter, as a bank's would be: 15 minutes idle, 2 hours in
//! all.

use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::crypto::{random_token, sha256};

pub const IDLE: Duration = Duration::minutes(15);
pub const ABSOLUTE: Duration = Duration::hours(2);

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

pub async fn create(
    conn: &mut PgConnection,
    personal_number: &str,
    bankid_order_id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let token = random_token(32);
    sqlx::query!("insert into debtor_session (session_hash, personal_number, csrf_token, bankid_order_id, created_at, last_seen_at, expires_at)
         values ($1, $2, $3, $4, $5, $5, $6)", sha256(&token), personal_number, random_token(16), bankid_order_id, now, now + IDLE)
    .execute(conn)
    .await?;
    Ok(token)
}

pub async fn load(
    pool: &PgPool,
    token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<DebtorSession>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let s: Option<DebtorSession> = sqlx::query_as(
        "select s.session_hash, s.personal_number, s.csrf_token, p.given_name, p.surname, s.last_seen_at
         from debtor_session s join person p using (personal_number)
         where s.session_hash = $1 and s.expires_at > $2",
    )
    .bind(sha256(token))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    if let Some(s) = &s
        && now - s.last_seen_at > Duration::seconds(30)
    {
        sqlx::query("update debtor_session set last_seen_at = $2, expires_at = least(created_at + $3, $2 + $4)
             where session_hash = $1").bind(&s.session_hash).bind(now).bind(ABSOLUTE).bind(IDLE)
        .execute(pool)
        .await?;
    }
    Ok(s)
}

pub async fn delete(pool: &PgPool, hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("delete from debtor_session where session_hash = $1", hash).execute(pool).await?;
    Ok(())
}

pub async fn purge_expired(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("delete from debtor_session where expires_at <= $1", now).execute(pool).await?;
    Ok(())
}
