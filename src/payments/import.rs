//! Importing a bank file: read it completely once to validate it (structure, totals, amounts,
//! dates, currencies, and that no payment in it was imported before), then read it again and
//! store it in one transaction: the file, its payments, their journal entries, OCR matches and
//! allocations. Both passes stream, a chunk of payments at a time, parsed on another thread a
//! chunk ahead of the database work; payments, journal lines and events are written with COPY.

use std::{
    collections::HashSet,
    fs::File,
    io::{BufReader, Read},
    path::Path,
    sync::{Arc, Mutex},
};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    FileError, Format, ParsedPayment, PaymentKind, PaymentSource, detect,
    ledger::{self, Account, Dims, Entry},
};
use crate::{
    config::Identity, db::copy, domain::lifecycle::ClaimState, domain::money::Sek, parameters,
};

const CHUNK: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub bank_file_id: Uuid,
    pub format: Format,
    pub count: u32,
    pub total: Sek,
    pub matched: u32,
    pub unmatched: u32,
    pub paid_claims: usize,
    pub overpaid_claims: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not valid; nothing was stored.
    #[error("{0}")]
    Invalid(FileError),
    /// The file, or a payment in it, was imported before; nothing was stored.
    #[error("{0}")]
    Duplicate(String),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> ImportError {
        ImportError::Other(e.into())
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Arc<Mutex<Sha256>>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash
            .lock()
            .map_err(|_| std::io::Error::other("hash lock poisoned"))?
            .update(&buf[..n]);
        Ok(n)
    }
}

/// A parser over the file, its format, and the hash of what it has read so far.
type Opened = (Box<dyn PaymentSource + Send>, Format, Arc<Mutex<Sha256>>);

fn open_file(path: &Path) -> Result<Opened, ImportError> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut head = [0u8; 512];
    let n = file.read(&mut head).context("cannot read the file")?;
    let format = detect(&head[..n]).ok_or_else(|| {
        ImportError::Invalid(FileError::file(
            "Okänt filformat: filen är varken en BgMax-fil (börjar med 01BGMAX) eller en camt.054-fil (XML).",
        ))
    })?;
    let file = File::open(path).context("cannot reopen the file")?;
    let hash = Arc::new(Mutex::new(Sha256::new()));
    let reader = BufReader::with_capacity(64 * 1024, Hashing { inner: file, hash: hash.clone() });
    Ok((super::open(format, reader), format, hash))
}

fn next_chunk(source: &mut (dyn PaymentSource + Send)) -> Result<Vec<ParsedPayment>, ImportError> {
    let mut chunk = Vec::with_capacity(CHUNK);
    while chunk.len() < CHUNK {
        match source.next_payment().map_err(ImportError::Invalid)? {
            Some(p) => chunk.push(p),
            None => break,
        }
    }
    Ok(chunk)
}

fn digest(hash: &Arc<Mutex<Sha256>>) -> Vec<u8> {
    hash.lock().map(|h| h.clone().finalize().to_vec()).unwrap_or_default()
}

/// The file parsed on a blocking thread (the other core), up to two chunks ahead of the
/// database work on the chunk before.
struct Ahead {
    chunks: tokio::sync::mpsc::Receiver<Result<Vec<ParsedPayment>, ImportError>>,
    done: tokio::task::JoinHandle<(super::Summary, Vec<u8>)>,
    format: Format,
}

impl Ahead {
    fn open(path: &Path) -> Result<Ahead, ImportError> {
        let (mut source, format, hash) = open_file(path)?;
        let (sender, chunks) = tokio::sync::mpsc::channel(2);
        let done = tokio::task::spawn_blocking(move || {
            loop {
                let chunk = next_chunk(source.as_mut());
                let last = !matches!(&chunk, Ok(c) if !c.is_empty());
                // A receiver gone means the import stopped: so does the parsing.
                if sender.blocking_send(chunk).is_err() || last {
                    break;
                }
            }
            (source.summary().clone(), digest(&hash))
        });
        Ok(Ahead { chunks, done, format })
    }

