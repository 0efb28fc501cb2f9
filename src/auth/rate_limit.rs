//! Login throttling per account and per IP address: after `max` failures within `window`, further
//! attempts are refused (without checking the password) until enough failures age out. Stored in
//! PostgreSQL so every `fordra` process sharing the database enforces the same limit.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Allowed,
    Blocked { retry_at: DateTime<Utc> },
}

pub async fn check(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
    max: i64,
    window: Duration,
) -> sqlx::Result<Check> {
    let since = now - window;
    // Account: failures in the window since the last successful login.
    let account: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "select at from login_attempt
         where lower(email) = lower($1) and not succeeded and at > $2
           and at > coalesce((select max(at) from login_attempt
                              where lower(email) = lower($1) and succeeded), '-infinity')
         order by at",
    )
    .bind(email)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let by_ip: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "select at from login_attempt where ip = $1 and not succeeded and at > $2 order by at",
    )
    .bind(ip)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let retry = [account, by_ip]
        .iter()
        .filter(|f| f.len() as i64 >= max)
        // Allowed again when the failure that keeps the count at `max` leaves the window.
        .map(|f| f[f.len() - max as usize] + window)
        .max();
    Ok(match retry {
        Some(retry_at) => Check::Blocked { retry_at },
        None => Check::Allowed,
    })
}

pub async fn record(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    succeeded: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("insert into login_attempt (email, ip, succeeded, at) values ($1, $2, $3, $4)")
        .bind(email.trim())
        .bind(ip)
        .bind(succeeded)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}
