//! Support tickets (ärenden): questions to Fordra from debtors on Mina sidor, from partners and
//! from creditors in their portals, each about a claim when one is named. Staff answer them in
//! the back office, write internal notes, and forward a question to the claim's creditor (second
//! line), whose answer comes back into the ticket. A ticket is open (staff's turn), waiting (the
//! sender's or the creditor's turn) or closed.
//!
//! What is kept about a sender is a name, an e-mail address, a phone number and the messages.

pub mod web;

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{auth::Acting, web::forms::FieldErrors};

/// Who asks, as the portal knows them.
#[derive(Clone, Copy, Debug)]
pub enum From<'a> {
    Debtor { personal_number: &'a str },
    Partner { partner_id: Uuid, user_id: Uuid },
    Creditor { creditor_id: Uuid, user_id: Uuid },
}

/// Whose tickets a portal shows: a debtor's, a partner's or a creditor's.
#[derive(Clone, Debug)]
pub enum Owner {
    Debtor(String),
    Partner(Uuid),
    Creditor(Uuid),
}

impl Owner {
    fn key(&self) -> (Option<&str>, Option<Uuid>, Option<Uuid>) {
        match self {
            Owner::Debtor(pnr) => (Some(pnr), None, None),
            Owner::Partner(id) => (None, Some(*id), None),
            Owner::Creditor(id) => (None, None, Some(*id)),
        }
    }

    fn author(&self) -> &'static str {
        match self {
            Owner::Debtor(_) => "debtor",
            Owner::Partner(_) => "partner",
            Owner::Creditor(_) => "creditor",
        }
    }

    /// The portal page listing this owner's tickets.
    pub fn base(&self) -> &'static str {
        match self {
            Owner::Debtor(_) => "/mina-sidor/meddelanden",
            Owner::Partner(_) => "/partner/hjalp",
            Owner::Creditor(_) => "/borgenar/kontakt",
        }
    }
}

/// The longest message, in characters.
const MAX_BODY: usize = 4000;

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
    let body = check_body(body).map_err(|m| errors.add("body", m)).ok();
    errors.into_result((subject.to_string(), body.unwrap_or_default()))
}

/// A reply or an answer as typed, trimmed.
pub fn check_body(body: &str) -> Result<String, &'static str> {
    let body = body.trim();
    match body.chars().count() {
        n if (2..=MAX_BODY).contains(&n) => Ok(body.to_string()),
        _ => Err("Skriv ditt meddelande (högst 4 000 tecken)."),
    }
}

/// Opens a ticket with its first message, about `claim_id` when one is named. The sender's
/// name, e-mail address and phone number are copied from their account, for answers.
pub async fn open(
    conn: &mut PgConnection,
    from: From<'_>,
    claim_id: Option<Uuid>,
    (subject, body): (String, String),
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let ticket_id = Uuid::new_v4();
    let (pnr, partner, creditor, author, user) = match from {
        From::Debtor { personal_number } => (Some(personal_number), None, None, "debtor", None),
        From::Partner { partner_id, user_id } => {
            (None, Some(partner_id), None, "partner", Some(user_id))
        }
        From::Creditor { creditor_id, user_id } => {
            (None, None, Some(creditor_id), "creditor", Some(user_id))
        }
    };
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!(
        "insert into ticket (ticket_id, personal_number, partner_id, creditor_id, opened_by, claim_id, subject,
                             created_at, updated_at, contact_name, contact_email, contact_phone)
         select $1, $2, $3, $4, $5, $6, $7, $8, $8,
                coalesce(u.display_name, p.given_name || ' ' || p.surname), coalesce(u.email, p.email), p.phone
         from (select 1) one
         left join app_user u on u.user_id = $5
         left join person p on p.personal_number = $2",
        ticket_id,
        pnr,
        partner,
        creditor,
        user,
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
    pub ticket_id: Uuid,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub invoice_number: Option<String>,
    pub answers: i64,
}

