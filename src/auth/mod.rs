//! Who is asking: accounts, sessions (staff, creditors and partners with a password; debtors after
//! BankID), roles, passwords, TOTP, login rate limiting, the request context, the audit log and
//! the personal-data access log.

pub mod access_log;
pub mod api_key;
pub mod bankid;
pub mod ctx;
pub mod keys;
pub mod middleware;
pub mod password;
pub mod rate_limit;
pub mod routes;
pub mod service;
pub mod session;
pub mod staff;
pub mod totp;
mod views;

pub use ctx::Ctx;

/// Who acts and when, as a service takes it: the person (a staff or creditor user), the
/// address they act from, and the clock's now and business date.
#[derive(Clone, Copy, Debug)]
pub struct Acting<'a> {
    pub user_id: Uuid,
    pub ip: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    pub today: chrono::NaiveDate,
}

use uuid::Uuid;

impl Acting<'_> {
    /// Records in the audit log that this person did `action` (on `subject`), now.
    pub async fn audit(
        &self,
        conn: &mut sqlx::PgConnection,
        action: &str,
        subject: Option<&str>,
        detail: serde_json::Value,
    ) -> sqlx::Result<()> {
        let (at, ip) = (self.now, Some(self.ip));
        audit(conn, at, Some(self.user_id), action, subject, detail, ip).await
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Creditor,
    Partner,
    Admin,
    Support,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "creditor" => Role::Creditor,
            "partner" => Role::Partner,
            "admin" => Role::Admin,
            "support" => Role::Support,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Creditor => "creditor",
            Role::Partner => "partner",
            Role::Admin => "admin",
            Role::Support => "support",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Creditor => "Borgenär",
            Role::Partner => "Partner",
            Role::Admin => "Administratör",
            Role::Support => "Support",
        }
    }

    /// Staff log in with a TOTP second factor.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Admin | Role::Support)
    }

    /// Where a user of this role lands after login.
    pub fn home(self) -> &'static str {
        match self {
            Role::Creditor => "/borgenar",
            Role::Partner => "/partner",
            Role::Admin | Role::Support => "/admin",
        }
    }
}

/// The roles of Fordra's own staff: admins and support.
pub const STAFF: &[Role] = &[Role::Admin, Role::Support];

#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub display_name: String,
    pub creditor_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub totp_enabled: bool,
    /// A creditor user who owns the company's account: changes the payout account, invites
    /// and removes users, manages API keys and webhooks.
    pub creditor_owner: bool,
}

/// Records who did what, for the audit log.
pub async fn audit(
    conn: &mut sqlx::PgConnection,
    at: chrono::DateTime<chrono::Utc>,
    actor: Option<Uuid>,
    action: &str,
    subject: Option<&str>,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into audit_event (at, actor_user_id, actor_role, action, subject, detail, ip)
         values ($1, $2, (select role from app_user where user_id = $2), $3, $4, $5, $6)",
        at,
        actor,
        action,
        subject,
        detail,
        ip
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the debtor `pnr` (logged in on Mina sidor) did `action` on `subject` (the
/// person when `None`). The log names the person by their person id, never by personnummer,
/// so that anonymising them later leaves the audit chain intact.
pub async fn audit_debtor(
    conn: &mut sqlx::PgConnection,
    at: chrono::DateTime<chrono::Utc>,
    pnr: &str,
    action: &str,
    subject: Option<&str>,
    detail: serde_json::Value,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    let by = person_ref(conn, pnr).await?;
    let mut detail = detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("by".into(), serde_json::Value::String(by.clone()));
    }
    sqlx::query(
        "insert into audit_event (at, actor_user_id, actor_role, action, subject, detail, ip)
         values ($1, null, 'debtor', $2, $3, $4, $5)",
    )
    .bind(at)
    .bind(action)
    .bind(subject.unwrap_or(&by))
    .bind(detail)
    .bind(ip)
    .execute(conn)
    .await?;
    Ok(())
}

/// How the audit log names the person `pnr`: `person:<person id>`.
pub async fn person_ref(conn: &mut sqlx::PgConnection, pnr: &str) -> sqlx::Result<String> {
    let person: Option<Uuid> =
        sqlx::query_scalar("select person_id from person where personal_number = $1")
            .bind(pnr)
            .fetch_optional(conn)
            .await?;
    Ok(format!("person:{}", person.map(|p| p.to_string()).unwrap_or_else(|| "okänd".into())))
}

/// Keys of event details that may carry personal data (names, addresses, free text). The
/// audit log never stores them (it names people and objects by id); an anonymised case's events
/// lose them.
pub const PERSONAL_KEYS: &[&str] = &[
    "name",
    "debtor_name",
    "street",
    "postal_code",
    "city",
    "address",
    "email",
    "phone",
    "text",
    "body",
    "reason",
    "comment",
    "note",
    "answer_text",
    "payer_name",
    "to",
    "personal_number",
    "id_number",
    "debtor",
];

/// `detail` without the keys that may carry personal data, for the audit log.
pub fn without_personal_data(mut detail: serde_json::Value) -> serde_json::Value {
    if let Some(map) = detail.as_object_mut() {
        for key in PERSONAL_KEYS {
            map.remove(*key);
        }
    }
    detail
}
