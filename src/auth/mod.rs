//! Accounts, sessions, passwords, TOTP and login rate limiting for staff, creditors and partners.
//! (Debtors log in with BankID, in their own module.)

pub mod password;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod totp;

use uuid::Uuid;

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

#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub display_name: String,
    pub creditor_id: Option<Uuid>,
    pub partner_id: Option<Uuid>,
    pub totp_enabled: bool,
}

/// Random bytes from the OS, hex-encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    hex(&buf)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets without an early exit that would tell how much of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn sha256(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
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
    sqlx::query(
        "insert into audit_event (at, actor_user_id, action, subject, detail, ip) values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .bind(ip)
    .execute(conn)
    .await?;
    Ok(())
}