/// An owner's tickets, newest first, with the first message and how many answers it has.
pub async fn of_owner(conn: &mut PgConnection, owner: &Owner) -> sqlx::Result<Vec<Row>> {
    let (pnr, partner, creditor) = owner.key();
    sqlx::query_as(
        "select t.ticket_id, t.subject,
                (select m.body from ticket_message m where m.ticket_id = t.ticket_id order by m.ticket_message_id limit 1) as body,
                t.status, t.created_at, c.invoice_number,
                (select count(*) from ticket_message m where m.ticket_id = t.ticket_id and m.kind = 'answer') as answers
         from ticket t left join claim c using (claim_id)
         where t.personal_number is not distinct from $1 and t.partner_id is not distinct from $2
           and t.creditor_id is not distinct from $3
         order by t.created_at desc",
    )
    .bind(pnr)
    .bind(partner)
    .bind(creditor)
    .fetch_all(conn)
    .await
}

/// One message of a thread, with its author's name as the reader may see it.
#[derive(FromRow)]
pub struct Message {
    pub kind: String,
    pub author: String,
    pub author_name: Option<String>,
    pub body: String,
    pub at: DateTime<Utc>,
    pub minutes: Option<i32>,
}

impl Message {
    /// Whom the message is from, as the sender's portal says it.
    pub fn from_label(&self) -> &'static str {
        match (self.kind.as_str(), self.author.as_str()) {
            ("answer", _) => "Fordras kundtjänst",
            ("note", _) => "Intern anteckning",
            ("forward", _) => "Fråga till borgenären",
            ("creditor_answer", _) => "Borgenärens svar",
            (_, "debtor") => "Gäldenären",
            (_, "partner") => "Partnern",
            (_, "creditor") => "Borgenären",
            _ => "Fordra",
        }
    }
}

/// A ticket with its messages.
pub struct Thread {
    pub head: Head,
    pub messages: Vec<Message>,
}

#[derive(FromRow)]
pub struct Head {
    pub ticket_id: Uuid,
    pub subject: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub claim_id: Option<Uuid>,
    pub invoice_number: Option<String>,
    pub creditor_name: Option<String>,
    pub from_kind: String,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub assigned_to: Option<Uuid>,
    pub assigned_name: Option<String>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub forwarded_at: Option<DateTime<Utc>>,
    pub minutes: i64,
}

impl Head {
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }

    pub fn from_label(&self) -> &'static str {
        from_label(&self.from_kind)
    }
}

/// The columns of a ticket `t` both staff views read: who sent it, and the minutes recorded.
macro_rules! sender_and_minutes {
    () => {
        "case when t.personal_number is not null then 'debtor' when t.partner_id is not null then 'partner'
              else 'creditor' end as from_kind,
         coalesce((select sum(m.minutes) from ticket_message m where m.ticket_id = t.ticket_id), 0) as minutes"
    };
}

const HEAD: &str = concat!(
    "select t.ticket_id, t.subject, t.status, t.created_at, t.claim_id, c.invoice_number,
        cr.name as creditor_name, t.contact_name, t.contact_email, t.contact_phone, t.assigned_to,
        a.display_name as assigned_name, t.first_response_at, t.forwarded_at, ",
    sender_and_minutes!(),
    " from ticket t left join claim c using (claim_id) left join creditor cr on cr.creditor_id = c.creditor_id
    left join app_user a on a.user_id = t.assigned_to"
);

async fn messages(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    kinds: &[&str],
) -> sqlx::Result<Vec<Message>> {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    sqlx::query_as(
        "select m.kind, m.author, u.display_name as author_name, m.body, m.at, m.minutes
         from ticket_message m left join app_user u on u.user_id = m.author_user_id
         where m.ticket_id = $1 and m.kind = any($2) order by m.ticket_message_id",
    )
    .bind(ticket_id)
    .bind(kinds)
    .fetch_all(conn)
    .await
}

