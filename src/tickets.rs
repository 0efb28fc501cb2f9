//! Support tickets (ärenden): questions to Fordra from debtors on Mina sidor and from partners
//! in their portal, each about a claim when one is named. Staff answer them in the back office.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::web::forms::FieldErrors;

/// Who asks.
#[derive(Clone, Copy, Debug)]
pub enum From<'a> {
    Debtor { personal_number: &'a str },
    Partner { partner_id: Uuid, user_id: Uuid },
}

/// A message to support as typed: subject and body, trimmed; `errors` holds what the form
/// already found wrong.
pub fn check_message(
    subject: &str,
    body: &str,
    mut errors: FieldErrors,
) -> Result<(String, String), FieldErrors> {
    let (subject, body) = (subject.trim(), body.trim());
    if subject.is_empty() || subject.chars().count() > 120 {
        errors.add("subject", "Skriv en rubrik (högst 120 tecken).");
    }
    if body.chars().count() < 2 || body.chars().count() > 4000 {
        errors.add("body", "Skriv ditt meddelande (högst 4 000 tecken).");
    }
    errors.into_result((subject.to_string(), body.to_string()))
}

/// Opens a ticket with its first message, about `claim_id` when one is named.
pub async fn open(
    conn: &mut PgConnection,
    from: From<'_>,
    claim_id: Option<Uuid>,
    (subject, body): (String, String),
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let ticket_id = Uuid::new_v4();
    let (pnr, partner, author, user) = match from {
        From::Debtor { personal_number } => (Some(personal_number), None, "debtor", None),
        From::Partner { partner_id, user_id } => (None, Some(partner_id), "partner", Some(user_id)),
    };
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!(
        "insert into ticket (ticket_id, personal_number, partner_id, claim_id, subject, created_at) values ($1, $2, $3, $4, $5, $6)",
        ticket_id,
        pnr,
        partner,
        claim_id,
        subject,
        now
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into ticket_message (ticket_id, author, author_user_id, body, at) values ($1, $2, $3, $4, $5)",
        ticket_id,
        author,
        user,
        body,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ticket_id)
}

/// A ticket as its sender sees it in a list.
#[derive(FromRow)]
pub struct Row {
    pub subject: String,
    pub body: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub invoice_number: Option<String>,
}

/// A partner's tickets, newest first.
pub async fn of_partner(conn: &mut PgConnection, partner_id: Uuid) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(
        "select t.subject, (select m.body from ticket_message m where m.ticket_id = t.ticket_id order by m.ticket_message_id limit 1) as body,
                t.status, t.created_at, c.invoice_number
         from ticket t left join claim c using (claim_id) where t.partner_id = $1 order by t.created_at desc",
    )
    .bind(partner_id)
    .fetch_all(conn)
    .await
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Öppet",
        "answered" => "Besvarat",
        _ => "Stängt",
    }
}
