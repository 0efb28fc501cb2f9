//! Inactive creditor accounts: an account with no login and no claim registered for a period
//! (a rule parameter, 12 months) gets a notice by e-mail; 30 days later (a rule parameter) it is
//! closed unless someone logged in. A closed account's users cannot log in; its open claims keep
//! running and its settlements are still paid out.

use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "emails/creditor_inactive.txt")]
struct Notice<'a> {
    company: &'a str,
    months: u32,
    closes_on: NaiveDate,
    login: &'a str,
}

/// What a pass did: notices sent, accounts closed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub noticed: usize,
    pub closed: usize,
}

/// One pass on business date `today`.
pub async fn run(
    conn: &mut PgConnection,
    (today, now): (NaiveDate, DateTime<Utc>),
    rules: &crate::domain::rules::RuleSet,
    public_url: &str,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let mut tx = sqlx::Connection::begin(conn).await?;
    let since = today - chrono::Months::new(rules.inactivity_notice_months);
    // Last activity: the newest login by any of its users, or claim registered.
    const LAST_ACTIVE: &str = "greatest(cr.created_at,
        (select max(a.at) from audit_event a join app_user u on u.user_id = a.actor_user_id
          where u.creditor_id = cr.creditor_id and a.action = 'login'),
        (select max(c.registered_at) from claim c where c.creditor_id = cr.creditor_id))";
    // Someone logged in after the notice: the account stays, and the notice is forgotten.
    sqlx::query(&format!(
        "update creditor cr set inactivity_notice_on = null
         where cr.inactivity_notice_on is not null and cr.closed_at is null
           and ({LAST_ACTIVE} at time zone 'Europe/Stockholm')::date >= cr.inactivity_notice_on"
    ))
    .execute(&mut *tx)
    .await?;
    let due: Vec<(Uuid, String)> = sqlx::query_as(&format!(
        "select cr.creditor_id, cr.name from creditor cr
         where cr.status = 'approved' and cr.closed_at is null and cr.inactivity_notice_on is null
           and ({LAST_ACTIVE} at time zone 'Europe/Stockholm')::date < $1
         for update of cr skip locked"
    ))
    .bind(since)
    .fetch_all(&mut *tx)
    .await?;
    let closes_on = today + Duration::days(rules.inactivity_close_days.into());
    for (creditor_id, company) in &due {
        let text = Notice {
            company,
            months: rules.inactivity_notice_months,
            closes_on,
            login: &format!("{public_url}/logga-in"),
        }
        .render()?;
        let users: Vec<String> = sqlx::query_scalar(
            "select email from app_user where creditor_id = $1 and disabled_at is null",
        )
        .bind(creditor_id)
        .fetch_all(&mut *tx)
        .await?;
        for email in users {
            let subject = "Ert konto hos Fordra stängs om ni inte loggar in";
            crate::mail::queue(&mut tx, &email, subject, &text, None, now).await?;
        }
        sqlx::query("update creditor set inactivity_notice_on = $2 where creditor_id = $1")
            .bind(creditor_id)
            .bind(today)
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({"closes_on": closes_on});
        crate::auth::audit(
            &mut tx,
            now,
            None,
            "creditor_inactivity_notice",
            Some(&creditor_id.to_string()),
            detail,
            None,
        )
        .await?;
        report.noticed += 1;
    }
    let closing: Vec<Uuid> = sqlx::query_scalar(
        "select creditor_id from creditor where closed_at is null and inactivity_notice_on is not null
           and inactivity_notice_on + $2 <= $1",
    )
    .bind(today)
    .bind(rules.inactivity_close_days as i32)
    .fetch_all(&mut *tx)
    .await?;
    for creditor_id in &closing {
        sqlx::query("update creditor set closed_at = $2 where creditor_id = $1")
            .bind(creditor_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "delete from session where user_id in (select user_id from app_user where creditor_id = $1)",
        )
        .bind(creditor_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "update app_user set disabled_at = $2 where creditor_id = $1 and disabled_at is null",
        )
        .bind(creditor_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        crate::auth::audit(
            &mut tx,
            now,
            None,
            "creditor_closed_inactive",
            Some(&creditor_id.to_string()),
            serde_json::json!({}),
            None,
        )
        .await?;
        report.closed += 1;
    }
    tx.commit().await?;
    Ok(report)
}