/// How a creditor's portal sees a ticket: its own question, or one Fordra forwarded about one
/// of its claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Own,
    Forwarded,
}

/// The ticket `ticket_id` if `owner` may see it, with the messages they may read: their own
/// messages and staff's answers; for a creditor, also the questions forwarded to it about its
/// claims and its answers to them. Internal notes are never shown.
pub async fn for_owner(
    conn: &mut PgConnection,
    owner: &Owner,
    ticket_id: Uuid,
) -> sqlx::Result<Option<(Thread, View)>> {
    let (pnr, partner, creditor) = owner.key();
    let head: Option<(Head, bool)> = sqlx::query_as::<_, Head>(&format!(
        "{HEAD} where t.ticket_id = $1 and t.personal_number is not distinct from $2
           and t.partner_id is not distinct from $3 and t.creditor_id is not distinct from $4"
    ))
    .bind(ticket_id)
    .bind(pnr)
    .bind(partner)
    .bind(creditor)
    .fetch_optional(&mut *conn)
    .await?
    .map(|h| (h, true));
    let head = match (head, owner) {
        (Some(h), _) => Some(h),
        (None, Owner::Creditor(creditor_id)) => sqlx::query_as::<_, Head>(&format!(
            "{HEAD} where t.ticket_id = $1 and t.forwarded_at is not null and c.creditor_id = $2"
        ))
        .bind(ticket_id)
        .bind(creditor_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|h| (h, false)),
        (None, _) => None,
    };
    let Some((head, own)) = head else { return Ok(None) };
    let (kinds, view): (&[&str], _) = if own {
        (&["message", "answer"], View::Own)
    } else {
        (&["forward", "creditor_answer"], View::Forwarded)
    };
    let messages = messages(conn, ticket_id, kinds).await?;
    Ok(Some((Thread { head, messages }, view)))
}

/// Questions Fordra forwarded to the creditor about its claims, newest first.
pub async fn forwarded_to(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Vec<Row>> {
    sqlx::query_as(
        "select t.ticket_id, t.subject,
                (select m.body from ticket_message m where m.ticket_id = t.ticket_id and m.kind = 'forward'
                 order by m.ticket_message_id desc limit 1) as body,
                t.status, t.created_at, c.invoice_number,
                (select count(*) from ticket_message m where m.ticket_id = t.ticket_id and m.kind = 'creditor_answer') as answers
         from ticket t join claim c using (claim_id)
         where c.creditor_id = $1 and t.forwarded_at is not null
         order by t.forwarded_at desc",
    )
    .bind(creditor_id)
    .fetch_all(conn)
    .await
}

/// The sender (or, for a forwarded question, the creditor) writes in the thread; the ticket
/// becomes staff's turn again. A closed ticket reopens. `user` is the portal user writing.
pub async fn reply(
    conn: &mut PgConnection,
    owner: &Owner,
    view: View,
    ticket_id: Uuid,
    user: Option<Uuid>,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (kind, author) = match view {
        View::Own => ("message", owner.author()),
        View::Forwarded => ("creditor_answer", "creditor"),
    };
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!(
        "insert into ticket_message (ticket_id, author, author_user_id, body, at, kind) values ($1, $2, $3, $4, $5, $6)",
        ticket_id,
        author,
        user,
        body,
        now,
        kind
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update ticket set status = 'open', closed_at = null, updated_at = $2 where ticket_id = $1",
        ticket_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "open" => "Öppet",
        "waiting" => "Väntar på svar",
        _ => "Stängt",
    }
}

/// How the sender's portal shows the state: open means Fordra is working on it.
pub fn sender_status_label(status: &str) -> &'static str {
    match status {
        "open" => "Hos Fordra",
        "waiting" => "Besvarat",
        _ => "Avslutat",
    }
}

