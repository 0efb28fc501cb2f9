//! Login throttling: per account after a few failures within a window, and per IP address after
//! many more (an office shares one address, and one person's typos must not lock out the rest).
//! A refused attempt is not checked against the password. Stored in PostgreSQL so every
//! `fordra` process sharing the database enforces the same limits.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Allowed,
    Blocked { retry_at: DateTime<Utc> },
}

/// The failure limits: per account, and (much higher) per address.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub per_account: i64,
    pub per_address: i64,
    pub window: Duration,
}

pub async fn check(
    conn: &mut PgConnection,
    email: &str,
    ip: &str,
    now: DateTime<Utc>,
    limits: Limits,
) -> sqlx::Result<Check> {
    let window = limits.window;
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
    let retry = [(account, limits.per_account), (by_ip, limits.per_address)]
        .iter()
        .filter(|(f, max)| f.len() as i64 >= *max)
        // Allowed again when the failure that keeps the count at `max` leaves the window.
        .map(|(f, max)| f[f.len() - *max as usize] + window)
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
    sqlx::query!(
        "insert into login_attempt (email, ip, succeeded, at) values ($1, $2, $3, $4)",
        email.trim(),
        ip,
        succeeded,
        now
    )
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
        return Ok(Check::Blocked { retry_at: recent[recent.len() - 1] + window });
    }
    sqlx::query!("insert into rate_event (bucket, at) values ($1, $2)", bucket, now)
        .execute(conn)
        .await?;
    Ok(Check::Allowed)
}

/// Counts this request in `bucket`'s current fixed window of `window` (one round trip) and
/// returns the count so far and when the window ends.
pub async fn count_in_window(
    conn: &mut PgConnection,
    bucket: &str,
    now: DateTime<Utc>,
    window: Duration,
) -> sqlx::Result<(i64, DateTime<Utc>)> {
    let secs = window.num_seconds().max(1);
    let start_secs = now.timestamp().div_euclid(secs) * secs;
    let start = DateTime::from_timestamp(start_secs, 0).unwrap_or(now);
    let hits: i32 = sqlx::query_scalar(
        "insert into rate_window (bucket, window_start, hits) values ($1, $2, 1)
         on conflict (bucket, window_start) do update set hits = rate_window.hits + 1
         returning hits",
    )
    .bind(bucket)
    .bind(start)
    .fetch_one(conn)
    .await?;
    Ok((hits as i64, start + window))
}

/// Forgets hits and windows older than a day.
pub async fn purge(pool: &sqlx::PgPool, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let old = now - Duration::days(1);
    let events = sqlx::query!("delete from rate_event where at < $1", old)
        .execute(pool)
        .await?
        .rows_affected();
    let windows = sqlx::query!("delete from rate_window where window_start < $1", old)
        .execute(pool)
        .await?
        .rows_affected();
    Ok(events + windows)
}
