//! Creditor settlements (avräkningar), refunds, and payout batches.
//!
//! A settlement moves each claim's collected capital from `creditor_payable` to
//! `settlement_payable` and creates one payout to the creditor's payout account in effect that
//! day. Refunds (overpayments, unmatched money) are payouts too. Payouts wait until an admin
//! gathers them into a batch; a payout row gets its batch once (`where batch_id is null`), so it
//! is never in two batches. A batch over the configured amount needs a second, different admin.
//! Exporting writes pain.001; marking the batch executed books the money out of the bank account.

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::pain001;
use crate::payments::ledger::{self, Account, Dims, Entry};
use crate::{
    auth::Acting,
    config::Identity,
    domain::{bank_account, calendar::add_bank_days, money::Sek, ocr},
    parameters::Parameters,
};

/// Where a payout goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    pub account: pain001::Account,
}

impl Destination {
    pub fn kind(&self) -> &'static str {
        match self.account {
            pain001::Account::Bankgiro(_) => "bankgiro",
            pain001::Account::BankAccount { .. } => "bank_account",
            pain001::Account::Iban(_) => "iban",
        }
    }

    pub fn number(&self) -> String {
        match &self.account {
            pain001::Account::Bankgiro(bg) => bg.clone(),
            pain001::Account::BankAccount { account, .. } => account.clone(),
            pain001::Account::Iban(iban) => iban.clone(),
        }
    }

    pub fn clearing(&self) -> Option<String> {
        match &self.account {
            pain001::Account::BankAccount { clearing, .. } => Some(clearing.clone()),
            _ => None,
        }
    }

    pub fn display(&self) -> String {
        display_account(self.kind(), &self.number(), self.clearing().as_deref())
    }

    fn from_row(kind: &str, number: &str, clearing: Option<&str>) -> Option<Destination> {
        Some(Destination {
            account: match kind {
                "bankgiro" => pain001::Account::Bankgiro(digits(number)),
                "bank_account" => pain001::Account::BankAccount {
                    clearing: clearing?.to_string(),
                    account: number.to_string(),
                },
                "iban" => pain001::Account::Iban(number.to_string()),
                _ => return None,
            },
        })
    }

    /// A bankgiro number as typed (validated).
    pub fn bankgiro(input: &str) -> Result<Destination, ocr::BankgiroError> {
        let bg = ocr::validate_bankgiro(input)?;
        Ok(Destination {
            account: pain001::Account::Bankgiro(digits(&bg)),
        })
    }

    /// Clearing and account number as typed (validated).
    pub fn bank_account(
        clearing: &str,
        account: &str,
    ) -> Result<Destination, bank_account::AccountError> {
        let a = bank_account::validate(clearing, account)?;
        Ok(Destination {
            account: pain001::Account::BankAccount {
                clearing: a.clearing,
                account: a.account,
            },
        })
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

pub fn display_account(kind: &str, number: &str, clearing: Option<&str>) -> String {
    match kind {
        "bankgiro" => {
            let d = digits(number);
            let split = d.len().saturating_sub(4);
            format!("Bankgiro {}-{}", &d[..split], &d[split..])
        }
        "bank_account" => format!("Konto {}-{}", clearing.unwrap_or(""), number),
        _ => format!("IBAN {number}"),
    }
}

/// kind, bankgiro, clearing, account, effective_from
type AccountRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDate,
);

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