pub fn from_label(kind: &str) -> &'static str {
    match kind {
        "debtor" => "Gäldenär",
        "partner" => "Partner",
        _ => "Borgenär",
    }
}

// ---------------------------------------------------------------------------------------------
// The staff side

/// Which tickets the inbox lists.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `open`, `waiting`, `closed`, or everything not closed when empty.
    pub status: String,
    /// Only those assigned to this staff user.
    pub assigned_to: Option<Uuid>,
}

/// A line of the staff inbox.
#[derive(FromRow)]
pub struct InboxRow {
    pub ticket_id: Uuid,
    pub subject: String,
    pub status: String,
    pub from_kind: String,
    pub contact_name: Option<String>,
    pub invoice_number: Option<String>,
    pub assigned_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub minutes: i64,
}

impl InboxRow {
    pub fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }

    pub fn from_label(&self) -> &'static str {
        from_label(&self.from_kind)
    }

    /// Time to the first answer, as "3 h 20 min"; `None` while unanswered.
    pub fn first_response(&self) -> Option<String> {
        self.first_response_at.map(|at| duration_label(at - self.created_at))
    }
}

/// A duration as staff read it: minutes, hours and minutes, or days and hours.
pub fn duration_label(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} d {} h", m / (24 * 60), m % (24 * 60) / 60),
    }
}

/// The inbox: the tickets `filter` picks, staff's turn first, then the oldest change first.
pub async fn inbox(conn: &mut PgConnection, filter: &Filter) -> sqlx::Result<Vec<InboxRow>> {
    sqlx::query_as(concat!(
        "select t.ticket_id, t.subject, t.status, t.contact_name, c.invoice_number,
                a.display_name as assigned_name, t.created_at, t.updated_at, t.first_response_at, ",
        sender_and_minutes!(),
        " from ticket t left join claim c using (claim_id) left join app_user a on a.user_id = t.assigned_to
         where (case when $1 = '' then t.status <> 'closed' else t.status = $1 end)
           and ($2::uuid is null or t.assigned_to = $2)
         order by t.status = 'open' desc, t.updated_at
         limit 500"
    ))
    .bind(&filter.status)
    .bind(filter.assigned_to)
    .fetch_all(conn)
    .await
}

/// A ticket with every message, notes and the creditor's answers included, for staff.
pub async fn for_staff(conn: &mut PgConnection, ticket_id: Uuid) -> sqlx::Result<Option<Thread>> {
    let Some(head) = sqlx::query_as::<_, Head>(&format!("{HEAD} where t.ticket_id = $1"))
        .bind(ticket_id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let all = ["message", "answer", "note", "forward", "creditor_answer"];
    let messages = messages(conn, ticket_id, &all).await?;
    Ok(Some(Thread { head, messages }))
}

/// What staff write in a ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffWrites {
    /// An answer to the sender: shown in their portal and e-mailed.
    Answer,
    /// An internal note, for staff only.
    Note,
    /// A question to the claim's creditor (second line).
    Forward,
}

impl StaffWrites {
    pub fn parse(s: &str) -> Option<StaffWrites> {
        Some(match s {
            "answer" => StaffWrites::Answer,
            "note" => StaffWrites::Note,
            "forward" => StaffWrites::Forward,
            _ => return None,
        })
    }

    fn kind(self) -> &'static str {
        match self {
            StaffWrites::Answer => "answer",
            StaffWrites::Note => "note",
            StaffWrites::Forward => "forward",
        }
    }
}

#[derive(Template)]
#[template(path = "emails/ticket_answer.txt")]
struct AnswerMail<'a> {
    subject: &'a str,
    answer: &'a str,
    link: &'a str,
    sender: &'a str,
}

#[derive(Template)]
#[template(path = "emails/ticket_forward.txt")]
struct ForwardMail<'a> {
    invoice_number: &'a str,
    question: &'a str,
    link: &'a str,
    sender: &'a str,
}

