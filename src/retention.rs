//! Retention (gallring). A case is closed when it is paid, withdrawn or written off (a claim
//! handed to Kronofogden stays open; a reversal reopens a case). A closed case keeps its
//! bookkeeping records for the retention period (a rule parameter, 7 years by bokföringslagen),
//! counted from the end of the calendar year of the later of its closing and its last ledger
//! entry. Then the engine anonymises it:
//!
//! - removed: names, identity numbers, addresses, e-mail addresses, phone numbers, messages,
//!   attachments and letter contents, in every table, and the print batches and mail files
//!   Fordra keeps that hold them;
//! - kept: amounts, dates, OCRs and ledger entries (the audit log names people by id only).
//!
//! A person's own data (Mina sidor) stays while they have a case not yet due. Support tickets
//! are anonymised a shorter period after they close.

use std::collections::BTreeSet;

use anyhow::Result;
use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::state::AppState;

/// Claims anonymised per transaction.
const BATCH: i64 = 500;

/// What a retention pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub claims: usize,
    pub people: usize,
    pub tickets: usize,
    pub files: usize,
}

/// Anonymises every case and ticket whose retention ended before `today`.
pub async fn run(
    state: &AppState,
    today: NaiveDate,
    rules: &crate::domain::rules::RuleSet,
) -> Result<Report> {
    let mut report = Report::default();
    let mut emails = BTreeSet::new();
    let mut letters = vec![];
    loop {
        let mut tx = state.db.begin().await?;
        let due = due_claims(&mut tx, today, rules.retention_years as i32).await?;
        if due.is_empty() {
            break;
        }
        let ids: Vec<Uuid> = due.iter().map(|d| d.0).collect();
        let pnrs: BTreeSet<String> = due.iter().map(|d| d.1.clone()).collect();
        emails.extend(due.iter().filter_map(|d| d.2.clone()));
        letters.extend(anonymise_claims(&mut tx, &ids, state.clock.now()).await?);
        for pnr in &pnrs {
            if let Some(email) = anonymise_person(&mut tx, pnr, state.clock.now()).await? {
                emails.insert(email);
                report.people += 1;
            }
        }
        let detail = serde_json::json!({"claims": ids, "people": pnrs.len()});
        crate::auth::audit(
            &mut tx,
            state.clock.now(),
            None,
            "retention_anonymised",
            None,
            detail,
            None,
        )
        .await?;
        tx.commit().await?;
        report.claims += ids.len();
    }
    report.tickets = anonymise_tickets(state, today, rules.ticket_retention_years as i32).await?;
    // An uploaded claims file is needed only until it is imported: its rows hold debtors'
    // data, so a finished upload's content goes after a month.
    sqlx::query(
        "update claim_import set content = '' where content <> '' and state in ('done', 'refused', 'failed', 'preview')
           and created_at < $1 - interval '30 days'",
    )
    .bind(state.clock.now())
    .execute(&mut *state.db.acquire().await?)
    .await?;
    report.files = remove_files(state, &letters, &emails).await?;
    Ok(report)
}

/// Up to [`BATCH`] closed cases whose retention ended before `today`: id, the debtor's identity
/// number and e-mail address.
async fn due_claims(
    conn: &mut PgConnection,
    today: NaiveDate,
    years: i32,
) -> sqlx::Result<Vec<(Uuid, String, Option<String>)>> {
    sqlx::query_as(
        "select c.claim_id, c.debtor_id_number, c.debtor_email from claim c
         where c.state in ('paid', 'withdrawn', 'written_off') and c.anonymised_at is null
           -- Only a claim registered more than the period ago can be due: keeps the pass cheap.
           and c.registered_at < ($1::date - make_interval(years => $2))::timestamptz
           and make_date(extract(year from greatest(
                   c.registered_at::date,
                   (select max(e.business_date) from claim_event e where e.claim_id = c.claim_id),
                   (select max(je.business_date) from journal_line jl join journal_entry je using (entry_id)
                     where jl.claim_id = c.claim_id)))::int + $2, 12, 31) < $1
         order by c.case_number limit $3
         for update of c skip locked",
    )
    .bind(today)
    .bind(years)
    .bind(BATCH)
    .fetch_all(conn)
    .await
}

