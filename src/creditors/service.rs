//! The creditor's transactions and SQL: registration, e-mail confirmation, invitations, the
//! staff decision, and what the pages read.

use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    CreditorRow, UserRow,
    onboarding::{Payout, Signup},
};
use crate::auth::{Acting, audit, service::LinkPurpose, session};
use crate::web::filters;

pub use crate::auth::service::CONFIRM_HOURS;
pub use crate::terms::current as current_terms;

#[derive(Template)]
#[template(path = "emails/signup_confirm.txt")]
struct ConfirmMail<'a> {
    name: &'a str,
    company: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "emails/signup_existing.txt")]
struct ExistingAccountMail<'a> {
    company: &'a str,
    login: &'a str,
}

pub enum Registered {
    /// Stored (or, for an address that has an account, its owner told by mail).
    Done,
    /// The org.nr has an account already; nothing is stored.
    OrgTaken,
}

/// Registers a validated sign-up as a pending creditor with its first user (password `hash`),
/// and mails the confirmation link. When the address already has an account nothing is
/// stored and its owner is told instead; the answer to the browser is the same.
pub async fn register(
    conn: &mut PgConnection,
    s: &Signup,
    hash: &str,
    ip: &str,
    public_url: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<Registered> {
    let (bankgiro, clearing, account) = match &s.payout {
        Payout::Bankgiro(bg) => (Some(bg.clone()), None, None),
        Payout::Account { clearing, account } => {
            (None, Some(clearing.clone()), Some(account.clone()))
        }
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let org_taken: bool =
        sqlx::query_scalar("select exists (select 1 from creditor where org_nr = $1)")
            .bind(s.org_nr.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if org_taken {
        return Ok(Registered::OrgTaken);
    }
    let creditor_id = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status, address_street, address_postal, address_city,
            industry, contact_name, contact_email, payout_bankgiro, payout_clearing, payout_account,
            terms_version, terms_accepted_at, terms_accepted_ip, referral_code, created_at, company_form)
         values ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $14, $17)").bind(creditor_id).bind(s.org_nr.as_str()).bind(&s.company_name).bind(&s.street).bind(&s.postal_code).bind(&s.city).bind(&s.industry).bind(&s.contact_name).bind(&s.email).bind(bankgiro).bind(clearing).bind(account).bind(&s.terms_version).bind(now).bind(ip).bind(&s.referral_code).bind(s.company_form.as_str())
    .execute(&mut *tx)
    .await?;
    let params = crate::parameters::load(&mut tx).await?;
    let (org, code) = (s.org_nr.as_str(), s.referral_code.as_deref());
    crate::partners::service::on_sign_up(
        &mut tx,
        code,
        creditor_id,
        org,
        &s.company_name,
        &params,
        now,
        today,
    )
    .await?;
    match create_user(&mut tx, &s.email, hash, &s.contact_name, creditor_id, (false, true)).await? {
        Some(user_id) => {
            let link = crate::auth::service::one_time_link(
                &mut tx,
                public_url,
                user_id,
                LinkPurpose::ConfirmEmail,
                now,
                Duration::hours(CONFIRM_HOURS),
            )
            .await?;
            let text = ConfirmMail {
                name: &s.contact_name,
                company: &s.company_name,
                link: &link,
                hours: CONFIRM_HOURS,
            }
            .render()?;
            crate::mail::queue(
                &mut tx,
                &s.email,
                "Bekräfta din e-postadress hos Fordra",
                &text,
                None,
                now,
            )
            .await?;
            audit(
                &mut tx,
                now,
                Some(user_id),
                "creditor_signup",
                Some(&creditor_id.to_string()),
                serde_json::json!({"org_nr": s.org_nr.as_str(), "terms_version": s.terms_version, "industry": s.industry}),
                Some(ip),
            )
            .await?;
            tx.commit().await?;
        }
        None => {
            // The address has an account: nothing is stored, and its owner hears about it.
            tx.rollback().await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let text = ExistingAccountMail {
                company: &s.company_name,
                login: &format!("{public_url}/logga-in"),
            }
            .render()?;
            crate::mail::queue(
                &mut tx,
                &s.email,
                "Försök att skapa ett konto med din e-postadress",
                &text,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
        }
    }
    Ok(Registered::Done)
}

/// Whether a confirmation link is still unused and valid (opening it uses nothing up).
pub async fn confirmation_valid(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from password_reset
         where token_hash = $1 and purpose = 'confirm_email' and used_at is null and expires_at > $2)",
    )
    .bind(crate::crypto::sha256(token))
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Confirms the address with the link's `token` and logs its user in, replacing the browser's
/// old session (`old`, its hash): the new session token and the user's role, or `None` for a used
/// or expired link. Creditors and partners confirm their addresses this way.
pub async fn confirm_email(
    conn: &mut PgConnection,
    token: &str,
    old: Option<&[u8]>,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(String, crate::auth::Role)>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let Some(user_id) =
        crate::auth::service::use_link(&mut tx, token, LinkPurpose::ConfirmEmail, now).await?
    else {
        return Ok(None);
    };
    let role = sqlx::query_scalar!(
        "update app_user set email_verified_at = $2 where user_id = $1 returning role",
        user_id,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    audit(&mut tx, now, Some(user_id), "email_confirmed", None, serde_json::json!({}), Some(ip))
        .await?;
    if let Some(old) = old {
        session::delete(&mut tx, old).await?;
    }
    let token = session::create(&mut tx, user_id, session::Stage::Full, None, now).await?;
    tx.commit().await?;
    let role = crate::auth::Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role"))?;
    Ok(Some((token, role)))
}

/// A creditor user; `None` when the address already has an account. `verified`: whether the
/// address is known to be the user's (not yet at sign-up).
async fn create_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
    name: &str,
    creditor_id: Uuid,
    (verified, owner): (bool, bool),
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, email_verified_at, creditor_owner)
         values ($1, $2, $3, 'creditor', $4, $5, case when $6 then now() end, $7)
         on conflict (lower(email)) do nothing returning user_id",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(name)
    .bind(creditor_id)
    .bind(verified)
    .bind(owner)
    .fetch_optional(conn)
    .await
}

