//! The SQL that reads payouts: payout accounts, refunds owed, payout batches and their
//! payouts, settlements and their notes. Every function takes the caller's connection.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::service::{Destination, display_account};
use crate::domain::money::Sek;

/// kind, bankgiro, clearing, account, effective_from
type AccountRow = (String, Option<String>, Option<String>, Option<String>, NaiveDate);

/// number, creditor, name, org.nr, created on, total, payout account kind, account, clearing, batch state
type NoteHead = (
    i64,
    Uuid,
    String,
    String,
    NaiveDate,
    Decimal,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The creditor's payout account in effect on `day`.
pub async fn payout_account(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    day: NaiveDate,
) -> sqlx::Result<Option<(Destination, NaiveDate)>> {
    let row: Option<AccountRow> = sqlx::query_as(
        "select kind, bankgiro, clearing, account, effective_from from payout_account
             where creditor_id = $1 and effective_from <= $2 order by effective_from desc limit 1",
    )
    .bind(creditor_id)
    .bind(day)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((kind, bg, clearing, account, from)) = row {
        let number = if kind == "bankgiro" { bg } else { account };
        return Ok(number
            .and_then(|n| Destination::from_row(&kind, &n, clearing.as_deref()))
            .map(|d| (d, from)));
    }
    // The account given at sign-up, before any change was made.
    let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "select payout_bankgiro, payout_clearing, payout_account from creditor where creditor_id = $1",
    )
    .bind(creditor_id)
    .fetch_optional(&mut *conn)
    .await?;
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date");
    Ok(match row {
        Some((Some(bg), _, _)) => Destination::from_row("bankgiro", &bg, None).map(|d| (d, epoch)),
        Some((None, Some(c), Some(a))) => {
            Destination::from_row("bank_account", &a, Some(&c)).map(|d| (d, epoch))
        }
        _ => None,
    })
}

/// A pending change (taking effect after `today`), if any.
pub async fn pending_account(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    today: NaiveDate,
) -> sqlx::Result<Option<(Destination, NaiveDate)>> {
    let row: Option<AccountRow> = sqlx::query_as(
        "select kind, bankgiro, clearing, account, effective_from from payout_account
             where creditor_id = $1 and effective_from > $2 order by effective_from desc limit 1",
    )
    .bind(creditor_id)
    .bind(today)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|(kind, bg, clearing, account, from)| {
        let number = if kind == "bankgiro" { bg } else { account };
        number
            .and_then(|n| Destination::from_row(&kind, &n, clearing.as_deref()))
            .map(|d| (d, from))
    }))
}

/// Money owed back on a claim and not yet in a payout, with the account the payer gave.
#[derive(Clone, Debug, FromRow)]
pub struct RefundOwed {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub debtor_name: String,
    pub owed: Decimal,
    pub clearing: Option<String>,
    pub account: Option<String>,
}

/// Claims (one, or all) with an overpayment not yet in a payout: the refund-payable balance
/// minus refund payouts not yet executed.
pub async fn refunds_owed(
    conn: &mut PgConnection,
    claim: Option<Uuid>,
) -> sqlx::Result<Vec<RefundOwed>> {
    sqlx::query_as!(
        RefundOwed,
        r#"with owed as (
            select l.claim_id, -sum(l.amount) as owed from journal_line l
            where l.account = 'refund_payable' and l.claim_id is not null and ($1::uuid is null or l.claim_id = $1)
            group by l.claim_id having sum(l.amount) < 0),
         pending as (
            select p.claim_id, sum(p.amount) as amount from payout p left join payout_batch b using (batch_id)
            where p.kind = 'refund' and p.claim_id is not null and (b.state is null or b.state <> 'executed') group by p.claim_id)
         select c.claim_id, c.case_number, c.debtor_name, o.owed - coalesce(pe.amount, 0) as "owed!",
                ra.clearing as "clearing?", ra.account as "account?"
         from owed o join claim c using (claim_id) left join pending pe using (claim_id) left join refund_account ra using (claim_id)
         where o.owed - coalesce(pe.amount, 0) > 0 order by c.case_number"#,
        claim
    )
    .fetch_all(conn)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct Batch {
    pub batch_id: Uuid,
    pub number: i64,
    pub created_at: DateTime<Utc>,
    pub payout_count: i32,
    pub total: Decimal,
    pub needs_two: bool,
    pub state: String,
    pub approved_by: Option<Uuid>,
    pub approver: Option<String>,
    pub second_approved_by: Option<Uuid>,
    pub second_approver: Option<String>,
    pub message_id: Option<String>,
    pub exported_at: Option<DateTime<Utc>>,
    pub executed_at: Option<DateTime<Utc>>,
    pub execution_date: Option<NaiveDate>,
}

