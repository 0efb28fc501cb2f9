//! The transactions of a dispute: the debtor's dispute, the creditor's answer and the staff's
//! decision. Each reads the claim again under its row lock and owns its transaction.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{claims::OnClaim, config::Config};

use super::{DisputeView, MAX_ATTACHMENT, REASONS, reason_label, sniff};
use crate::{
    claims::{self, ClaimRecord},
    config::Identity,
    domain::money::Sek,
    mail,
    parameters::Cache,
    web::{AppError, forms::FieldErrors},
};

/// The newest dispute of a claim.
pub async fn latest(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Option<DisputeView>> {
    sqlx::query_as(
        "select dispute_id, reason, body, attachment_name, created_at, answer, answer_text, reduced_by,
                answered_at, decision, decision_note, decided_at,
                (decision is null and coalesce(answer, '') <> 'withdraw') as open
         from dispute where claim_id = $1 order by created_at desc limit 1",
    )
    .bind(claim_id)
    .fetch_optional(conn)
    .await
}

/// Name, content type and bytes of a claim's newest dispute attachment.
pub async fn attachment(
    conn: &mut PgConnection,
    claim_id: Uuid,
) -> sqlx::Result<Option<(String, String, Vec<u8>)>> {
    let row = sqlx::query!(
        "select attachment_name, attachment_type, attachment from dispute
         where claim_id = $1 and attachment is not null order by created_at desc limit 1",
        claim_id
    )
    .fetch_optional(conn)
    .await?
    .map(|r| (r.attachment_name, r.attachment_type, r.attachment));
    Ok(match row {
        Some((Some(name), Some(kind), Some(bytes))) => Some((name, kind, bytes)),
        _ => None,
    })
}

/// What the debtor sent: the reason code, the text, and an attachment (name and bytes).
pub struct Submission {
    pub reason: String,
    pub body: String,
    pub file: Option<(String, Vec<u8>)>,
    /// Set when the upload could not be read (too large): said on the attachment field.
    pub upload_failed: bool,
}

pub enum Submitted {
    Done,
    /// Not being able to pay is no dispute: the debtor is sent to the payment plan instead.
    CannotPay,
    /// A dispute came first (a double submit): the first one stands.
    AlreadyDisputed,
    Invalid(FieldErrors),
}

/// Who disputes, and when.
pub struct Debtor<'a> {
    pub personal_number: &'a str,
    pub ip: &'a str,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

/// Records the debtor's dispute of claim `c` (one they may see): every automated step stops,
/// a proposed or running plan ends, and the creditor's users are told by mail.
pub async fn submit(
    conn: &mut PgConnection,
    c: &ClaimRecord,
    who: &Debtor<'_>,
    s: &Submission,
    public_url: &str,
) -> Result<Submitted, AppError> {
    if s.reason == "cannot_pay" {
        return Ok(Submitted::CannotPay);
    }
    let mut errors = FieldErrors::default();
    if s.upload_failed {
        errors.add("attachment", "Bilagan är för stor. Den får vara högst 5 MB.");
    }
    if !REASONS.iter().any(|(code, _)| *code == s.reason) {
        errors.add("reason", "Välj varför du bestrider kravet.");
    }
    if s.body.chars().count() < 10 {
        errors.add("body", "Beskriv med några ord varför kravet är fel (minst 10 tecken).");
    } else if s.body.chars().count() > 4000 {
        errors.add("body", "Beskrivningen får vara högst 4 000 tecken.");
    }
    let kind = match &s.file {
        Some((_, bytes)) if bytes.len() > MAX_ATTACHMENT => {
            errors.add("attachment", "Bilagan är för stor. Den får vara högst 5 MB.");
            None
        }
        Some((_, bytes)) => match sniff(bytes) {
            Some(k) => Some(k),
            None => {
                errors.add("attachment", "Bilagan måste vara en PDF-, JPEG- eller PNG-fil.");
                None
            }
        },
        None => None,
    };
    let mut tx = sqlx::Connection::begin(conn).await?;
    let c = claims::lock(&mut tx, c.claim_id, None).await?.ok_or(AppError::NotFound)?;
    if c.state().is_terminal() {
        errors.add("reason", "Ärendet är avslutat och kan inte bestridas.");
    }
    // A claim is disputed once: after that the answer and Fordra's decision stand.
    if latest(&mut tx, c.claim_id).await?.is_some() {
        errors.add(
            "reason",
            "Du har redan bestridit kravet. Svaret och beslutet står i ärendet; skriv till oss under Meddelanden om du har nya uppgifter.",
        );
    }
    if !errors.is_empty() {
        return Ok(Submitted::Invalid(errors));
    }
    let (now, today) = (who.now, who.today);
    let inserted = sqlx::query!(
        "insert into dispute (dispute_id, claim_id, personal_number, reason, body, attachment_name,
            attachment_type, attachment, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing",
        Uuid::new_v4(),
        c.claim_id,
        who.personal_number,
        &s.reason,
        &s.body,
        s.file.as_ref().map(|(n, _)| n),
        kind,
        s.file.as_ref().map(|(_, b)| b),
        now
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Submitted::AlreadyDisputed);
    }
    // Stop everything automated at once: the engine skips disputed claims, and letters not
    // yet dispatched stay in the outbox. A proposed or running payment plan ends.
    sqlx::query!(
        "update claim set disputed = true, next_action_on = null where claim_id = $1",
        c.claim_id
    )
    .execute(&mut *tx)
    .await?;
    crate::plans::end_live_plan(&mut tx, c.claim_id, "rejected", today).await?;
    claims::add_event(
        &mut tx,
        c.claim_id,
        now,
        today,
        "disputed",
        None,
        json!({"reason": s.reason, "attachment": kind.is_some()}),
        None,
    )
    .await?;
    let detail = json!({"reason": s.reason});
    let subject = c.claim_id.to_string();
    let pnr = who.personal_number;
    crate::auth::audit_debtor(
        &mut tx,
        now,
        pnr,
        "claim_disputed",
        Some(&subject),
        detail,
        Some(who.ip),
    )
    .await?;
    let mail =
        DisputeToCreditor { c: &c, reason: reason_label(&s.reason), body: &s.body, public_url }
            .render()
            .map_err(anyhow::Error::from)?;
    let subject = format!("Bestridande: faktura {}", c.invoice_number);
    notify_creditor(&mut tx, &c, &subject, &mail, now).await?;
    tx.commit().await?;
    Ok(Submitted::Done)
}

