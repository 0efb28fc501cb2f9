//! The transactions behind login, TOTP, sessions and single-use links. Each function owns its
//! transaction (a savepoint inside a caller's) and takes the clock's `now`.

use askama::Template;
use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{
    audit,
    rate_limit::{self, Check},
    session::{self, Session, Stage},
};
use crate::crypto::{random_token, sha256};

#[derive(FromRow)]
pub struct DemoAccount {
    pub email: String,
    pub password: String,
    pub label: String,
}

/// The demo's accounts, listed on the login page when the demo is on.
pub async fn demo_accounts(conn: &mut PgConnection) -> sqlx::Result<Vec<DemoAccount>> {
    sqlx::query_as("select email, password, label from demo_account order by position")
        .fetch_all(conn)
        .await
}

/// What a password login needs to know of the account.
#[derive(FromRow)]
pub struct LoginUser {
    pub user_id: Uuid,
    pub password_hash: String,
    pub role: String,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

/// The active account with this e-mail address (any case).
pub async fn login_user(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<LoginUser>> {
    sqlx::query_as(
        "select user_id, password_hash, role, totp_enabled_at, email_verified_at from app_user
         where lower(email) = lower($1) and disabled_at is null",
    )
    .bind(email)
    .fetch_optional(conn)
    .await
}

/// Starts a session at `stage` for a user whose password was right, replacing the browser's
/// old session (`old`, its hash). A full login is audited. Returns the session token.
pub async fn start_session(
    conn: &mut PgConnection,
    old: Option<&[u8]>,
    user_id: Uuid,
    stage: Stage,
    next: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    if let Some(old) = old {
        session::delete(&mut tx, old).await?;
    }
    let token = session::create(&mut tx, user_id, stage, Some(next), now).await?;
    if stage == Stage::Full {
        audit(&mut tx, now, Some(user_id), "login", None, serde_json::json!({}), Some(ip)).await?;
    }
    tx.commit().await?;
    Ok(token)
}

/// Where a promoted session goes next, and its new token.
pub struct Promoted {
    pub next: String,
    pub token: String,
}

/// Replaces a half-logged-in session by a full one under a new id, audited.
async fn promote(
    tx: &mut PgConnection,
    s: &Session,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Promoted> {
    let next = s.next_path.clone().unwrap_or_else(|| s.user.role.home().to_string());
    session::delete(tx, &s.hash).await?;
    let token = session::create(tx, s.user.id, Stage::Full, None, now).await?;
    audit(tx, now, Some(s.user.id), "login", None, serde_json::json!({"totp": true}), Some(ip))
        .await?;
    Ok(Promoted { next, token })
}

/// A right TOTP code at `step` completes the login, once: two racing submissions of one code
/// cannot both succeed (`None` for the loser).
pub async fn complete_totp_login(
    conn: &mut PgConnection,
    s: &Session,
    step: i64,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Promoted>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let updated = sqlx::query!(
        "update app_user set totp_last_step = $2 where user_id = $1 and (totp_last_step is null or totp_last_step < $2)",
        s.user.id,
        step
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(None);
    }
    rate_limit::record(&mut tx, &s.user.email, ip, true, now).await?;
    let promoted = promote(&mut tx, s, ip, now).await?;
    tx.commit().await?;
    Ok(Some(promoted))
}

/// Turns TOTP on with the secret the user just proved (a code at `step`), and completes the login.
pub async fn enroll_totp(
    conn: &mut PgConnection,
    s: &Session,
    secret: &[u8],
    step: i64,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Promoted> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!("update app_user set totp_secret = $2, totp_enabled_at = $3, totp_last_step = $4 where user_id = $1 and totp_enabled_at is null", s.user.id, secret, now, step)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, now, Some(s.user.id), "totp_enrolled", None, serde_json::json!({}), Some(ip))
        .await?;
    let promoted = promote(&mut tx, s, ip, now).await?;
    tx.commit().await?;
    Ok(promoted)
}

// ---------------------------------------------------------------------------------------------
// Single-use links (password reset, invitations, e-mail confirmation)

/// What a single-use link lets its holder do.
/// How long an e-mail confirmation link stays valid.
pub const CONFIRM_HOURS: i64 = 24;

/// How long an invitation (choose your password) link stays valid.
pub const INVITATION_HOURS: i64 = 72;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Choose a password (a reset, or an invitation).
    Password,
    /// Confirm the e-mail address given at sign-up, and log in.
    ConfirmEmail,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Password => "password",
            LinkPurpose::ConfirmEmail => "confirm_email",
        }
    }

    fn path(self) -> &'static str {
        match self {
            LinkPurpose::Password => "/losenord/ny",
            LinkPurpose::ConfirmEmail => "/bli-kund/bekrafta",
        }
    }
}