/// Removes the personal data of the cases `ids` from every table; returns their letters' ids
/// (whose print batches are removed from disk).
async fn anonymise_claims(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Vec<Uuid>> {
    let keys: Vec<String> = crate::auth::PERSONAL_KEYS.iter().map(|k| k.to_string()).collect();
    for sql in [
        "update claim set debtor_id_number = '', debtor_name = '', debtor_street = '', debtor_postal_code = '',
                debtor_city = '', debtor_email = null, debtor_phone = null, description = '', anonymised_at = $2
         where claim_id = any($1)",
        // Anonymising a letter is the one change ever made to a stored letter.
        "update letter set snapshot = jsonb_build_object('anonymised', true, 'kind', kind), html = '', anonymised_at = $2
         where claim_id = any($1)",
        "update dispute set body = '', answer_text = null, decision_note = null, attachment = null,
                attachment_name = null, attachment_type = null, personal_number = null
         where claim_id = any($1)",
        "update payment set payer_name = '', payer_id_number = null, payer_account = null, information = ''
         where claim_id = any($1)",
        "update payout set payee_name = '', account = '', clearing = null where claim_id = any($1) and kind = 'refund'",
        "update payment_plan set personal_number = null, decision_note = null where claim_id = any($1)",
        "update mail_queue set to_addr = '', subject = '', body = '' where claim_id = any($1)",
        "delete from refund_account where claim_id = any($1)",
    ] {
        sqlx::query(sql).bind(ids).bind(now).execute(&mut *conn).await?;
    }
    sqlx::query("update claim_event set detail = detail - $2::text[] where claim_id = any($1)")
        .bind(ids)
        .bind(&keys)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("select letter_id from letter where claim_id = any($1)")
        .bind(ids)
        .fetch_all(conn)
        .await
}

/// Removes a person's own data (their Mina sidor account, sessions, BankID orders, address
/// requests, access log and tickets) if no case of theirs is still kept; returns their e-mail
/// address if they were removed.
async fn anonymise_person(
    conn: &mut PgConnection,
    pnr: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Option<String>> {
    let kept: bool = sqlx::query_scalar(
        "select exists (select 1 from claim where debtor_id_number = $1 and anonymised_at is null)",
    )
    .bind(pnr)
    .fetch_one(&mut *conn)
    .await?;
    if kept {
        return Ok(None);
    }
    let email: Option<Option<String>> =
        sqlx::query_scalar("select email from person where personal_number = $1")
            .bind(pnr)
            .fetch_optional(&mut *conn)
            .await?;
    let tickets: Vec<Uuid> =
        sqlx::query_scalar("select ticket_id from ticket where personal_number = $1")
            .bind(pnr)
            .fetch_all(&mut *conn)
            .await?;
    anonymise_ticket_rows(conn, &tickets, now).await?;
    for sql in [
        "delete from session where personal_number = $1",
        "delete from representation where personal_number = $1",
        "delete from address_change where personal_number = $1",
        "delete from personal_data_access where $1 = any(debtor_ids)",
        "update dispute set personal_number = null where personal_number = $1",
        "update payment_plan set personal_number = null where personal_number = $1",
        "delete from bankid_order where personal_number = $1
           and not exists (select 1 from session s where s.bankid_order_id = bankid_order.bankid_order_id)",
        "delete from person where personal_number = $1",
    ] {
        sqlx::query(sql).bind(pnr).execute(&mut *conn).await?;
    }
    Ok(email.map(|e| e.unwrap_or_default()))
}

async fn anonymise_ticket_rows(
    conn: &mut PgConnection,
    ids: &[Uuid],
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update ticket set personal_number = null, contact_name = null, contact_email = null,
                contact_phone = null, subject = '', anonymised_at = $2
         where ticket_id = any($1)",
    )
    .bind(ids)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update ticket_message set body = '' where ticket_id = any($1)")
        .bind(ids)
        .execute(conn)
        .await?;
    Ok(())
}

/// Anonymises support tickets closed more than `years` before `today`.
async fn anonymise_tickets(state: &AppState, today: NaiveDate, years: i32) -> Result<usize> {
    let mut tx = state.db.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select ticket_id from ticket where status = 'closed' and anonymised_at is null
           and (closed_at at time zone 'Europe/Stockholm')::date + make_interval(years => $2) < $1",
    )
    .bind(today)
    .bind(years)
    .fetch_all(&mut *tx)
    .await?;
    anonymise_ticket_rows(&mut tx, &ids, state.clock.now()).await?;
    tx.commit().await?;
    Ok(ids.len())
}

/// Removes the print batches holding any of `letters` (a letter's PDF is always rendered again
/// from its snapshot, so nothing is lost for cases still kept) and the stored mail to `emails`.
async fn remove_files(
    state: &AppState,
    letters: &[Uuid],
    emails: &BTreeSet<String>,
) -> Result<usize> {
    if letters.is_empty() && emails.is_empty() {
        return Ok(0);
    }
    let batches: Vec<Uuid> = sqlx::query_scalar(
        "select distinct print_batch_id from print_batch_letter where letter_id = any($1)",
    )
    .bind(letters)
    .fetch_all(&mut *state.db.acquire().await?)
    .await?;
    let print_dir = state.config.print_dir.clone();
    let mail_dir = state.mailer.file_dir().map(|d| d.to_path_buf());
    let emails = emails.clone();
    let removed = tokio::task::spawn_blocking(move || {
        let mut removed = 0;
        for id in batches {
            for ext in ["pdf", "csv"] {
                if std::fs::remove_file(print_dir.join(format!("fordra-print-{id}.{ext}"))).is_ok()
                {
                    removed += 1;
                }
            }
        }
        if let Some(dir) = mail_dir {
            for m in crate::mail::list_files(&dir) {
                if emails.contains(&m.mail.to) && std::fs::remove_file(dir.join(&m.file)).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    })
    .await?;
    Ok(removed)
}