pub const BATCH_SELECT: &str = "select b.batch_id, b.number, b.created_at, b.payout_count, b.total, b.needs_two, b.state,
        b.approved_by, u1.email as approver, b.second_approved_by, u2.email as second_approver, b.message_id,
        b.exported_at, b.executed_at, b.execution_date
    from payout_batch b left join app_user u1 on u1.user_id = b.approved_by
        left join app_user u2 on u2.user_id = b.second_approved_by";

pub async fn find_batch(conn: &mut PgConnection, batch_id: Uuid) -> sqlx::Result<Option<Batch>> {
    sqlx::query_as(&format!("{BATCH_SELECT} where b.batch_id = $1"))
        .bind(batch_id)
        .fetch_optional(conn)
        .await
}

/// Locks the batch's row until the transaction ends and reads it (one round trip), when it is
/// in one of `states`; otherwise the refusal `wrong` gives for its state.
pub async fn lock_batch(
    conn: &mut PgConnection,
    batch_id: Uuid,
    states: &[&str],
    wrong: impl Fn(&str) -> &'static str,
) -> sqlx::Result<Result<Batch, &'static str>> {
    let b: Option<Batch> =
        sqlx::query_as(&format!("{BATCH_SELECT} where b.batch_id = $1 for update of b"))
            .bind(batch_id)
            .fetch_optional(conn)
            .await?;
    Ok(match b {
        None => Err("Uppdraget finns inte."),
        Some(b) if states.contains(&b.state.as_str()) => Ok(b),
        Some(b) => Err(wrong(&b.state)),
    })
}

#[derive(Clone, Debug, FromRow)]
pub struct PayoutRow {
    pub payout_id: Uuid,
    pub kind: String,
    pub settlement_id: Option<Uuid>,
    pub claim_id: Option<Uuid>,
    pub payment_id: Option<Uuid>,
    pub partner_statement_id: Option<Uuid>,
    pub creditor_id: Option<Uuid>,
    pub amount: Decimal,
    pub payee_name: String,
    pub account_kind: String,
    pub account: String,
    pub clearing: Option<String>,
    pub reference: String,
}

impl PayoutRow {
    pub fn account_display(&self) -> String {
        display_account(&self.account_kind, &self.account, self.clearing.as_deref())
    }
}

pub async fn payouts(
    conn: &mut PgConnection,
    batch_id: Option<Uuid>,
) -> sqlx::Result<Vec<PayoutRow>> {
    sqlx::query_as!(
        PayoutRow,
        r#"select p.payout_id, p.kind, p.settlement_id, p.claim_id, p.payment_id, p.partner_statement_id,
            s.creditor_id as "creditor_id?", p.amount, p.payee_name,
            p.account_kind, p.account, p.clearing, p.reference
         from payout p left join settlement s using (settlement_id)
         where p.batch_id is not distinct from $1 order by p.created_at, p.payout_id"#,
        batch_id
    )
    .fetch_all(conn)
    .await
}