#[allow(clippy::too_many_arguments)]
/// Registers a new payout account; it takes effect after the rule's number of bank days (a
/// hijacked login cannot redirect money that is about to be paid out). Returns that date.
pub async fn change_payout_account(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    dest: &Destination,
    params: &Parameters,
    by: &Acting<'_>,
) -> Result<NaiveDate> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let rules = params.book.in_force(by.today);
    let from = add_bank_days(by.today, rules.payout_account_delay_bank_days);
    // Keep the account in use until then, even if it was only on the creditor row.
    if let Some((current, since)) = payout_account(conn, creditor_id, by.today).await?
        && since == NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
    {
        insert_account(conn, creditor_id, &current, since, by.now, None).await?;
    }
    // A second change before the first took effect replaces it.
    sqlx::query!(
        "delete from payout_account where creditor_id = $1 and effective_from > $2",
        creditor_id,
        by.today
    )
    .execute(&mut *conn)
    .await?;
    insert_account(conn, creditor_id, dest, from, by.now, Some(by.user_id)).await?;
    by.audit(
        conn,
        "payout_account_changed",
        Some(&creditor_id.to_string()),
        json!({"account": dest.display(), "effective_from": from}),
    )
    .await?;
    tx.commit().await?;
    Ok(from)
}

async fn insert_account(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    dest: &Destination,
    from: NaiveDate,
    now: DateTime<Utc>,
    user: Option<Uuid>,
) -> sqlx::Result<()> {
    let (bg, clearing, account) = match &dest.account {
        pain001::Account::Bankgiro(bg) => (Some(bg.clone()), None, None),
        pain001::Account::BankAccount { clearing, account } => {
            (None, Some(clearing.clone()), Some(account.clone()))
        }
        pain001::Account::Iban(iban) => (None, None, Some(iban.clone())),
    };
    sqlx::query!("insert into payout_account (payout_account_id, creditor_id, kind, bankgiro, clearing, account, effective_from, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict (creditor_id, effective_from) do nothing", Uuid::new_v4(), creditor_id, if bg.is_some() { "bankgiro" } else { "bank_account" }, bg, clearing, account, from, now, user)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Default)]
pub struct RunReport {
    pub settlements: Vec<Uuid>,
    pub total: Sek,
    /// Creditors with money to settle but no payout account.
    pub without_account: Vec<String>,
}

