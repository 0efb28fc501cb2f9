//! Letter delivery: e-mail with the PDF when the debtor has an address, else the print
//! transport (PDFs dropped in the print house's hot folder). The dispatch date starts the
//! deadline. Failures retry with exponential backoff. A letter is marked dispatched in the same
//! transaction that holds its outbox row, so concurrent runs never send it twice; a crash after
//! the transport accepted it but before commit can resend it, with the same Message-ID.

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use sqlx::FromRow;
use uuid::Uuid;

use crate::{
    claims,
    domain::{fees::LetterKind, lifecycle},
    letters::{self, Snapshot},
    mail::Mail,
    parameters,
    state::AppState,
};

#[derive(FromRow)]
struct Pending {
    outbox_id: i64,
    attempts: i32,
    letter_id: Uuid,
    claim_id: Uuid,
    kind: String,
    snapshot: serde_json::Value,
    channel: String,
    debtor_email: Option<String>,
}

/// Delivers every pending letter that is due; returns how many were dispatched.
pub async fn deliver(state: &AppState, today: NaiveDate) -> Result<u64> {
    let params = {
        let mut conn = state.db.acquire().await?;
        parameters::load(&mut conn).await?
    };
    let mut dispatched = 0;
    loop {
        let now = state.clock.now();
        let mut tx = state.db.begin().await?;
        let batch: Vec<Pending> = sqlx::query_as(
            "select o.outbox_id, o.attempts, l.letter_id, l.claim_id, l.kind, l.snapshot, l.channel, c.debtor_email
             from outbox o join letter l using (letter_id) join claim c using (claim_id)
             where o.done_at is null and o.next_attempt_at <= $1
               -- A dispute stops everything at once, letters already written included.
               and not c.disputed
             order by o.outbox_id limit 20 for update of o skip locked",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            tx.commit().await?;
            return Ok(dispatched);
        }
        for p in &batch {
            match send(state, p).await {
                Ok(snapshot) => {
                    let kind = LetterKind::parse(&p.kind).context("letter kind")?;
                    let rules = params.book.in_force(today);
                    let deadline = if kind == LetterKind::PaymentPlan {
                        // The plan's first due date, printed in the letter.
                        snapshot.deadline
                    } else {
                        lifecycle::deadline(kind, today, rules)
                    };
                    sqlx::query!("update letter set dispatched_on = $2, dispatched_at = $3, deadline = $4 where letter_id = $1 and dispatched_on is null", p.letter_id, today, now, deadline)
                    .execute(&mut *tx)
                    .await?;
                    // The fee is earned when the letter goes out (A11 compares with this date).
                    sqlx::query!(
                        "update fee set charged_on = $2 where letter_id = $1",
                        p.letter_id,
                        today
                    )
                    .execute(&mut *tx)
                    .await?;
                    if kind.is_step() {
                        sqlx::query!("update claim set next_action_on = $3 where claim_id = $1 and state = $2", p.claim_id, kind.as_str(), lifecycle::next_action_date(deadline, rules))
                        .execute(&mut *tx)
                        .await?;
                    }
                    claims::add_event(
                        &mut tx,
                        p.claim_id,
                        now,
                        today,
                        "letter_dispatched",
                        None,
                        serde_json::json!({"letter_id": p.letter_id, "kind": p.kind, "channel": p.channel, "deadline": deadline}),
                        Some(&format!("dispatch:{}", p.letter_id)),
                    )
                    .await?;
                    sqlx::query!("update outbox set done_at = $2, attempts = attempts + 1, last_error = null where outbox_id = $1", p.outbox_id, now)
                        .execute(&mut *tx)
                        .await?;
                    dispatched += 1;
                }
                Err(e) => {
                    let backoff = Duration::minutes(1i64 << p.attempts.clamp(0, 9));
                    tracing::warn!(letter = %p.letter_id, attempts = p.attempts + 1, error = format!("{e:#}"), "letter delivery failed");
                    sqlx::query!("update outbox set attempts = attempts + 1, next_attempt_at = $2, last_error = $3 where outbox_id = $1", p.outbox_id, now + backoff, format!("{e:#}"))
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
    }
}

/// Hands the letter to its transport; returns its snapshot.
async fn send(state: &AppState, p: &Pending) -> Result<Snapshot> {
    let snapshot = Snapshot::deserialize(&p.snapshot)?;
    let pdf = tokio::task::spawn_blocking({
        let s = snapshot.clone();
        move || letters::render_pdf(&s)
    })
    .await?;
    let file_name = format!("{}-{}.pdf", snapshot.case_number, p.kind);
    match (p.channel.as_str(), &p.debtor_email) {
        ("email", Some(to)) => {
            let how_to_pay = match snapshot.schedule.first() {
                _ if !snapshot.asks_payment() => {
                    "Ärendet är avslutat och du ska inte betala något till oss.".to_string()
                }
                Some(first) => format!(
                    "Första delbetalningen, {}, ska vara betald senast {} till bankgiro {} med OCR-nummer {}. Alla delbetalningar står i brevet.",
                    first.amount, first.due_date, snapshot.sender.bankgiro, first.ocr
                ),
                None => format!(
                    "Att betala: {} senast {} till bankgiro {} med OCR-nummer {}.",
                    snapshot.total, snapshot.deadline, snapshot.sender.bankgiro, snapshot.ocr
                ),
            };
            let mut mail = Mail::text(
                to.clone(),
                format!(
                    "{} från {} – ärende {}",
                    snapshot.title, state.config.identity.name, snapshot.case_number
                ),
                format!(
                    "Hej {},\n\nBifogat finns ett brev från {} om fakturan {} från {}. {how_to_pay}\n\nDu kan också se ärendet på Mina sidor: {}/mina-sidor\n\nVänliga hälsningar\n{}\n{} · {}\n",
                    snapshot.debtor_name,
                    snapshot.sender.name,
                    snapshot.invoice_number,
                    snapshot.creditor_name,
                    state.config.public_url,
                    snapshot.sender.name,
                    snapshot.sender.email,
                    snapshot.sender.phone
                ),
            );
            mail.attachments.push((file_name, "application/pdf".into(), pdf));
            mail.message_id = Some(format!("<letter-{}@fordra.se>", p.letter_id));
            state.mailer.send(&state.config.mail_from, &mail, state.clock.now()).await?;
        }
        _ => {
            let dir = state.config.print_dir.clone();
            tokio::task::spawn_blocking(move || -> Result<()> {
                std::fs::create_dir_all(&dir)?;
                let tmp = dir.join(format!(".{file_name}.tmp"));
                std::fs::write(&tmp, &pdf)?;
                std::fs::rename(&tmp, dir.join(&file_name))?;
                Ok(())
            })
            .await?
            .context("print transport")?;
        }
    }
    Ok(snapshot)
}