/// A settlement note: what was collected per claim.
#[derive(Clone, Debug)]
pub struct Note {
    pub settlement_id: Uuid,
    pub number: i64,
    pub creditor_id: Uuid,
    pub creditor_name: String,
    pub creditor_org_nr: String,
    pub created_on: NaiveDate,
    pub total: Sek,
    pub account: String,
    pub paid_out: bool,
    pub lines: Vec<NoteLine>,
}

#[derive(Clone, Debug, FromRow)]
pub struct NoteLine {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub invoice_number: String,
    pub debtor_name: String,
    pub capital: Decimal,
}

/// The note of `settlement_id`, if it belongs to `creditor` (any creditor when `None`).
pub async fn note(
    conn: &mut PgConnection,
    settlement_id: Uuid,
    creditor: Option<Uuid>,
) -> sqlx::Result<Option<Note>> {
    let head: Option<NoteHead> =
        sqlx::query_as(
            "select s.number, s.creditor_id, cr.name, cr.org_nr, s.created_on, s.total, p.account_kind, p.account, p.clearing, b.state
             from settlement s join creditor cr using (creditor_id)
             left join payout p using (settlement_id) left join payout_batch b using (batch_id)
             where s.settlement_id = $1 and ($2::uuid is null or s.creditor_id = $2)",
        )
        .bind(settlement_id)
        .bind(creditor)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((number, creditor_id, name, org, created_on, total, kind, account, clearing, state)) =
        head
    else {
        return Ok(None);
    };
    let lines: Vec<NoteLine> = sqlx::query_as(
        "select l.claim_id, c.case_number, c.invoice_number, c.debtor_name, l.capital
         from settlement_line l join claim c using (claim_id) where l.settlement_id = $1 order by c.case_number",
    )
    .bind(settlement_id)
    .fetch_all(conn)
    .await?;
    Ok(Some(Note {
        settlement_id,
        number,
        creditor_id,
        creditor_name: name,
        creditor_org_nr: crate::domain::ids::IdNumber::from_stored(&org).display(),
        created_on,
        total: Sek::from_decimal(total),
        account: match (kind, account) {
            (Some(k), Some(a)) => display_account(&k, &a, clearing.as_deref()),
            _ => String::new(),
        },
        paid_out: state.as_deref() == Some("executed"),
        lines,
    }))
}

/// A settlement as the lists show it.
#[derive(FromRow)]
pub struct SettlementRow {
    pub settlement_id: Uuid,
    pub number: i64,
    pub creditor_name: String,
    pub created_on: NaiveDate,
    pub total: Decimal,
    pub lines: i64,
    pub batch_state: Option<String>,
}

/// Settlements, newest first: one creditor's, or everyone's; `limit` `None` for all.
pub async fn settlement_rows(
    conn: &mut PgConnection,
    creditor: Option<Uuid>,
    limit: Option<i64>,
) -> sqlx::Result<Vec<SettlementRow>> {
    sqlx::query_as(
        "select s.settlement_id, s.number, cr.name as creditor_name, s.created_on, s.total,
            (select count(*) from settlement_line l where l.settlement_id = s.settlement_id) as lines, b.state as batch_state
         from settlement s join creditor cr using (creditor_id)
         left join payout p using (settlement_id) left join payout_batch b using (batch_id)
         where $1::uuid is null or s.creditor_id = $1
         order by s.number desc limit $2",
    )
    .bind(creditor)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The latest payout batches, newest first.
pub async fn recent_batches(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<Batch>> {
    sqlx::query_as(&format!("{BATCH_SELECT} order by b.number desc limit $1"))
        .bind(limit)
        .fetch_all(conn)
        .await
}

/// The creditor's capital collected and not yet settled.
pub async fn to_settle(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Sek> {
    let owed: Option<Decimal> = sqlx::query_scalar(
        "select -sum(amount) from journal_line where account = 'creditor_payable' and creditor_id = $1",
    )
    .bind(creditor_id)
    .fetch_one(conn)
    .await?;
    Ok(Sek::from_decimal(owed.unwrap_or_default()))
}