/// Settles every creditor with collected capital: all of them when `force` (an admin's
/// "settle now"), else those whose last settlement is at least the interval old.
pub async fn run(
    conn: &mut PgConnection,
    params: &Parameters,
    today: NaiveDate,
    now: DateTime<Utc>,
    user: Option<Uuid>,
    force: bool,
) -> Result<RunReport> {
    crate::payments::lock(&mut *conn, crate::payments::Lock::Settlements).await?;
    let interval = i64::from(params.book.in_force(today).settlement_interval_days);
    let due: Vec<(Uuid, String)> = sqlx::query_as(
        "select cr.creditor_id, cr.name from creditor cr
         where (select sum(amount) from journal_line l where l.account = 'creditor_payable' and l.creditor_id = cr.creditor_id) < 0
           and ($1 or not exists (select 1 from settlement s where s.creditor_id = cr.creditor_id and s.created_on > $2::date - $3::int))
         order by cr.name",
    )
    .bind(force)
    .bind(today)
    .bind(interval as i32)
    .fetch_all(&mut *conn)
    .await?;
    let mut report = RunReport::default();
    for (creditor_id, name) in due {
        let Some((dest, _)) = payout_account(conn, creditor_id, today).await? else {
            report.without_account.push(name);
            continue;
        };
        let lines: Vec<(Uuid, Decimal)> = sqlx::query_as(
            "select claim_id, -sum(amount) from journal_line where account = 'creditor_payable' and creditor_id = $1
             group by claim_id having sum(amount) <> 0 order by claim_id",
        )
        .bind(creditor_id)
        .fetch_all(&mut *conn)
        .await?;
        let total: Sek = lines.iter().map(|(_, a)| Sek::from_decimal(*a)).sum();
        if !total.is_positive() {
            continue;
        }
        let settlement_id = Uuid::new_v4();
        let number: i64 = sqlx::query_scalar(
            "insert into settlement (settlement_id, creditor_id, period_to, created_on, created_at, created_by, capital, total)
             values ($1, $2, $3, $3, $4, $5, $6, $6) returning number",
        )
        .bind(settlement_id)
        .bind(creditor_id)
        .bind(today)
        .bind(now)
        .bind(user)
        .bind(total.amount())
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(
            "insert into settlement_line (settlement_id, claim_id, capital)
             select $1, c, a from unnest($2::uuid[], $3::numeric[]) as t(c, a)",
        )
        .bind(settlement_id)
        .bind(lines.iter().map(|l| l.0).collect::<Vec<_>>())
        .bind(lines.iter().map(|l| l.1).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        let mut entry = Entry::new("settlement", format!("Avräkning {number} {name}"));
        for (claim, amount) in &lines {
            entry = entry.debit(
                Account::CreditorPayable,
                Sek::from_decimal(*amount),
                Dims::claim(*claim).with_creditor(creditor_id),
            );
        }
        entry = entry.credit(
            Account::SettlementPayable,
            total,
            Dims::default()
                .with_creditor(creditor_id)
                .with_settlement(settlement_id),
        );
        ledger::post(conn, &[entry], now, today, user).await?;
        insert_payout(
            conn,
            "settlement",
            Some(settlement_id),
            None,
            None,
            total,
            &name,
            &dest,
            &format!("Avräkning {number} från Fordra"),
            now,
        )
        .await?;
        report.total += total;
        report.settlements.push(settlement_id);
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn insert_payout(
    conn: &mut PgConnection,
    kind: &str,
    settlement: Option<Uuid>,
    claim: Option<Uuid>,
    payment: Option<Uuid>,
    amount: Sek,
    payee: &str,
    dest: &Destination,
    reference: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::new_v4();
    sqlx::query!("insert into payout (payout_id, kind, settlement_id, claim_id, payment_id, amount, payee_name, account_kind, account, clearing, reference, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", id, kind, settlement, claim, payment, amount.amount(), payee, dest.kind(), dest.number(), dest.clearing(), reference, now)
    .execute(conn)
    .await?;
    Ok(id)
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

/// Pays back a claim's overpayment to `dest`.
pub async fn refund_claim(
    conn: &mut PgConnection,
    claim_id: Uuid,
    dest: &Destination,
    by: &Acting<'_>,
) -> Result<Sek> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    if let pain001::Account::BankAccount { clearing, account } = &dest.account {
        sqlx::query!("insert into refund_account (claim_id, clearing, account, given_at, given_by) values ($1, $2, $3, $4, $5)
             on conflict (claim_id) do update set clearing = $2, account = $3, given_at = $4, given_by = $5", claim_id, clearing, account, by.now, by.user_id)
        .execute(&mut *conn)
        .await?;
    }
    let (case_number, name): (i64, String) =
        sqlx::query_as("select case_number, debtor_name from claim where claim_id = $1 for update")
            .bind(claim_id)
            .fetch_one(&mut *conn)
            .await?;
    let amount = refunds_owed(conn, Some(claim_id))
        .await?
        .first()
        .map_or(Sek::ZERO, |r| Sek::from_decimal(r.owed));
    if !amount.is_positive() {
        bail!("Det finns inget att återbetala på ärendet.");
    }
    let refund = Refund {
        claim: Some(claim_id),
        payment: None,
        amount,
        payee: &name,
        reference: &format!("Återbetalning ärende {case_number}"),
    };
    refund.create(conn, dest, by).await?;
    tx.commit().await?;
    Ok(amount)
}

/// A payout of money owed back, on a claim or for an unmatched payment.
struct Refund<'a> {
    claim: Option<Uuid>,
    payment: Option<Uuid>,
    amount: Sek,
    payee: &'a str,
    reference: &'a str,
}

impl Refund<'_> {
    /// The payout row and its audit event.
    async fn create(
        &self,
        conn: &mut PgConnection,
        dest: &Destination,
        by: &Acting<'_>,
    ) -> Result<()> {
        let payout = insert_payout(
            conn,
            "refund",
            None,
            self.claim,
            self.payment,
            self.amount,
            self.payee,
            dest,
            self.reference,
            by.now,
        )
        .await?;
        let subject = self.claim.or(self.payment).map(|id| id.to_string());
        by.audit(
            conn,
            "refund_created",
            subject.as_deref(),
            json!({"payout_id": payout, "amount": self.amount, "account": dest.display()}),
        )
        .await?;
        Ok(())
    }
}

/// Gives unmatched money back to the payer.
pub async fn refund_unmatched(
    conn: &mut PgConnection,
    payment_id: Uuid,
    dest: &Destination,
    by: &Acting<'_>,
) -> Result<Sek> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let row: Option<(String, Option<Uuid>, bool, String)> = sqlx::query_as(
        "select payer_name, claim_id, refunded, kind from payment where payment_id = $1 for update",
    )
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((payer, None, false, kind)) = row else {
        bail!("Betalningen är redan kopplad eller återbetald.");
    };
    if kind != "payment" {
        bail!("Ett avdrag kan inte återbetalas.");
    }
    let balance: Option<Decimal> = sqlx::query_scalar(
        "select -sum(amount) from journal_line where account = 'unmatched' and payment_id = $1",
    )
    .bind(payment_id)
    .fetch_one(&mut *conn)
    .await?;
    let amount = Sek::from_decimal(balance.unwrap_or_default());
    if !amount.is_positive() {
        bail!("Det finns inga omatchade pengar kvar på betalningen.");
    }
    let pay = Dims::payment(payment_id);
    let entry = Entry::new("refund_unmatched", format!("Återbetalning till {payer}"))
        .debit(Account::Unmatched, amount, pay)
        .credit(Account::RefundPayable, amount, pay);
    ledger::post(conn, &[entry], by.now, by.today, Some(by.user_id)).await?;
    sqlx::query!(
        "update payment set refunded = true where payment_id = $1",
        payment_id
    )
    .execute(&mut *conn)
    .await?;
    let refund = Refund {
        claim: None,
        payment: Some(payment_id),
        amount,
        payee: if payer.is_empty() { "Betalare" } else { &payer },
        reference: "Återbetalning av inbetalning",
    };
    refund.create(conn, dest, by).await?;
    tx.commit().await?;
    Ok(amount)
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

pub fn state_label(state: &str) -> &'static str {
    match state {
        "draft" => "Väntar på godkännande",
        "approved" => "Godkänd, ej exporterad",
        "exported" => "Exporterad till banken",
        "executed" => "Utförd",
        _ => "Okänd",
    }
}

/// Gathers every payout not yet in a batch into a new batch.
pub async fn create_batch(
    conn: &mut PgConnection,
    params: &Parameters,
    by: &Acting<'_>,
) -> Result<Option<Uuid>> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    crate::payments::lock(&mut *conn, crate::payments::Lock::Batches).await?;
    let open: Vec<(Uuid, Decimal)> = sqlx::query_as(
        "select payout_id, amount from payout where batch_id is null order by created_at for update",
    )
    .fetch_all(&mut *conn)
    .await?;
    if open.is_empty() {
        return Ok(None);
    }
    let total: Sek = open.iter().map(|p| Sek::from_decimal(p.1)).sum();
    let needs_two = total > params.book.in_force(by.today).payout_dual_approval_over;
    let batch_id = Uuid::new_v4();
    sqlx::query!("insert into payout_batch (batch_id, created_at, created_by, payout_count, total, needs_two, state)
         values ($1, $2, $3, $4, $5, $6, 'draft')", batch_id, by.now, by.user_id, open.len() as i32, total.amount(), needs_two)
    .execute(&mut *conn)
    .await?;
    let moved = sqlx::query(
        "update payout set batch_id = $1 where payout_id = any($2) and batch_id is null",
    )
    .bind(batch_id)
    .bind(open.iter().map(|p| p.0).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await?;
    if moved.rows_affected() != open.len() as u64 {
        bail!("a payout was taken by another batch meanwhile");
    }
    by.audit(
        conn,
        "payout_batch_created",
        Some(&batch_id.to_string()),
        json!({"payouts": open.len(), "total": total, "needs_two": needs_two}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(batch_id))
}

pub async fn find_batch(conn: &mut PgConnection, batch_id: Uuid) -> sqlx::Result<Option<Batch>> {
    sqlx::query_as(&format!("{BATCH_SELECT} where b.batch_id = $1"))
        .bind(batch_id)
        .fetch_optional(conn)
        .await
}

/// Approves a draft batch. Returns a message for the admin, or why it cannot be done.
pub async fn approve(
    conn: &mut PgConnection,
    batch_id: Uuid,
    by: &Acting<'_>,
) -> Result<Result<&'static str, &'static str>> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let b = match lock_batch(
        conn,
        batch_id,
        &["draft"],
        |_| "Uppdraget är redan godkänt.",
    )
    .await?
    {
        Ok(b) => b,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let message = match b.approved_by {
        None => {
            let state = if b.needs_two { "draft" } else { "approved" };
            sqlx::query!("update payout_batch set approved_by = $2, approved_at = $3, state = $4 where batch_id = $1", batch_id, by.user_id, by.now, state)
                .execute(&mut *conn)
                .await?;
            if b.needs_two {
                "Godkänt. Uppdraget är över beloppsgränsen och behöver även godkännas av en annan administratör."
            } else {
                "Uppdraget är godkänt och kan exporteras."
            }
        }
        Some(first) if first == by.user_id => {
            return Ok(Err(
                "Du har redan godkänt uppdraget. En annan administratör måste göra det andra godkännandet.",
            ));
        }
        Some(_) => {
            sqlx::query!("update payout_batch set second_approved_by = $2, second_approved_at = $3, state = 'approved' where batch_id = $1", batch_id, by.user_id, by.now)
                .execute(&mut *conn)
                .await?;
            "Andra godkännandet är gjort. Uppdraget kan exporteras."
        }
    };
    by.audit(
        conn,
        "payout_batch_approved",
        Some(&batch_id.to_string()),
        json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(message))
}

/// Locks the batch's row until the transaction ends and reads it (one round trip), when it is
/// in one of `states`; otherwise the refusal `wrong` gives for its state.
async fn lock_batch(
    conn: &mut PgConnection,
    batch_id: Uuid,
    states: &[&str],
    wrong: impl Fn(&str) -> &'static str,
) -> Result<Result<Batch, &'static str>> {
    let b: Option<Batch> = sqlx::query_as(&format!(
        "{BATCH_SELECT} where b.batch_id = $1 for update of b"
    ))
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
        r#"select p.payout_id, p.kind, p.settlement_id, p.claim_id, p.payment_id,
            s.creditor_id as "creditor_id?", p.amount, p.payee_name,
            p.account_kind, p.account, p.clearing, p.reference
         from payout p left join settlement s using (settlement_id)
         where p.batch_id is not distinct from $1 order by p.created_at, p.payout_id"#,
        batch_id
    )
    .fetch_all(conn)
    .await
}

/// The pain.001 file of an approved batch (the same message id every time it is exported).
pub async fn export(
    conn: &mut PgConnection,
    batch_id: Uuid,
    identity: &Identity,
    by: &Acting<'_>,
) -> Result<Result<(String, String), &'static str>> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let b = match lock_batch(
        conn,
        batch_id,
        &["approved", "exported"],
        |state| match state {
            "executed" => "Uppdraget är redan utfört.",
            _ => "Uppdraget måste godkännas innan det exporteras.",
        },
    )
    .await?
    {
        Ok(b) => b,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let message_id = format!("FORDRA-UTB-{}", b.number);
    let rows = payouts(conn, Some(batch_id)).await?;
    let transfers: Vec<pain001::Transfer> = rows
        .iter()
        .filter_map(|p| {
            let dest = Destination::from_row(&p.account_kind, &p.account, p.clearing.as_deref())?;
            Some(pain001::Transfer {
                end_to_end_id: format!("F{}", p.payout_id.simple())
                    .chars()
                    .take(35)
                    .collect(),
                amount: Sek::from_decimal(p.amount),
                name: p.payee_name.clone(),
                account: dest.account,
                remittance: p.reference.clone(),
            })
        })
        .collect();
    if transfers.len() != rows.len() {
        bail!("a payout in batch {} has an unusable account", b.number);
    }
    let xml = pain001::write(&pain001::Initiation {
        message_id: &message_id,
        created: by.now.naive_utc(),
        execution_date: crate::domain::calendar::roll_forward(by.today),
        debtor_name: &identity.name,
        debtor_org_nr: &identity.org_nr,
        debtor_iban: &identity.iban,
        debtor_bic: &identity.bic,
        transfers: &transfers,
    });
    sqlx::query!("update payout_batch set state = 'exported', message_id = $2, exported_at = coalesce(exported_at, $3) where batch_id = $1", batch_id, &message_id, by.now)
    .execute(&mut *conn)
    .await?;
    by.audit(
        conn,
        "payout_batch_exported",
        Some(&batch_id.to_string()),
        json!({"message_id": message_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok((format!("{message_id}.xml"), xml)))
}

/// The bank executed the batch: the money leaves the bank account in the journal.
pub async fn mark_executed(
    conn: &mut PgConnection,
    batch_id: Uuid,
    by: &Acting<'_>,
) -> Result<Result<&'static str, &'static str>> {
    let mut tx = begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let b = match lock_batch(conn, batch_id, &["exported"], |state| match state {
        "executed" => "Uppdraget är redan markerat som utfört.",
        _ => "Exportera uppdraget till banken först.",
    })
    .await?
    {
        Ok(b) => b,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let rows = payouts(conn, Some(batch_id)).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for p in &rows {
        let amount = Sek::from_decimal(p.amount);
        let out = Dims::default().with_payout(p.payout_id);
        let from = match (p.settlement_id, p.claim_id, p.payment_id) {
            (Some(s), _, _) => (
                Account::SettlementPayable,
                Dims {
                    creditor: p.creditor_id,
                    ..Dims::default()
                }
                .with_settlement(s)
                .with_payout(p.payout_id),
            ),
            (None, Some(c), _) => (
                Account::RefundPayable,
                Dims::claim(c).with_payout(p.payout_id),
            ),
            (None, None, Some(pay)) => (
                Account::RefundPayable,
                Dims::payment(pay).with_payout(p.payout_id),
            ),
            _ => bail!("payout {} has nothing to pay from", p.payout_id),
        };
        entries.push(
            Entry::new(
                "payout",
                format!("Utbetalning {} till {}", p.reference, p.payee_name),
            )
            .debit(from.0, amount, from.1)
            .credit(Account::Bank, amount, out),
        );
    }
    ledger::post(conn, &entries, by.now, by.today, Some(by.user_id)).await?;
    sqlx::query!("update payout_batch set state = 'executed', executed_at = $2, executed_by = $3, execution_date = $4 where batch_id = $1", batch_id, by.now, by.user_id, by.today)
    .execute(&mut *conn)
    .await?;
    by.audit(
        conn,
        "payout_batch_executed",
        Some(&batch_id.to_string()),
        json!({"payouts": rows.len(), "total": b.total}),
    )
    .await?;
    tx.commit().await?;
    Ok(Ok("Uppdraget är markerat som utfört och bokfört."))
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

fn comma(d: Decimal) -> String {
    Sek::from_decimal(d).to_plain().replace('.', ",")
}

/// The note as CSV the way Swedish Excel opens it: UTF-8 with BOM, `;`, decimal comma.
pub fn note_csv(n: &Note) -> Vec<u8> {
    let mut s =
        String::from("\u{feff}Avräkning;Ärendenummer;Fakturanummer;Gäldenär;Inbetalt kapital\r\n");
    for l in &n.lines {
        s.push_str(&format!(
            "{};{};{};{};{}\r\n",
            n.number,
            l.case_number,
            csv_field(&l.invoice_number),
            csv_field(&l.debtor_name),
            comma(l.capital)
        ));
    }
    s.push_str(&format!(
        "{};;;Summa;{}\r\n",
        n.number,
        comma(n.total.amount())
    ));
    s.into_bytes()
}

fn csv_field(s: &str) -> String {
    // A leading = + - @ would make Excel run a formula.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub fn note_pdf(n: &Note, identity: &Identity) -> Vec<u8> {
    use crate::letters::pdf::{Document, Face};
    let mut d = Document::new();
    d.line_at(56.0, &identity.name, 10.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("Org.nr {} · {}", identity.org_nr, identity.address),
        8.0,
        Face::Regular,
    );
    d.space(18.0);
    d.line_at(56.0, &format!("Avräkning {}", n.number), 16.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("{} (org.nr {})", n.creditor_name, n.creditor_org_nr),
        10.0,
        Face::Regular,
    );
    d.line_at(
        56.0,
        &format!("Datum {}", n.created_on),
        10.0,
        Face::Regular,
    );
    if !n.account.is_empty() {
        d.line_at(
            56.0,
            &format!("Utbetalas till {}", n.account),
            10.0,
            Face::Regular,
        );
    }
    d.space(12.0);
    d.row(
        "Ärende · faktura · gäldenär",
        "Inbetalt kapital",
        9.0,
        Face::Bold,
    );
    for l in &n.lines {
        d.row(
            &format!(
                "{} · {} · {}",
                l.case_number, l.invoice_number, l.debtor_name
            ),
            &Sek::from_decimal(l.capital).to_string(),
            9.0,
            Face::Regular,
        );
    }
    d.space(6.0);
    d.row("Att utbetala", &n.total.to_string(), 10.0, Face::Bold);
    d.space(12.0);
    d.paragraph(
        "Avräkningen avser kapital som gäldenärerna betalat till Fordra. Lagstadgade avgifter och dröjsmålsränta tillfaller Fordra enligt villkoren.",
        8.0,
        Face::Regular,
    );
    d.finish()
}

// ---------------------------------------------------------------------------------------------
// The transactions behind the payout pages. Each owns its transaction (a savepoint when the
// caller already has one) and commits only when the action was done.

/// Begins a transaction (a savepoint inside the caller's).
async fn begin(conn: &mut PgConnection) -> sqlx::Result<sqlx::Transaction<'_, sqlx::Postgres>> {
    sqlx::Connection::begin(conn).await
}

/// A settlement run started by an admin, audited.
pub async fn run_by_admin(
    conn: &mut PgConnection,
    params: &Parameters,
    by: &Acting<'_>,
) -> Result<RunReport> {
    let mut tx = begin(conn).await?;
    let report = run(&mut tx, params, by.today, by.now, Some(by.user_id), true).await?;
    by.audit(
        &mut tx,
        "settlements_run",
        None,
        json!({"settlements": report.settlements.len(), "total": report.total}),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_excel_friendly() {
        let n = Note {
            settlement_id: Uuid::nil(),
            number: 1001,
            creditor_id: Uuid::nil(),
            creditor_name: "A".into(),
            creditor_org_nr: "x".into(),
            created_on: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            total: Sek::new(1234, 50),
            account: String::new(),
            paid_out: false,
            lines: vec![NoteLine {
                claim_id: Uuid::nil(),
                case_number: 1000001,
                invoice_number: "=HYPERLINK(1)".into(),
                debtor_name: "Svensson; Anna".into(),
                capital: Decimal::new(123450, 2),
            }],
        };
        let csv = String::from_utf8(note_csv(&n)).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        assert!(csv.contains("1000001;'=HYPERLINK(1);\"Svensson; Anna\";1234,50\r\n"));
        assert!(csv.ends_with("1001;;;Summa;1234,50\r\n"));
    }
}