    /// The next chunk of payments; empty at the end of the file.
    async fn next(&mut self) -> Result<Vec<ParsedPayment>, ImportError> {
        self.chunks.recv().await.unwrap_or_else(|| Ok(Vec::new()))
    }

    /// After the last chunk: the file's summary and its SHA-256.
    async fn finish(self) -> Result<(super::Summary, Vec<u8>), ImportError> {
        self.done.await.map_err(|e| ImportError::Other(anyhow::anyhow!("the parser failed: {e}")))
    }
}

async fn already_imported(
    conn: &mut PgConnection,
    sha: &[u8],
    message_id: Option<&str>,
) -> Result<Option<String>, ImportError> {
    let seen: Option<(String, DateTime<Utc>, Option<String>)> = sqlx::query_as(
        "select file_name, imported_at, message_id from bank_file where sha256 = $1 or ($2::text is not null and message_id = $2) limit 1",
    )
    .bind(sha)
    .bind(message_id)
    .fetch_optional(conn)
    .await?;
    Ok(seen.map(|(name, at, msg)| {
        let when = crate::clock::stockholm_local(at).format("%Y-%m-%d %H:%M");
        match (msg, message_id) {
            (Some(m), Some(id)) if m == id => format!(
                "Meddelandet {id} är redan inläst (filen {name}, {when}). Samma fil läses aldrig in två gånger."
            ),
            _ => format!(
                "Filen är redan inläst ({name}, {when}). Samma fil läses aldrig in två gånger."
            ),
        }
    }))
}

/// First pass: validates everything and finds the first payment imported before. Returns the
/// summary, the file's hash and that duplicate (reported after the whole-file checks).
async fn validate(
    conn: &mut PgConnection,
    path: &Path,
) -> Result<(Format, super::Summary, Vec<u8>, Option<String>), ImportError> {
    let mut file = Ahead::open(path)?;
    let format = file.format;
    let mut duplicate = None;
    loop {
        let chunk = file.next().await?;
        if chunk.is_empty() {
            break;
        }
        if let Some(p) = chunk.iter().find(|p| p.currency != "SEK") {
            return Err(ImportError::Invalid(FileError::at(
                p.line,
                format!("Betalningen är i {}; Fordra tar bara emot betalningar i SEK.", p.currency),
            )));
        }
        let refs: Vec<&str> = chunk.iter().map(|p| p.bank_ref.as_str()).collect();
        let dup: Option<(String, String)> = sqlx::query_as(
            "select p.bank_ref, f.file_name from payment p join bank_file f using (bank_file_id)
             where p.bank_ref = any($1) limit 1",
        )
        .bind(&refs)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((bank_ref, file)) = dup
            && duplicate.is_none()
        {
            let line = chunk.iter().find(|p| p.bank_ref == bank_ref).map_or(0, |p| p.line);
            duplicate = Some(format!(
                "Rad {line}: betalningen är redan inläst från filen {file} (bankens referens {}). Ingenting lästes in.",
                bank_ref.trim_start_matches("camt:")
            ));
        }
    }
    let (summary, sha) = file.finish().await?;
    Ok((format, summary, sha, duplicate))
}

