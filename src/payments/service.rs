//! The transactions and reads behind the payment pages: bank days without a file, the
//! unmatched queue, matching a payment by hand.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::ledger::{self, Account, Dims, Entry, SyncReport};
use crate::{
    auth::{Acting, audit},
    claims,
    domain::money::Sek,
    parameters::Cache,
};

#[derive(FromRow)]
pub struct PaymentRow {
    pub payment_id: Uuid,
    pub kind: String,
    pub booked_on: NaiveDate,
    pub amount: Decimal,
    pub reference: String,
    pub payer_name: String,
    pub payer_account: Option<String>,
    pub payer_id_number: Option<String>,
    pub information: String,
    pub file_name: String,
    pub line: i32,
    pub claim_id: Option<Uuid>,
    pub match_kind: Option<String>,
    pub refunded: bool,
}

const PAYMENT_SELECT: &str = "select p.payment_id, p.kind, p.booked_on, p.amount, p.reference, p.payer_name, p.payer_account,
        p.payer_id_number, p.information, f.file_name, p.line, p.claim_id, p.match_kind, p.refunded
    from payment p join bank_file f using (bank_file_id)";

/// A payment and the case number of its claim (when matched).
pub async fn payment(
    conn: &mut PgConnection,
    id: Uuid,
) -> sqlx::Result<Option<(PaymentRow, Option<i64>)>> {
    let Some(p): Option<PaymentRow> =
        sqlx::query_as(&format!("{PAYMENT_SELECT} where p.payment_id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let case: Option<i64> = match p.claim_id {
        Some(c) => {
            sqlx::query_scalar("select case_number from claim where claim_id = $1")
                .bind(c)
                .fetch_optional(&mut *conn)
                .await?
        }
        None => None,
    };
    Ok(Some((p, case)))
}

/// Claims a payment might belong to: by debtor name, invoice number, OCR, case number,
/// identity number or amount.
pub async fn candidates(
    conn: &mut PgConnection,
    q: &str,
    id_number: Option<String>,
    digits: &str,
    amount: Option<Decimal>,
) -> sqlx::Result<Vec<claims::ClaimRecord>> {
    sqlx::query_as(concat!(
        crate::claims::claim_select!(),
        " where c.debtor_name ilike '%' || $1 || '%' or c.invoice_number = $1 or c.ocr = $3
            or c.case_number::text = $3 or c.debtor_id_number = $2 or c.capital = $4
         order by c.registered_at desc limit 50"
    ))
    .bind(q)
    .bind(id_number)
    .bind(digits)
    .bind(amount)
    .fetch_all(conn)
    .await
}

/// Payments no claim took, oldest first, optionally searched by text or amount.
pub async fn unmatched(
    conn: &mut PgConnection,
    q: &str,
    amount: Option<Decimal>,
) -> sqlx::Result<Vec<PaymentRow>> {
    sqlx::query_as(&format!(
        "{PAYMENT_SELECT} where p.claim_id is null and not p.refunded
           and ($1 = '' or p.payer_name ilike '%' || $1 || '%' or p.reference ilike '%' || $1 || '%'
                or p.information ilike '%' || $1 || '%' or p.amount = $2)
         order by p.booked_on, p.seq limit 200"
    ))
    .bind(q)
    .bind(amount)
    .fetch_all(conn)
    .await
}

/// Marks a past bank day as one without a bank file (so the freshness gate opens), audited.
/// False when the day was covered already.
pub async fn mark_day_without_file(
    conn: &mut PgConnection,
    day: NaiveDate,
    note: &str,
    user_id: Uuid,
    ip: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let inserted = sqlx::query!("insert into bank_day (day, kind, marked_by, marked_at, note) values ($1, 'no_file', $2, $3, $4)
         on conflict (day) do nothing", day, user_id, now, note)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    audit(
        &mut tx,
        now,
        Some(user_id),
        "bank_day_without_file",
        Some(&day.to_string()),
        json!({"note": note}),
        Some(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Matches an unmatched payment to a claim by hand: journal, timeline, allocation, audit.
/// Returns the amount, the claim's case number and what the allocation did, or why not.
pub async fn match_by_hand(
    conn: &mut PgConnection,
    params: &Cache,
    payment_id: Uuid,
    claim_id: Uuid,
    by: &Acting<'_>,
) -> anyhow::Result<Result<(Sek, i64, SyncReport), &'static str>> {
    let (user_id, ip, now, today) = (by.user_id, by.ip, by.now, by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    super::lock(&mut tx, super::Lock::Payments).await?;
    let row: Option<(Option<Uuid>, bool, String, Decimal, NaiveDate)> = sqlx::query_as(
        "select claim_id, refunded, kind, amount, booked_on from payment where payment_id = $1 for update",
    )
    .bind(payment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((None, false, kind, amount, booked_on)) = row else {
        return Ok(Err("Betalningen är redan kopplad eller återbetald."));
    };
    if kind != "payment" {
        return Ok(Err("Ett avdrag kan inte kopplas till ett ärende."));
    }
    let Some(rec) = claims::find(&mut tx, claim_id, None).await? else {
        return Ok(Err("Ärendet finns inte."));
    };
    let amount = Sek::from_decimal(amount);
    sqlx::query!("update payment set claim_id = $2, match_kind = 'manual', matched_at = $3, matched_by = $4 where payment_id = $1", payment_id, claim_id, now, user_id)
    .execute(&mut *tx)
    .await?;
    let entry =
        Entry::new("manual_match", format!("Manuell koppling till ärende {}", rec.case_number))
            .debit(Account::Unmatched, amount, Dims::payment(payment_id))
            .credit(Account::ClaimPayments, amount, Dims::claim(claim_id).with_payment(payment_id));
    ledger::post(&mut tx, &[entry], now, today, Some(user_id)).await?;
    claims::add_event(
        &mut tx,
        claim_id,
        now,
        today,
        "payment_received",
        Some(user_id),
        json!({"payment_id": payment_id, "amount": amount, "booked_on": booked_on, "match": "manual"}),
        None,
    )
    .await?;
    let params = params.get(&mut tx).await?;
    let report =
        ledger::sync_claims(&mut tx, &[claim_id], &params, today, now, Some(user_id)).await?;
    audit(
        &mut tx,
        now,
        Some(user_id),
        "payment_matched",
        Some(&payment_id.to_string()),
        json!({"claim_id": claim_id, "case_number": rec.case_number, "amount": amount}),
        Some(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((amount, rec.case_number, report)))
}

/// Takes a matched payment off its claim (matched to the wrong claim, or the bank took it
/// back): the payment returns to the unmatched queue, the claim's allocation is recomputed
/// without it through the journal (commission on fees no longer paid reversed with it), a paid
/// claim reopens at its last letter, and the reversal is kept with its reason and audited.
/// Refused when the claim's capital or surplus from it was already paid out.
pub async fn reverse_match(
    conn: &mut PgConnection,
    params: &Cache,
    payment_id: Uuid,
    reason: &str,
    by: &Acting<'_>,
) -> anyhow::Result<Result<(Sek, i64), &'static str>> {
    let (user_id, now, today) = (by.user_id, by.now, by.today);
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err("Ange varför betalningen tas bort från ärendet."));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    super::lock(&mut tx, super::Lock::Payments).await?;
    let row = sqlx::query!(
        "select claim_id, kind, amount from payment where payment_id = $1 for update",
        payment_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((Some(claim_id), amount)) =
        row.filter(|r| r.kind == "payment").map(|r| (r.claim_id, r.amount))
    else {
        return Ok(Err("Betalningen är inte kopplad till något ärende."));
    };
    let Some(rec) = claims::find(&mut tx, claim_id, None).await? else {
        return Ok(Err("Ärendet finns inte."));
    };
    let amount = Sek::from_decimal(amount);
    sqlx::query!(
        "update payment set claim_id = null, match_kind = null, matched_at = null, matched_by = null where payment_id = $1",
        payment_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into payment_reversal (payment_reversal_id, payment_id, claim_id, amount, reason, reversed_at, reversed_on, reversed_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        Uuid::new_v4(),
        payment_id,
        claim_id,
        amount.amount(),
        reason,
        now,
        today,
        user_id
    )
    .execute(&mut *tx)
    .await?;
    let entry = Entry::new(
        "match_reversed",
        format!("Betalning borttagen från ärende {}", rec.case_number),
    )
    .debit(Account::ClaimPayments, amount, Dims::claim(claim_id).with_payment(payment_id))
    .credit(Account::Unmatched, amount, Dims::payment(payment_id));
    ledger::post(&mut tx, &[entry], now, today, Some(user_id)).await?;
    let params = params.get(&mut tx).await?;
    ledger::sync_claims(&mut tx, &[claim_id], &params, today, now, Some(user_id)).await?;
    // Money already paid out cannot be taken back by a journal entry.
    let owed_back = sqlx::query!(
        r#"select coalesce(sum(amount) filter (where account = 'creditor_payable'), 0) as "capital!",
                  coalesce(sum(amount) filter (where account = 'refund_payable'), 0) as "refund!"
           from journal_line where claim_id = $1"#,
        claim_id
    )
    .fetch_one(&mut *tx)
    .await?;
    if owed_back.capital > Decimal::ZERO || owed_back.refund > Decimal::ZERO {
        return Ok(Err(
            "Betalningen kan inte tas bort: kapital eller överskott från den är redan utbetalt. Ta det med borgenären eller betalaren först.",
        ));
    }
    claims::reopen_if_owing(&mut tx, &rec, &params, today).await?;
    claims::add_event(
        &mut tx,
        claim_id,
        now,
        today,
        "payment_reversed",
        Some(user_id),
        json!({"payment_id": payment_id, "amount": amount, "reason": reason}),
        None,
    )
    .await?;
    by.audit(
        &mut tx,
        "payment_reversed",
        Some(&payment_id.to_string()),
        json!({"claim_id": claim_id, "case_number": rec.case_number, "amount": amount, "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((amount, rec.case_number)))
}

/// A bank file as the payments overview lists it.
#[derive(FromRow)]
pub struct FileRow {
    pub file_name: String,
    pub format: String,
    pub payment_count: i32,
    pub total: Decimal,
    pub first_booking: NaiveDate,
    pub last_booking: NaiveDate,
    pub imported_at: DateTime<Utc>,
    pub matched: i32,
}

impl FileRow {
    pub fn format_label(&self) -> &'static str {
        if self.format == "bgmax" { "BgMax" } else { "camt.054" }
    }
}

/// What the payments overview shows: the latest files, whether the previous bank day is
/// covered, the unmatched queue and the ledger's balances.
pub struct Overview {
    pub files: Vec<FileRow>,
    /// How the previous bank day is covered, in words; `None` when it is not.
    pub covered: Option<String>,
    pub unmatched_count: i64,
    pub unmatched_total: Decimal,
    pub balances: Vec<(String, Decimal)>,
}

pub async fn overview(
    conn: &mut PgConnection,
    previous_bank_day: NaiveDate,
) -> sqlx::Result<Overview> {
    let files: Vec<FileRow> = sqlx::query_as(
        "select f.file_name, f.format, f.payment_count, f.total, f.first_booking, f.last_booking, f.imported_at,
            f.matched_count as matched
         from bank_file f order by f.imported_at desc limit 50",
    )
    .fetch_all(&mut *conn)
    .await?;
    let covered: Option<(String, Option<String>, String)> = sqlx::query_as(
        "select d.kind, f.file_name, d.note from bank_day d left join bank_file f using (bank_file_id) where d.day = $1",
    )
    .bind(previous_bank_day)
    .fetch_optional(&mut *conn)
    .await?;
    let covered = covered.map(|(kind, file, note)| match (kind.as_str(), file) {
        ("file", Some(f)) => format!("täckt av bankfilen {f}"),
        _ if note.is_empty() => "markerad som dag utan fil".to_string(),
        _ => format!("markerad som dag utan fil ({note})"),
    });
    let (unmatched_count, unmatched_total): (i64, Option<Decimal>) = sqlx::query_as(
        "select count(*), sum(amount) from payment where claim_id is null and kind = 'payment' and not refunded",
    )
    .fetch_one(&mut *conn)
    .await?;
    let balances = ledger::balances(conn).await?;
    let unmatched_total = unmatched_total.unwrap_or_default();
    Ok(Overview { files, covered, unmatched_count, unmatched_total, balances })
}