/// What a staff member writes: its kind, text, the minutes it took, and whether an answer
/// closes the ticket.
#[derive(Clone, Copy)]
pub struct Writing<'a> {
    pub what: StaffWrites,
    pub body: &'a str,
    pub minutes: Option<i32>,
    pub close: bool,
}

/// Staff write in a ticket: an answer (the ticket waits for the sender, or closes when
/// `close`), a note, or a question forwarded to the claim's creditor (the ticket waits for
/// it). Answers are e-mailed to the sender, forwarded questions to the creditor's users.
/// Returns why it cannot be done, if it cannot.
pub async fn staff_write(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    w: &Writing<'_>,
    by: &Acting<'_>,
    (public_url, sender): (&str, &str),
) -> anyhow::Result<Result<&'static str, &'static str>> {
    let Writing { what, body, minutes, close } = *w;
    let mut tx = sqlx::Connection::begin(conn).await?;
    let head = sqlx::query!(
        "select t.status, t.contact_email, t.subject, t.claim_id, c.creditor_id as \"creditor_id?\", c.invoice_number as \"invoice_number?\",
                case when t.personal_number is not null then '/mina-sidor/meddelanden'
                     when t.partner_id is not null then '/partner/hjalp' else '/borgenar/kontakt' end as \"base!\"
         from ticket t left join claim c using (claim_id) where t.ticket_id = $1 for update of t",
        ticket_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(head) = head else { return Ok(Err("Ärendet finns inte.")) };
    if what == StaffWrites::Forward && head.creditor_id.is_none() {
        return Ok(Err("Ärendet gäller ingen fordran, så det finns ingen borgenär att fråga."));
    }
    sqlx::query!(
        "insert into ticket_message (ticket_id, author, author_user_id, body, at, kind, minutes)
         values ($1, 'staff', $2, $3, $4, $5, $6)",
        ticket_id,
        by.user_id,
        body,
        by.now,
        what.kind(),
        minutes
    )
    .execute(&mut *tx)
    .await?;
    let link = format!("{public_url}{}/{ticket_id}", head.base);
    let message = match what {
        StaffWrites::Note => {
            sqlx::query!(
                "update ticket set updated_at = $2 where ticket_id = $1",
                ticket_id,
                by.now
            )
            .execute(&mut *tx)
            .await?;
            "Anteckningen är sparad."
        }
        StaffWrites::Answer => {
            let status = if close { "closed" } else { "waiting" };
            sqlx::query!(
                "update ticket set status = $2, updated_at = $3, first_response_at = coalesce(first_response_at, $3),
                        closed_at = case when $2 = 'closed' then $3::timestamptz end
                 where ticket_id = $1",
                ticket_id,
                status,
                by.now
            )
            .execute(&mut *tx)
            .await?;
            if let Some(email) = &head.contact_email {
                let text = AnswerMail { subject: &head.subject, answer: body, link: &link, sender }
                    .render()?;
                let subject = format!("Svar från Fordra: {}", head.subject);
                crate::mail::queue(&mut tx, email, &subject, &text, head.claim_id, by.now).await?;
                "Svaret är skickat och syns i avsändarens inloggning."
            } else {
                "Svaret är sparat. Avsändaren har ingen e-postadress, så svaret syns bara i inloggningen."
            }
        }
        StaffWrites::Forward => {
            sqlx::query!(
                "update ticket set status = 'waiting', updated_at = $2, forwarded_at = $2 where ticket_id = $1",
                ticket_id,
                by.now
            )
            .execute(&mut *tx)
            .await?;
            let link = format!("{public_url}/borgenar/kontakt/{ticket_id}");
            let text = ForwardMail {
                invoice_number: head.invoice_number.as_deref().unwrap_or(""),
                question: body,
                link: &link,
                sender,
            }
            .render()?;
            let subject = format!(
                "Fråga från Fordra om faktura {}",
                head.invoice_number.as_deref().unwrap_or("")
            );
            let users: Vec<String> = sqlx::query_scalar(
                "select email from app_user where creditor_id = $1 and disabled_at is null order by created_at",
            )
            .bind(head.creditor_id)
            .fetch_all(&mut *tx)
            .await?;
            for email in &users {
                crate::mail::queue(&mut tx, email, &subject, &text, head.claim_id, by.now).await?;
            }
            "Frågan är skickad till borgenären. Dess svar kommer tillbaka hit."
        }
    };
    let detail = serde_json::json!({"kind": what.kind(), "minutes": minutes, "close": close});
    by.audit(&mut tx, "ticket_written", Some(&ticket_id.to_string()), detail).await?;
    tx.commit().await?;
    Ok(Ok(message))
}

/// Assigns the ticket to a staff user (or to no one).
pub async fn assign(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    to: Option<Uuid>,
    by: &Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let done = sqlx::query!(
        "update ticket set assigned_to = $2, updated_at = $3 where ticket_id = $1
           and ($2::uuid is null or exists (select 1 from app_user where user_id = $2 and role in ('admin', 'support') and disabled_at is null))",
        ticket_id,
        to,
        by.now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        let detail = serde_json::json!({"assigned_to": to});
        by.audit(&mut tx, "ticket_assigned", Some(&ticket_id.to_string()), detail).await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// Closes or reopens a ticket.
pub async fn set_closed(
    conn: &mut PgConnection,
    ticket_id: Uuid,
    closed: bool,
    by: &Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let done = sqlx::query!(
        "update ticket set status = case when $2 then 'closed' else 'open' end,
                closed_at = case when $2 then $3::timestamptz end, updated_at = $3
         where ticket_id = $1",
        ticket_id,
        closed,
        by.now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        let action = if closed { "ticket_closed" } else { "ticket_reopened" };
        by.audit(&mut tx, action, Some(&ticket_id.to_string()), serde_json::json!({})).await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// A week's first-response figures for the dashboard.
#[derive(FromRow)]
pub struct Week {
    /// The Monday the week starts.
    pub week: NaiveDate,
    pub tickets: i64,
    /// The median minutes from a ticket's opening to its first answer, among those answered.
    pub median_first_response_minutes: Option<f64>,
    /// Minutes staff recorded on the week's tickets, per ticket.
    pub handling_minutes_per_ticket: Option<rust_decimal::Decimal>,
}

impl Week {
    pub fn median_label(&self) -> String {
        match self.median_first_response_minutes {
            Some(m) => duration_label(chrono::TimeDelta::seconds((m * 60.0) as i64)),
            None => "–".into(),
        }
    }
}

/// First-response median and handling time per ticket, for tickets opened in each of the last
/// `weeks` weeks up to `today`, oldest first.
pub async fn weekly(
    conn: &mut PgConnection,
    today: NaiveDate,
    weeks: i32,
) -> sqlx::Result<Vec<Week>> {
    sqlx::query_as(
        "with w as (select generate_series(date_trunc('week', $1::date) - make_interval(weeks => $2 - 1),
                                           date_trunc('week', $1::date), interval '1 week')::date as week)
         select w.week, count(t.ticket_id) as tickets,
                percentile_cont(0.5) within group (order by extract(epoch from t.first_response_at - t.created_at) / 60)
                    filter (where t.first_response_at is not null) as median_first_response_minutes,
                round(sum((select coalesce(sum(m.minutes), 0) from ticket_message m where m.ticket_id = t.ticket_id))::numeric
                      / nullif(count(t.ticket_id), 0), 1) as handling_minutes_per_ticket
         from w left join ticket t on date_trunc('week', t.created_at at time zone 'Europe/Stockholm')::date = w.week
         group by w.week order by w.week",
    )
    .bind(today)
    .bind(weeks)
    .fetch_all(conn)
    .await
}