/// Imports the bank file at `path`: everything or nothing.
/// A file for another account than Fordra's (`own`) is refused, naming that account.
pub async fn import_file(
    db: &PgPool,
    path: &Path,
    file_name: &str,
    own: &Identity,
    user: Option<Uuid>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Imported, ImportError> {
    let mut conn = db.acquire().await?;
    let (format, summary, sha, duplicate) = validate(&mut conn, path).await?;
    super::check_accounts(&summary, &own.iban, &own.bankgiro).map_err(ImportError::Invalid)?;
    if let Some(msg) = already_imported(&mut conn, &sha, summary.message_id.as_deref()).await? {
        return Err(ImportError::Duplicate(msg));
    }
    if let Some(msg) = duplicate {
        return Err(ImportError::Duplicate(msg));
    }
    let params = parameters::load(&mut conn).await?;
    drop(conn);

    let mut tx = db.begin().await?;
    // One import at a time: two files paying the same claim must allocate in turn.
    super::lock(&mut tx, super::Lock::Payments).await?;
    if let Some(msg) = already_imported(&mut tx, &sha, summary.message_id.as_deref()).await? {
        return Err(ImportError::Duplicate(msg));
    }
    let bank_file_id = Uuid::new_v4();
    let first = summary.booking_days.iter().next().copied().unwrap_or(today);
    let last = summary.booking_days.iter().next_back().copied().unwrap_or(today);
    sqlx::query("insert into bank_file (bank_file_id, format, file_name, sha256, message_id, payment_count, total,
            first_booking, last_booking, test_file, imported_at, imported_by, business_date)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)").bind(bank_file_id).bind(format.as_str()).bind(file_name).bind(&sha).bind(&summary.message_id).bind(summary.count as i32).bind(summary.net_total).bind(first).bind(last).bind(summary.test_file).bind(now).bind(user).bind(today)
    .execute(&mut *tx)
    .await?;

    let mut file = Ahead::open(path)?;
    let mut out = Imported {
        bank_file_id,
        format,
        count: 0,
        total: Sek::ZERO,
        matched: 0,
        unmatched: 0,
        paid_claims: 0,
        overpaid_claims: 0,
    };
    loop {
        let chunk = file.next().await?;
        if chunk.is_empty() {
            break;
        }
        store_chunk(&mut tx, bank_file_id, &chunk, &params, today, now, user, &mut out).await?;
    }
    if file.finish().await?.1 != sha {
        return Err(ImportError::Invalid(FileError::file(
            "Filen ändrades medan den lästes in. Försök igen.",
        )));
    }
    sqlx::query!(
        "update bank_file set matched_count = $2 where bank_file_id = $1",
        bank_file_id,
        out.matched as i32
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into bank_day (day, kind, bank_file_id, marked_by, marked_at)
         select d, 'file', $2, $3, $4 from unnest($1::date[]) as d on conflict (day) do nothing",
    )
    .bind(summary.booking_days.iter().copied().collect::<Vec<_>>())
    .bind(bank_file_id)
    .bind(user)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    crate::auth::audit(
        &mut tx,
        now,
        user,
        "bank_file_imported",
        Some(&bank_file_id.to_string()),
        serde_json::json!({"file_name": file_name, "format": format.as_str(), "payments": out.count,
            "total": out.total, "matched": out.matched, "unmatched": out.unmatched}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn store_chunk(
    tx: &mut PgConnection,
    bank_file_id: Uuid,
    chunk: &[ParsedPayment],
    params: &parameters::Parameters,
    today: NaiveDate,
    now: DateTime<Utc>,
    user: Option<Uuid>,
    out: &mut Imported,
) -> Result<(), ImportError> {
    let ocrs: Vec<&str> = chunk.iter().filter_map(|p| p.ocr.as_deref()).collect();
    let found: Vec<(String, Uuid, String)> =
        // A claim's own OCR, or the OCR of one of its payment-plan instalments.
        sqlx::query_as(
            "select ocr, claim_id, state from claim where ocr = any($1)
             union all
             select i.ocr, c.claim_id, c.state from plan_instalment i
               join payment_plan p using (plan_id) join claim c using (claim_id) where i.ocr = any($1)",
        )
            .bind(&ocrs)
            .fetch_all(&mut *tx)
            .await?;
    let by_ocr: std::collections::HashMap<&str, (Uuid, bool)> = found
        .iter()
        .map(|(o, id, state)| {
            let open = ClaimState::parse(state).is_some_and(|s| !s.is_terminal());
            (o.as_str(), (*id, open))
        })
        .collect();
    let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
    let claim_of: Vec<Option<Uuid>> = chunk
        .iter()
        .map(|p| {
            if p.kind != PaymentKind::Payment {
                return None;
            }
            match p.ocr.as_deref().and_then(|o| by_ocr.get(o)) {
                Some((id, true)) => Some(*id),
                _ => None,
            }
        })
        .collect();
    let mut rows = copy::Rows::new();
    let at = copy::timestamp(now);
    for ((p, id), claim) in chunk.iter().zip(&ids).zip(&claim_of) {
        rows.value(id).value(bank_file_id).value(p.seq).value(p.line).text(&p.bank_ref);
        rows.text(p.kind.as_str()).value(p.booked_on).value(p.amount.amount()).text(&p.reference);
        rows.opt_text(p.ocr.as_deref()).text(&p.payer_name).opt_text(p.payer_account.as_deref());
        rows.opt_text(p.payer_id_number.as_deref()).text(&p.information).opt_value(*claim);
        rows.opt_text(claim.map(|_| "ocr")).opt_value(claim.map(|_| &at)).end_row();
    }
    // In a savepoint: a bank reference already stored (earlier in the file) fails the COPY,
    // and the transaction must live on to say which line repeats it.
    let mut sp = sqlx::Connection::begin(&mut *tx).await?;
    let copied = copy::copy_in(
        &mut sp,
        "payment (payment_id, bank_file_id, seq, line, bank_ref, kind, booked_on, amount, reference, ocr,
            payer_name, payer_account, payer_id_number, information, claim_id, match_kind, matched_at)",
        rows,
    )
    .await;
    match copied {
        Ok(_) => sp.commit().await?,
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            sp.rollback().await?;
            let refs: Vec<&str> = chunk.iter().map(|p| p.bank_ref.as_str()).collect();
            let stored: HashSet<String> =
                sqlx::query_scalar("select bank_ref from payment where bank_ref = any($1)")
                    .bind(&refs)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
            let mut seen = HashSet::new();
            let line = chunk
                .iter()
                .find(|p| stored.contains(&p.bank_ref) || !seen.insert(p.bank_ref.as_str()))
                .map_or(0, |p| p.line);
            return Err(ImportError::Invalid(FileError::at(
                line,
                "samma betalning (bankens referens) förekommer två gånger i filen.",
            )));
        }
        Err(e) => return Err(e.into()),
    }
    let mut entries = Vec::with_capacity(chunk.len());
    let mut incoming = Vec::with_capacity(chunk.len());
    let mut events: Vec<(Uuid, serde_json::Value)> = Vec::new();
    for ((p, id), claim) in chunk.iter().zip(&ids).zip(&claim_of) {
        let pay = Dims::payment(*id);
        let memo = if p.reference.is_empty() {
            format!("Inbetalning {}", p.payer_name)
        } else {
            format!("Inbetalning ref {}", p.reference)
        };
        out.count += 1;
        out.total += p.signed();
        entries.push(match (p.kind, claim) {
            (PaymentKind::Payment, Some(c)) => {
                // Received and allocated in one entry, by `sync_claims_receiving` below.
                out.matched += 1;
                events.push((
                    *c,
                    serde_json::json!({"payment_id": id, "amount": p.amount, "booked_on": p.booked_on, "match": "ocr"}),
                ));
                incoming.push(ledger::Incoming { claim: *c, payment: *id, amount: p.amount, memo });
                continue;
            }
            (PaymentKind::Payment, None) => {
                out.unmatched += 1;
                Entry::new("payment_in", memo)
                    .debit(Account::Bank, p.amount, pay)
                    .credit(Account::Unmatched, p.amount, pay)
            }
            (PaymentKind::Deduction, _) => {
                out.unmatched += 1;
                Entry::new("deduction", format!("Avdrag {}", p.reference))
                    .debit(Account::Unmatched, p.amount, pay)
                    .credit(Account::Bank, p.amount, pay)
            }
        });
    }
    ledger::post(tx, &entries, now, today, user).await?;
    let mut rows = copy::Rows::new();
    for (claim, detail) in &events {
        rows.value(claim).value(&at).value(today).text("payment_received");
        rows.opt_value(user).text(&detail.to_string()).end_row();
    }
    copy::copy_in(
        tx,
        "claim_event (claim_id, at, business_date, kind, actor_user_id, detail)",
        rows,
    )
    .await?;
    let mut claims: Vec<Uuid> = incoming.iter().map(|i| i.claim).collect();
    claims.sort();
    claims.dedup();
    let report =
        ledger::sync_claims_receiving(tx, &claims, &incoming, params, today, now, user).await?;
    out.paid_claims += report.paid.len();
    out.overpaid_claims += report.overpaid.len();
    Ok(())
}
