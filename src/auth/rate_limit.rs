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

/// A sliding-window limit for public pages: records this hit in `bucket` and refuses it when
/// `max` hits already fell within `window`. Refused hits are not recorded, so a client that
/// keeps trying is let in again as its earlier hits age out.
pub async fn hit(
    conn: &mut PgConnection,
    bucket: &str,
    now: DateTime<Utc>,
    max: i64,
    window: Duration,
) -> sqlx::Result<Check> {
    let recent: Vec<DateTime<Utc>> = sqlx::query_scalar(
        "select at from rate_event where bucket = $1 and at > $2 order by at desc limit $3",
    )
    .bind(bucket)
    .bind(now - window)
    .bind(max)
    .fetch_all(&mut *conn)
    .await?;
    if recent.len() as i64 >= max {
        return Ok(Check::Blocked {
            retry_at: recent[recent.len() - 1] + window,
        });
    }
    sqlx::query("insert into rate_event (bucket, at) values ($1, $2)")
        .bind(bucket)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(Check::Allowed)
}

/// Forgets hits older than a day.
pub async fn purge(pool: &sqlx::PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    Ok(sqlx::query("delete from rate_event where at < $1")
        .bind(now - Duration::days(1))
        .execute(pool)
        .await?
        .rows_affected())
}