/// The creditor's active users, oldest first, with whether each has logged in.
pub async fn user_rows(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(
        "select u.user_id, u.creditor_owner, u.display_name, u.email, u.created_at,
                exists (select 1 from audit_event a where a.actor_user_id = u.user_id and a.action = 'login') as has_logged_in
         from app_user u where u.creditor_id = $1 and u.disabled_at is null order by u.created_at",
    )
    .bind(creditor_id)
    .fetch_all(conn)
    .await
}

pub use crate::auth::service::INVITATION_HOURS;

#[derive(Template)]
#[template(path = "emails/invitation_existing.txt")]
struct ExistingInviteeMail<'a> {
    inviter: &'a str,
    company: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "emails/invitation.txt")]
struct InvitationMail<'a> {
    inviter: &'a str,
    company: &'a str,
    link: &'a str,
    hours: i64,
}

/// Who invites: the creditor user's id and name, from where, when.
pub struct Inviter<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub ip: &'a str,
    pub now: DateTime<Utc>,
}

/// Invites a colleague (`name`, `email`) to the creditor with a link to choose a password;
/// `placeholder` is an unusable password hash until then. The answer is the same whether or
/// not the address has an account; if it has, its owner is told by mail and nothing else
/// happens.
pub async fn invite(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    by: &Inviter<'_>,
    (name, email, owner): (&str, &str, bool),
    placeholder: &str,
    public_url: &str,
) -> anyhow::Result<()> {
    let now = by.now;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let company: String = sqlx::query_scalar("select name from creditor where creditor_id = $1")
        .bind(creditor_id)
        .fetch_one(&mut *tx)
        .await?;
    match create_user(&mut tx, email, placeholder, name, creditor_id, (false, owner)).await? {
        Some(new_user) => {
            let link = crate::auth::service::one_time_link(
                &mut tx,
                public_url,
                new_user,
                LinkPurpose::Password,
                now,
                Duration::hours(INVITATION_HOURS),
            )
            .await?;
            audit(
                &mut tx,
                now,
                Some(by.user_id),
                "user_invited",
                Some(&new_user.to_string()),
                serde_json::json!({"owner": owner}),
                Some(by.ip),
            )
            .await?;
            let text = InvitationMail {
                inviter: by.name,
                company: &company,
                link: &link,
                hours: INVITATION_HOURS,
            }
            .render()?;
            let subject = format!("Inbjudan till Fordra från {company}");
            crate::mail::queue(&mut tx, email, &subject, &text, None, now).await?;
        }
        None => {
            let text = ExistingInviteeMail {
                inviter: by.name,
                company: &company,
                login: &format!("{public_url}/logga-in"),
            }
            .render()?;
            let subject = format!("{company} ville bjuda in dig till Fordra");
            crate::mail::queue(&mut tx, email, &subject, &text, None, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

const CREDITOR_SELECT: &str = "select cr.creditor_id, cr.org_nr, cr.company_form, cr.name, cr.status, cr.address_street, cr.address_postal,
        cr.address_city, cr.industry, cr.contact_name, cr.contact_email, cr.payout_bankgiro, cr.payout_clearing,
        cr.payout_account, cr.terms_version, cr.terms_accepted_at, cr.terms_accepted_ip, cr.referral_code,
        cr.rejected_reason, cr.created_at, (select count(*) from claim c where c.creditor_id = cr.creditor_id) as claims
    from creditor cr";

/// Creditors for the staff list: pending first, then newest.
pub async fn list(conn: &mut PgConnection) -> sqlx::Result<Vec<CreditorRow>> {
    sqlx::query_as(&format!(
        "{CREDITOR_SELECT} order by cr.status = 'pending' desc, cr.created_at desc limit 500"
    ))
    .fetch_all(conn)
    .await
}

pub async fn find(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<CreditorRow>> {
    sqlx::query_as(&format!("{CREDITOR_SELECT} where cr.creditor_id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

#[derive(Template)]
#[template(path = "emails/creditor_decision.txt")]
struct DecisionMail<'a> {
    name: &'a str,
    company: &'a str,
    approved: bool,
    reason: &'a str,
    link: &'a str,
}

/// An admin approves (`reason` empty) or rejects (with a `reason` the customer reads) a pending
/// creditor. Approval wakes the claims registered while pending. The mail is queued with the
/// decision. False when the creditor was decided meanwhile (nothing changes then).
pub async fn decide(
    conn: &mut PgConnection,
    c: &CreditorRow,
    approve: bool,
    reason: &str,
    by: &Acting<'_>,
    public_url: &str,
) -> anyhow::Result<bool> {
    let (now, today) = (by.now, by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let status = if approve { "approved" } else { "rejected" };
    let changed = sqlx::query("update creditor set status = $2, approved_at = case when $2 = 'approved' then $3 end,
            rejected_reason = case when $2 = 'rejected' then $4 end, decided_at = $3, decided_by = $5
         where creditor_id = $1 and status = 'pending'").bind(c.creditor_id).bind(status).bind(now).bind(reason).bind(by.user_id)
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    if approve {
        crate::claims::wake_creditor(&mut tx, c.creditor_id, today).await?;
    }
    audit(
        &mut tx,
        now,
        Some(by.user_id),
        if approve { "creditor_approved" } else { "creditor_rejected" },
        Some(&c.creditor_id.to_string()),
        serde_json::json!({"org_nr": c.org_nr, "reason": reason}),
        Some(by.ip),
    )
    .await?;
    let text = DecisionMail {
        name: &c.contact_name,
        company: &c.name,
        approved: approve,
        reason,
        link: &format!("{public_url}/borgenar"),
    }
    .render()?;
    let subject = if approve {
        "Ni är godkända som kund hos Fordra"
    } else {
        "Fordra kan inte ta emot er som kund"
    };
    // Queued with the decision: a mail server that is down delays the mail, not the decision.
    crate::mail::queue(&mut tx, &c.contact_email, subject, &text, None, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The creditor's name, org.nr (as stored) and status.
pub async fn company(
    conn: &mut PgConnection,
    creditor_id: Uuid,
) -> sqlx::Result<(String, String, String)> {
    sqlx::query_as("select name, org_nr, status from creditor where creditor_id = $1")
        .bind(creditor_id)
        .fetch_one(conn)
        .await
}

/// The approved creditor with this org.nr, if there is one.
pub async fn approved_id(
    conn: &mut PgConnection,
    org_nr: &crate::domain::ids::IdNumber,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "select creditor_id from creditor where org_nr = $1 and status = 'approved'",
        org_nr.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// The terms version the creditor accepted, if any.
pub async fn terms_version(
    conn: &mut PgConnection,
    creditor_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("select terms_version from creditor where creditor_id = $1", creditor_id)
        .fetch_one(conn)
        .await
}

/// Records that the creditor accepted `version` of the terms now, from the user's address;
/// audited.
pub async fn accept_terms(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    version: &str,
    by: &Acting<'_>,
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!(
        "update creditor set terms_version = $2, terms_accepted_at = $3, terms_accepted_ip = $4 where creditor_id = $1",
        creditor_id,
        version,
        by.now,
        by.ip
    )
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({"terms_version": version});
    by.audit(&mut tx, "terms_accepted", Some(&creditor_id.to_string()), detail).await?;
    tx.commit().await
}

/// Removes a colleague's access: the account is closed and logged out. Nobody removes
/// themself, and the company keeps at least one owner.
pub async fn remove_user(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    user_id: Uuid,
    by: &crate::auth::Acting<'_>,
) -> anyhow::Result<Result<&'static str, &'static str>> {
    if user_id == by.user_id {
        return Ok(Err("Du kan inte ta bort dig själv."));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query("select creditor_id from creditor where creditor_id = $1 for update")
        .bind(creditor_id)
        .execute(&mut *tx)
        .await?;
    let owner: Option<bool> = sqlx::query_scalar(
        "select creditor_owner from app_user where user_id = $1 and creditor_id = $2 and disabled_at is null",
    )
    .bind(user_id)
    .bind(creditor_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(owner) = owner else { return Ok(Err("Användaren finns inte.")) };
    if owner {
        let others: i64 = sqlx::query_scalar(
            "select count(*) from app_user where creditor_id = $1 and creditor_owner and disabled_at is null and user_id <> $2",
        )
        .bind(creditor_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Ok(Err("Företaget måste ha minst en ägare."));
        }
    }
    sqlx::query("update app_user set disabled_at = $2 where user_id = $1")
        .bind(user_id)
        .bind(by.now)
        .execute(&mut *tx)
        .await?;
    crate::auth::session::delete_for_user(&mut tx, user_id).await?;
    by.audit(
        &mut tx,
        "creditor_user_removed",
        Some(&user_id.to_string()),
        serde_json::json!({"creditor": creditor_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok("Användaren är borttagen och utloggad."))
}