/// A single-use link under `public_url` for `purpose`, valid for `valid_for`; only the token's
/// hash is stored.
pub async fn one_time_link(
    conn: &mut PgConnection,
    public_url: &str,
    user_id: Uuid,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
    valid_for: Duration,
) -> sqlx::Result<String> {
    let token = random_token(32);
    sqlx::query!("insert into password_reset (token_hash, user_id, created_at, expires_at, purpose) values ($1, $2, $3, $4, $5)", sha256(&token), user_id, now, now + valid_for, purpose.as_str())
        .execute(conn)
        .await?;
    Ok(format!("{public_url}{}?token={token}", purpose.path()))
}

/// Uses a single-use link: marks it used and returns its user, if it is valid for `purpose`.
pub async fn use_link(
    conn: &mut PgConnection,
    token: &str,
    purpose: LinkPurpose,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "update password_reset set used_at = $2
         where token_hash = $1 and purpose = $3 and used_at is null and expires_at > $2 returning user_id",
    )
    .bind(sha256(token))
    .bind(now)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Whether a password link is still valid (unused and not expired), without using it.
pub async fn password_link_valid(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let user: Option<Uuid> = sqlx::query_scalar(
        "select user_id from password_reset
         where token_hash = $1 and purpose = 'password' and used_at is null and expires_at > $2",
    )
    .bind(sha256(token))
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(user.is_some())
}

/// Sets a new password with a reset link, once; every session of the user ends. `false` when
/// the link is used or expired.
pub async fn reset_password(
    conn: &mut PgConnection,
    token: &str,
    hash: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    // Single use: only the request that marks the token used may change the password.
    let Some(user_id) = use_link(&mut tx, token, LinkPurpose::Password, now).await? else {
        return Ok(false);
    };
    // The link came by mail, so the address is the user's.
    sqlx::query!("update app_user set password_hash = $2, email_verified_at = coalesce(email_verified_at, $3)
         where user_id = $1", user_id, hash, now)
    .execute(&mut *tx)
    .await?;
    session::delete_for_user(&mut tx, user_id).await?;
    audit(&mut tx, now, Some(user_id), "password_reset", None, serde_json::json!({}), Some(ip))
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Reset mails per address and hour: enough for a lost mail, too few to flood an inbox.
const RESETS_PER_HOUR: i64 = 3;

#[derive(Template)]
#[template(path = "emails/password_reset.txt")]
struct ResetMail<'a> {
    link: &'a str,
}

/// Queues a password-reset mail for the account with `email`, if there is one and the address
/// has not had too many; says nothing either way. Returns whether a mail was queued.
pub async fn queue_reset_mail(
    conn: &mut PgConnection,
    public_url: &str,
    email: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let bucket = format!("reset:{}", email.to_lowercase());
    if let Check::Blocked { .. } =
        rate_limit::hit(&mut tx, &bucket, now, RESETS_PER_HOUR, Duration::hours(1)).await?
    {
        tx.commit().await?;
        tracing::info!("password reset mail not sent: throttled for the address");
        return Ok(false);
    }
    let user: Option<(Uuid, String)> = sqlx::query_as(
        "select user_id, email from app_user where lower(email) = lower($1) and disabled_at is null",
    )
    .bind(email)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id, address)) = user else {
        tx.commit().await?;
        return Ok(false);
    };
    let link =
        one_time_link(&mut tx, public_url, user_id, LinkPurpose::Password, now, Duration::hours(1))
            .await?;
    let text = ResetMail { link: &link }.render()?;
    crate::mail::queue(&mut tx, &address, "Välj ett nytt lösenord till Fordra", &text, None, now)
        .await?;
    tx.commit().await?;
    Ok(true)
}
