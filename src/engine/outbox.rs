//! Letter delivery, a round of up to [`ROUND`] letters at a time: e-mail with the PDF when the
//! debtor has an address (one message per letter, a few at once), else print. The dispatch date
//! starts the deadline. Failures retry with exponential backoff.
//!
//! **Print** goes to the print house as print batches: one PDF holding up to [`PER_FILE`]
//! letters and a CSV manifest (letter id, OCR, first page, page count, postal code), each
//! written to a temporary name and renamed, so the print house never picks up half a file. The
//! batches of a round render in parallel on the blocking pool while mail goes out.
//!
//! A round holds its outbox rows locked until it commits, so concurrent runs never take the
//! same letter. A print batch and its letters are committed *before* its files are written; the
//! dispatch (letters, fees, claims, events, outbox, one statement per table) commits after. A
//! crash in between leaves the batch open: the next run writes it again, same id, same letters
//! in the same order, same bytes, and the print house drops the duplicate by its id. An e-mail
//! sent just before a crash can be sent again, with the same Message-ID.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::{StreamExt, stream};
use serde::Deserialize;
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    domain::{fees::LetterKind, lifecycle, rules::RuleSet},
    letters::{self, Snapshot},
    mail::Mail,
    parameters,
    state::AppState,
};

/// Letters taken per round.
const ROUND: i64 = 500;
/// Letters per print batch file.
pub const PER_FILE: usize = 250;
/// E-mails sent at once.
const MAIL_AT_ONCE: usize = 8;

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

/// The columns a round reads; callers add the join or filter that picks the rows.
const PENDING: &str = "select o.outbox_id, o.attempts, l.letter_id, l.claim_id, l.kind, l.snapshot, l.channel, c.debtor_email
     from outbox o join letter l on l.letter_id = o.letter_id join claim c on c.claim_id = l.claim_id";

/// A letter whose snapshot was read, ready for its transport.
struct Ready {
    p: Pending,
    s: Snapshot,
    kind: LetterKind,
}

/// How a round ended: the letters sent, and those to try again later (with why).
#[derive(Default)]
struct Outcomes {
    sent: Vec<Ready>,
    failed: Vec<(Pending, String)>,
}

/// Delivers every pending letter that is due; returns how many were dispatched. Uses one
/// connection throughout.
pub async fn deliver(state: &AppState, today: NaiveDate) -> Result<u64> {
    let mut conn = state.db.acquire().await?;
    let params = parameters::load(&mut conn).await?;
    let rules = params.book.in_force(today);
    match deliver_on(&mut conn, state, today, rules).await {
        Ok(dispatched) => Ok(dispatched),
        Err(e) => {
            // The session may hold print batches' locks: end it, so that they are free at once.
            drop(conn.detach());
            Err(e)
        }
    }
}

async fn deliver_on(
    conn: &mut PgConnection,
    state: &AppState,
    today: NaiveDate,
    rules: &RuleSet,
) -> Result<u64> {
    let mut dispatched = resume_open_batches(conn, state, today, rules).await?;
    for email in [false, true] {
        loop {
            let (sent, taken) = round(conn, state, (today, rules), email).await?;
            dispatched += sent;
            if taken == 0 {
                break;
            }
        }
    }
    Ok(dispatched)
}

/// The session-level lock a run holds on a print batch while it writes it. A crashed run's
/// session is gone, and with it the lock: that is how an open batch is told from one in flight.
const BATCH_LOCK: &str = "hashtextextended('print_batch:' || $1::text, 0)";

/// Takes (locks) up to a round of due letters: those going by e-mail (the debtor has an
/// address and the letter's channel is e-mail), or the rest, to print.
async fn take_due(tx: &mut PgConnection, now: DateTime<Utc>, email: bool) -> Result<Vec<Pending>> {
    Ok(sqlx::query_as(&format!(
        "{PENDING}
         where o.done_at is null and o.next_attempt_at <= $1
           -- A dispute stops everything at once, letters already written included.
           and not c.disputed
           and (l.channel = 'email' and c.debtor_email is not null) = $3
           -- A letter of an open print batch goes out with that batch.
           and not exists (select 1 from print_batch_letter pl where pl.letter_id = o.letter_id)
         order by o.outbox_id limit $2 for update of o skip locked"
    ))
    .bind(now)
    .bind(ROUND)
    .bind(email)
    .fetch_all(tx)
    .await?)
}