/// The creditor's answer: `withdraw`, `reduce` (by `reduce_amount`) or `maintain` (with a text
/// the debtor reads). `Ok(Err(message))` when refused; nothing is stored then.
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    conn: &mut PgConnection,
    params: &Cache,
    config: &Config,
    on: &OnClaim<'_>,
    (answer, text, reduce_amount): (&str, &str, &str),
) -> Result<Result<&'static str, String>, AppError> {
    let (identity, public_url) = (&config.identity, config.public_url.as_str());
    let (by, now, today) = (&on.by, on.by.now, on.by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let c = claims::lock(&mut tx, on.claim_id, on.creditor).await?.ok_or(AppError::NotFound)?;
    let Some(d) = latest(&mut tx, c.claim_id).await?.filter(|d| d.open && d.answer.is_none())
    else {
        return Ok(Err("Det finns inget obesvarat bestridande.".into()));
    };
    let mut errors = FieldErrors::default();
    if text.chars().count() > 4000 {
        errors.add("answer_text", "Förklaringen får vara högst 4 000 tecken.");
    }
    let mut reduced: Option<Sek> = None;
    let params = params.get(&mut tx).await?;
    match answer {
        "withdraw" => {}
        "maintain" if text.chars().count() < 10 => errors.add(
            "answer_text",
            "Förklara varför ni står fast vid kravet (minst 10 tecken). Gäldenären får läsa förklaringen.",
        ),
        "maintain" => {}
        "reduce" => {
            let s = claims::load_statement(&mut tx, &c, &params, today).await?;
            match Sek::parse(reduce_amount) {
                Ok(a) if !a.is_positive() => errors.add("amount", "Beloppet måste vara större än noll."),
                Ok(a) if a > s.capital => errors.add(
                    "amount",
                    format!("Sänkningen kan inte vara större än kvarvarande kapital, {}.", s.capital),
                ),
                Ok(a) => reduced = Some(a),
                Err(e) => errors.add("amount", e.to_string()),
            }
        }
        _ => errors.add("answer", "Välj ett svar."),
    }
    if let Some(first) = errors.first_message() {
        return Ok(Err(first.to_string()));
    }
    sqlx::query!("update dispute set answer = $2, answer_text = $3, reduced_by = $4, answered_at = $5, answered_by = $6
         where dispute_id = $1", d.dispute_id, answer, text, reduced.map(|r| r.amount()), now, by.user_id)
    .execute(&mut *tx)
    .await?;
    if answer == "withdraw" {
        match claims::withdraw(&mut tx, &c, identity, now, today).await {
            Ok(()) => {}
            Err(claims::StateError::Conflict) => {
                return Ok(Err("Fordran är redan avslutad.".into()));
            }
            Err(claims::StateError::Db(e)) => return Err(e.into()),
            Err(claims::StateError::Other(e)) => return Err(e.into()),
        }
    }
    if let Some(amount) = reduced {
        sqlx::query!("insert into capital_reduction (capital_reduction_id, claim_id, kind, amount, on_date, created_at, created_by)
             values ($1, $2, 'credit', $3, $4, $5, $6)", Uuid::new_v4(), c.claim_id, amount.amount(), today, now, by.user_id)
        .execute(&mut *tx)
        .await?;
        crate::payments::ledger::sync_claims(
            &mut tx,
            &[c.claim_id],
            &params,
            today,
            now,
            Some(by.user_id),
        )
        .await?;
    }
    let detail =
        json!({"answer": answer, "text": text, "reduced_by": reduced.map(|r| r.to_plain())});
    claims::web::record_change(
        &mut tx,
        &c,
        Some(by.user_id),
        by.ip,
        "dispute_answered",
        detail,
        now,
        today,
    )
    .await?;
    if let Some(email) = &c.debtor_email {
        let body = DisputeAnswer {
            c: &c,
            answer: answer_label(answer),
            text,
            public_url,
            sender: &identity.name,
        }
        .render()
        .map_err(anyhow::Error::from)?;
        let subject = format!("Svar på ditt bestridande – ärende {}", c.case_number);
        mail::queue(&mut tx, email, &subject, &body, Some(c.claim_id), now).await?;
    }
    tx.commit().await?;
    Ok(Ok(match answer {
        "withdraw" => "Kravet är återkallat och ärendet avslutat.",
        "reduce" => "Kravet är sänkt. Fordra går igenom ärendet innan något mer händer.",
        _ => "Ert svar är sparat. Fordra går igenom ärendet innan något mer händer.",
    }))
}

fn answer_label(answer: &str) -> &'static str {
    match answer {
        "withdraw" => "kravet är återkallat.",
        "reduce" => "kravet är sänkt.",
        _ => "borgenären står fast vid kravet.",
    }
}

/// Staff close a reduced or maintained disputed claim (`close`), or release it for court
/// (`court`). The claim stays disputed either way: the engine never takes it to Kronofogden.
/// `Ok(Err(message))` when refused.
pub async fn decide(
    conn: &mut PgConnection,
    identity: &Identity,
    on: &OnClaim<'_>,
    decision: &str,
    note: &str,
) -> Result<Result<&'static str, &'static str>, AppError> {
    let (by, now, today) = (&on.by, on.by.now, on.by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let c = claims::lock(&mut tx, on.claim_id, on.creditor).await?.ok_or(AppError::NotFound)?;
    let Some(d) = latest(&mut tx, c.claim_id).await?.filter(DisputeView::awaiting_staff) else {
        return Ok(Err("Bestridandet väntar inte på något beslut."));
    };
    if !matches!(decision, "close" | "court") {
        return Ok(Err("Välj att avsluta ärendet eller lämna det för prövning i domstol."));
    }
    if note.chars().count() < 5 {
        return Ok(Err("Skriv en motivering till beslutet (minst 5 tecken)."));
    }
    sqlx::query!("update dispute set decision = $2, decision_note = $3, decided_at = $4, decided_by = $5 where dispute_id = $1", d.dispute_id, decision, note, now, by.user_id)
        .execute(&mut *tx)
        .await?;
    if decision == "close" {
        // Closed like a withdrawal (the debtor gets the notice); already closed is fine.
        match claims::withdraw(&mut tx, &c, identity, now, today).await {
            Ok(()) | Err(claims::StateError::Conflict) => {}
            Err(claims::StateError::Db(e)) => return Err(e.into()),
            Err(claims::StateError::Other(e)) => return Err(e.into()),
        }
    }
    let event = if decision == "close" { "dispute_closed" } else { "released_for_court" };
    let detail = json!({"note": note});
    claims::web::record_change(&mut tx, &c, Some(by.user_id), by.ip, event, detail, now, today)
        .await?;
    tx.commit().await?;
    Ok(Ok(if decision == "close" {
        "Ärendet är avslutat."
    } else {
        "Ärendet är frigivet för prövning i tingsrätten. Det lämnas aldrig till Kronofogden."
    }))
}

#[derive(Template)]
#[template(path = "emails/dispute_to_creditor.txt")]
struct DisputeToCreditor<'a> {
    c: &'a ClaimRecord,
    reason: &'a str,
    body: &'a str,
    public_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/dispute_answer.txt")]
struct DisputeAnswer<'a> {
    c: &'a ClaimRecord,
    answer: &'a str,
    text: &'a str,
    public_url: &'a str,
    sender: &'a str,
}

/// E-mail to the creditor's contact address and every active user of the creditor.
async fn notify_creditor(
    tx: &mut PgConnection,
    c: &ClaimRecord,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let to: Vec<(String,)> = sqlx::query_as(
        "select distinct lower(addr) from (
            select contact_email as addr from creditor where creditor_id = $1 and contact_email <> ''
            union all
            select email from app_user where creditor_id = $1 and role = 'creditor' and disabled_at is null) a",
    )
    .bind(c.creditor_id)
    .fetch_all(&mut *tx)
    .await?;
    for (addr,) in to {
        mail::queue(&mut *tx, &addr, subject, body, Some(c.claim_id), now).await?;
    }
    Ok(())
}
