//! Fordra's own staff accounts: admins create them (an invitation to choose a password; TOTP is
//! enrolled at first login), lock and unlock them, and force a TOTP reset. Every change is
//! audited by id.

use askama::Template;
use chrono::{DateTime, Duration, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{
    Acting, Role,
    service::{INVITATION_HOURS, LinkPurpose, one_time_link},
    session,
};

#[derive(FromRow)]
pub struct StaffRow {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_login: Option<DateTime<Utc>>,
}

impl StaffRow {
    pub fn role_label(&self) -> &'static str {
        Role::parse(&self.role).map(Role::label).unwrap_or("")
    }
}

/// Every staff account, admins first, then by name.
pub async fn list(conn: &mut PgConnection) -> sqlx::Result<Vec<StaffRow>> {
    sqlx::query_as(
        "select u.user_id, u.display_name, u.email, u.role, u.totp_enabled_at, u.disabled_at,
                (select max(a.at) from audit_event a where a.actor_user_id = u.user_id and a.action = 'login') as last_login
         from app_user u where u.role in ('admin', 'support')
         order by u.role, u.display_name",
    )
    .fetch_all(conn)
    .await
}

#[derive(Template)]
#[template(path = "emails/staff_invitation.txt")]
struct Invitation<'a> {
    name: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    hours: i64,
}

/// Creates a staff account for `name` at `email` with `role`, and e-mails an invitation to
/// choose a password (`placeholder` is an unusable hash until then). Refused if the address
/// already has an account.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    conn: &mut PgConnection,
    (name, email, role): (&str, &str, Role),
    placeholder: &str,
    inviter: &str,
    by: &Acting<'_>,
    public_url: &str,
) -> anyhow::Result<Result<Uuid, &'static str>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let user_id = Uuid::new_v4();
    let inserted = sqlx::query!(
        "insert into app_user (user_id, email, password_hash, role, display_name, created_at)
         values ($1, $2, $3, $4, $5, $6) on conflict do nothing",
        user_id,
        email,
        placeholder,
        role.as_str(),
        name,
        by.now
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Err("Det finns redan ett konto med den e-postadressen."));
    }
    let link = one_time_link(
        &mut tx,
        public_url,
        user_id,
        LinkPurpose::Password,
        by.now,
        Duration::hours(INVITATION_HOURS),
    )
    .await?;
    let text =
        Invitation { name, inviter, role: role.label(), link: &link, hours: INVITATION_HOURS }
            .render()?;
    crate::mail::queue(&mut tx, email, "Ditt konto i Fordras back office", &text, None, by.now)
        .await?;
    let detail = serde_json::json!({"role": role.as_str()});
    by.audit(&mut tx, "staff_created", Some(&user_id.to_string()), detail).await?;
    tx.commit().await?;
    Ok(Ok(user_id))
}

/// Locks (or unlocks) a staff account; a locked account's sessions end at once. Nobody locks
/// their own account, and the last active admin cannot be locked.
pub async fn set_locked(
    conn: &mut PgConnection,
    user_id: Uuid,
    locked: bool,
    by: &Acting<'_>,
) -> anyhow::Result<Result<&'static str, &'static str>> {
    if locked && user_id == by.user_id {
        return Ok(Err("Du kan inte låsa ditt eget konto."));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    // Serialises lockings, so that two admins cannot lock each other as the last two.
    sqlx::query("select pg_advisory_xact_lock(hashtext('staff_accounts'))")
        .execute(&mut *tx)
        .await?;
    let role: Option<String> = sqlx::query_scalar(
        "select role from app_user where user_id = $1 and role in ('admin', 'support')",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(role) = role else { return Ok(Err("Kontot finns inte.")) };
    if locked && role == "admin" {
        let others: i64 = sqlx::query_scalar(
            "select count(*) from app_user where role = 'admin' and disabled_at is null and user_id <> $1",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Ok(Err("Det måste finnas minst en aktiv administratör."));
        }
    }
    sqlx::query(
        "update app_user set disabled_at = case when $2 then coalesce(disabled_at, $3) end where user_id = $1",
    )
    .bind(user_id)
    .bind(locked)
    .bind(by.now)
    .execute(&mut *tx)
    .await?;
    if locked {
        session::delete_for_user(&mut tx, user_id).await?;
    }
    let action = if locked { "staff_locked" } else { "staff_unlocked" };
    by.audit(&mut tx, action, Some(&user_id.to_string()), serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Ok(if locked { "Kontot är låst och utloggat." } else { "Kontot är upplåst." }))
}

/// Forces a new TOTP enrolment: the secret is forgotten and the account logged out; at the next
/// login the user enrols a new authenticator.
pub async fn reset_totp(
    conn: &mut PgConnection,
    user_id: Uuid,
    by: &Acting<'_>,
) -> anyhow::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let done = sqlx::query!(
        "update app_user set totp_secret = null, totp_enabled_at = null, totp_last_step = null
         where user_id = $1 and role in ('admin', 'support')",
        user_id
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        session::delete_for_user(&mut tx, user_id).await?;
        by.audit(&mut tx, "staff_totp_reset", Some(&user_id.to_string()), serde_json::json!({}))
            .await?;
    }
    tx.commit().await?;
    Ok(done)
}