/// One round of due letters by e-mail (`email`) or to print. Returns (dispatched, letters
/// taken).
///
/// E-mail: the rows stay locked while the messages go out, and the round commits after.
/// Print: the batches and their letters are committed, the files written, then the dispatch
/// committed.
async fn round(
    conn: &mut PgConnection,
    state: &AppState,
    (today, rules): (NaiveDate, &RuleSet),
    email: bool,
) -> Result<(u64, usize)> {
    let now = state.clock.now();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let rows = take_due(&mut tx, now, email).await?;
    let taken = rows.len();
    let (mut ready, failed) = read_all(rows);
    let mut outcomes = Outcomes { sent: vec![], failed };
    if email {
        for (r, result) in send_mails(state, ready).await {
            match result {
                Ok(()) => outcomes.sent.push(r),
                Err(e) => outcomes.failed.push((r.p, e)),
            }
        }
        let dispatched = record(&mut tx, now, today, rules, &outcomes, &[]).await?;
        tx.commit().await?;
        return Ok((dispatched, taken));
    }
    let mut batches: Vec<(Uuid, Vec<Ready>)> = vec![];
    while !ready.is_empty() {
        let rest = ready.split_off(ready.len().min(PER_FILE));
        batches.push((Uuid::new_v4(), std::mem::replace(&mut ready, rest)));
    }
    open_batches(&mut tx, now, &batches).await?;
    record(&mut tx, now, today, rules, &outcomes, &[]).await?;
    tx.commit().await?;
    if batches.is_empty() {
        return Ok((0, taken));
    }
    let (closed, outcomes) = write_batches(state, batches).await?;
    if state.faults.crash_after_print_write() {
        bail!("simulated crash: print batches written, dispatch not committed");
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let dispatched = record(&mut tx, now, today, rules, &outcomes, &closed).await?;
    tx.commit().await?;
    batch_locks(conn, &closed, false).await?;
    Ok((dispatched, taken))
}

/// Takes (or gives up) this session's lock on each of `batches`, in one statement.
async fn batch_locks(conn: &mut PgConnection, batches: &[Uuid], take: bool) -> Result<()> {
    let f = if take { "pg_advisory_lock" } else { "pg_advisory_unlock" };
    let key = BATCH_LOCK.replace("$1", "id");
    sqlx::query(&format!("select {f}({key}) from unnest($1::uuid[]) as id"))
        .bind(batches)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes again and closes the print batches a crashed run left open (no live session holds
/// their lock), each with the same letters in the same order.
async fn resume_open_batches(
    conn: &mut PgConnection,
    state: &AppState,
    today: NaiveDate,
    rules: &RuleSet,
) -> Result<u64> {
    let open: Vec<(Uuid, i32)> = sqlx::query_as(
        "select print_batch_id, letter_count from print_batch where closed_at is null order by created_at",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut dispatched = 0;
    for (id, count) in open {
        let free: bool = sqlx::query_scalar(&format!("select pg_try_advisory_lock({BATCH_LOCK})"))
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        if !free {
            continue; // another run is writing it now
        }
        let now = state.clock.now();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let rows: Vec<Pending> = sqlx::query_as(&format!(
            "{PENDING} join print_batch_letter pl on pl.letter_id = o.letter_id
             where pl.print_batch_id = $1 and o.done_at is null
             order by pl.position for update of o"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        if rows.len() != count as usize {
            bail!("print batch {id} has {} of its {count} letters still to send", rows.len());
        }
        let (letters, unreadable) = read_all(rows);
        if let Some((p, e)) = unreadable.first() {
            bail!("print batch {id}: letter {}: {e}", p.letter_id);
        }
        tracing::warn!(batch = %id, letters = letters.len(), "print batch left open by a crash: writing it again");
        let (closed, outcomes) = write_batches(state, vec![(id, letters)]).await?;
        dispatched += record(&mut tx, now, today, rules, &outcomes, &closed).await?;
        tx.commit().await?;
        batch_locks(conn, &[id], false).await?;
    }
    Ok(dispatched)
}

/// The letters whose snapshot reads, and those that do not (with why).
fn read_all(rows: Vec<Pending>) -> (Vec<Ready>, Vec<(Pending, String)>) {
    let (mut ready, mut unreadable) = (vec![], vec![]);
    for p in rows {
        let Some(kind) = LetterKind::parse(&p.kind) else {
            unreadable.push((p, "letter unreadable: unknown letter kind".to_string()));
            continue;
        };
        match Snapshot::deserialize(&p.snapshot) {
            Ok(s) => ready.push(Ready { p, s, kind }),
            Err(e) => unreadable.push((p, format!("letter unreadable: {e}"))),
        }
    }
    (ready, unreadable)
}

/// Records the round's print batches and their letters (committed with the round's claim on
/// them, before any file is written) and takes each batch's lock for this session.
async fn open_batches(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    batches: &[(Uuid, Vec<Ready>)],
) -> Result<()> {
    if batches.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = batches.iter().map(|b| b.0).collect();
    let counts: Vec<i32> = batches.iter().map(|b| b.1.len() as i32).collect();
    sqlx::query!(
        "insert into print_batch (print_batch_id, created_at, letter_count)
         select * from unnest($1::uuid[], $2::timestamptz[], $3::int[])",
        &ids,
        &vec![now; ids.len()],
        &counts
    )
    .execute(&mut *tx)
    .await?;
    let (mut batch, mut letter, mut position) = (vec![], vec![], vec![]);
    for (id, letters) in batches {
        for (i, r) in letters.iter().enumerate() {
            batch.push(*id);
            letter.push(r.p.letter_id);
            position.push(i as i32);
        }
    }
    sqlx::query!(
        "insert into print_batch_letter (print_batch_id, letter_id, position)
         select * from unnest($1::uuid[], $2::uuid[], $3::int[])",
        &batch,
        &letter,
        &position
    )
    .execute(&mut *tx)
    .await?;
    batch_locks(tx, &ids, true).await
}

/// Renders and writes each batch's PDF and manifest, the batches in parallel; returns the
/// batches written and their letters as sent.
async fn write_batches(
    state: &AppState,
    batches: Vec<(Uuid, Vec<Ready>)>,
) -> Result<(Vec<Uuid>, Outcomes)> {
    let mut jobs = tokio::task::JoinSet::new();
    for (id, letters) in batches {
        let dir = state.config.print_dir.clone();
        jobs.spawn_blocking(move || -> Result<(Uuid, Vec<Ready>)> {
            write_batch(&dir, id, &letters).with_context(|| format!("print batch {id}"))?;
            Ok((id, letters))
        });
    }
    let (mut written, mut outcomes) = (vec![], Outcomes::default());
    while let Some(job) = jobs.join_next().await {
        let (id, letters) = job??;
        written.push(id);
        outcomes.sent.extend(letters);
    }
    Ok((written, outcomes))
}

/// The batch's files: `fordra-print-{id}.pdf`, then `fordra-print-{id}.csv` (the manifest).
fn write_batch(dir: &Path, id: Uuid, letters: &[Ready]) -> Result<()> {
    let (pdf, placed) = letters::render_batch(letters.iter().map(|r| &r.s));
    let mut csv = String::from("letter_id;ocr;first_page;pages;postal_code\r\n");
    for (r, at) in letters.iter().zip(&placed) {
        let postal = r.s.debtor_postal_code.replace(' ', "");
        csv.push_str(&format!(
            "{};{};{};{};{postal}\r\n",
            r.p.letter_id, r.s.ocr, at.first_page, at.pages
        ));
    }
    std::fs::create_dir_all(dir)?;
    for (ext, bytes) in [("pdf", pdf), ("csv", csv.into_bytes())] {
        let name = format!("fordra-print-{id}.{ext}");
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, dir.join(&name))?;
    }
    Ok(())
}

/// Sends each letter as its own e-mail with the PDF, a few at once.
async fn send_mails(state: &AppState, letters: Vec<Ready>) -> Vec<(Ready, Result<(), String>)> {
    stream::iter(letters)
        .map(|r| async move {
            let result = send_mail(state, &r).await.map_err(|e| format!("{e:#}"));
            (r, result)
        })
        .buffer_unordered(MAIL_AT_ONCE)
        .collect()
        .await
}

async fn send_mail(state: &AppState, r: &Ready) -> Result<()> {
    let snapshot = &r.s;
    let pdf = tokio::task::spawn_blocking({
        let s = snapshot.clone();
        move || letters::render_pdf(&s)
    })
    .await?;
    let to = r.p.debtor_email.clone().context("no e-mail address")?;
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
        to,
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
    let file_name = format!("{}-{}.pdf", snapshot.case_number, r.p.kind);
    mail.attachments.push((file_name, "application/pdf".into(), pdf));
    mail.message_id = Some(format!("<letter-{}@fordra.se>", r.p.letter_id));
    state.mailer.send(&state.config.mail_from, &mail, state.clock.now()).await
}

/// Writes a round's outcomes, one statement per table and none for an empty part: the letters
/// dispatched (deadline from today), their fees charged, their claims' next step, a timeline
/// event each, the outbox rows done or put off, and the print batches closed. Returns how many
/// letters were dispatched.
async fn record(
    tx: &mut PgConnection,
    now: DateTime<Utc>,
    today: NaiveDate,
    rules: &RuleSet,
    outcomes: &Outcomes,
    closed: &[Uuid],
) -> Result<u64> {
    let (mut letter, mut deadline, mut claim, mut event) = (vec![], vec![], vec![], vec![]);
    let (mut outbox_done, mut step_claim, mut step_state, mut step_next) =
        (vec![], vec![], vec![], vec![]);
    let (mut failed, mut retry_at, mut error) = (vec![], vec![], vec![]);
    for r in &outcomes.sent {
        let due = if r.kind == LetterKind::PaymentPlan {
            // The plan's first due date, printed in the letter.
            r.s.deadline
        } else {
            lifecycle::deadline(r.kind, today, rules)
        };
        letter.push(r.p.letter_id);
        deadline.push(due);
        claim.push(r.p.claim_id);
        event.push(json!({"letter_id": r.p.letter_id, "kind": r.p.kind, "channel": r.p.channel, "deadline": due}));
        outbox_done.push(r.p.outbox_id);
        if r.kind.is_step() {
            step_claim.push(r.p.claim_id);
            step_state.push(r.p.kind.clone());
            step_next.push(lifecycle::next_action_date(due, rules));
        }
    }
    for (p, e) in &outcomes.failed {
        let backoff = Duration::minutes(1i64 << p.attempts.clamp(0, 9));
        tracing::warn!(letter = %p.letter_id, attempts = p.attempts + 1, error = %e, "letter delivery failed");
        failed.push(p.outbox_id);
        retry_at.push(now + backoff);
        error.push(e.clone());
    }
    let mut moved = 0;
    if !letter.is_empty() {
        moved = sqlx::query!(
            "update letter l set dispatched_on = $2, dispatched_at = $3, deadline = u.deadline
             from unnest($1::uuid[], $4::date[]) as u(letter_id, deadline)
             where l.letter_id = u.letter_id and l.dispatched_on is null",
            &letter,
            today,
            now,
            &deadline
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // The fee is earned when the letter goes out (A11 compares with this date).
        sqlx::query!("update fee set charged_on = $2 where letter_id = any($1)", &letter, today)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "update claim c set next_action_on = u.next
             from unnest($1::uuid[], $2::text[], $3::date[]) as u(claim_id, state, next)
             where c.claim_id = u.claim_id and c.state = u.state",
            &step_claim,
            &step_state,
            &step_next
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into claim_event (claim_id, at, business_date, kind, detail, step_key)
             select u.claim_id, $3, $4, 'letter_dispatched', u.detail, 'dispatch:' || u.letter_id
             from unnest($1::uuid[], $2::uuid[], $5::jsonb[]) as u(claim_id, letter_id, detail)
             on conflict (claim_id, step_key) do nothing",
            &claim,
            &letter,
            now,
            today,
            &event
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "update outbox set done_at = $2, attempts = attempts + 1, last_error = null where outbox_id = any($1)",
            &outbox_done,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    if !failed.is_empty() {
        sqlx::query!(
            "update outbox o set attempts = o.attempts + 1, next_attempt_at = u.retry_at, last_error = u.error
             from unnest($1::bigint[], $2::timestamptz[], $3::text[]) as u(outbox_id, retry_at, error)
             where o.outbox_id = u.outbox_id",
            &failed,
            &retry_at,
            &error
        )
        .execute(&mut *tx)
        .await?;
    }
    if !closed.is_empty() {
        sqlx::query!(
            "update print_batch set closed_at = $2 where print_batch_id = any($1)",
            closed,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(moved)
}
