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
use sqlx::PgConnection;
use uuid::Uuid;

use super::pain001;
use super::repo::*;
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

    pub(super) fn from_row(
        kind: &str,
        number: &str,
        clearing: Option<&str>,
    ) -> Option<Destination> {
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
        Ok(Destination { account: pain001::Account::Bankgiro(digits(&bg)) })
    }

    /// Clearing and account number as typed (validated).
    pub fn bank_account(
        clearing: &str,
        account: &str,
    ) -> Result<Destination, bank_account::AccountError> {
        let a = bank_account::validate(clearing, account)?;
        Ok(Destination {
            account: pain001::Account::BankAccount { clearing: a.clearing, account: a.account },
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
            Dims::default().with_creditor(creditor_id).with_settlement(settlement_id),
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

/// What a refund pays back: a claim's overpayment, or an unmatched payment.
#[derive(Clone, Copy, Debug)]
pub enum RefundOf {
    Claim(Uuid),
    Payment(Uuid),
}

/// Pays money owed back to `dest`: a payout waiting for the next batch, audited, in one
/// transaction. Refused (with the reason as the error) when nothing is owed back.
pub async fn refund(
    conn: &mut PgConnection,
    of: RefundOf,
    dest: &Destination,
    by: &Acting<'_>,
) -> Result<Sek> {
    let mut tx = begin(conn).await?;
    let refund = match of {
        RefundOf::Claim(claim_id) => of_claim(&mut tx, claim_id, dest, by).await?,
        RefundOf::Payment(payment_id) => of_payment(&mut tx, payment_id, by).await?,
    };
    refund.create(&mut tx, dest, by).await?;
    tx.commit().await?;
    Ok(refund.amount)
}

/// A claim's overpayment; a clearing and account number given by staff is kept as the
/// claim's refund account.
async fn of_claim(
    conn: &mut PgConnection,
    claim_id: Uuid,
    dest: &Destination,
    by: &Acting<'_>,
) -> Result<Refund> {
    if let pain001::Account::BankAccount { clearing, account } = &dest.account {
        sqlx::query!("insert into refund_account (claim_id, clearing, account, given_at, given_by) values ($1, $2, $3, $4, $5)
             on conflict (claim_id) do update set clearing = $2, account = $3, given_at = $4, given_by = $5", claim_id, clearing, account, by.now, by.user_id)
        .execute(&mut *conn)
        .await?;
    }
    let (case_number, payee): (i64, String) =
        sqlx::query_as("select case_number, debtor_name from claim where claim_id = $1 for update")
            .bind(claim_id)
            .fetch_one(&mut *conn)
            .await?;
    let owed = refunds_owed(conn, Some(claim_id)).await?;
    let amount = owed.first().map_or(Sek::ZERO, |r| Sek::from_decimal(r.owed));
    if !amount.is_positive() {
        bail!("Det finns inget att återbetala på ärendet.");
    }
    let reference = format!("Återbetalning ärende {case_number}");
    Ok(Refund { claim: Some(claim_id), payment: None, amount, payee, reference })
}

/// Unmatched money, back to the payer: moved from unmatched to refund payable in the journal.
async fn of_payment(conn: &mut PgConnection, payment_id: Uuid, by: &Acting<'_>) -> Result<Refund> {
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
    sqlx::query!("update payment set refunded = true where payment_id = $1", payment_id)
        .execute(&mut *conn)
        .await?;
    let payee = if payer.is_empty() { "Betalare".to_string() } else { payer };
    let reference = "Återbetalning av inbetalning".to_string();
    Ok(Refund { claim: None, payment: Some(payment_id), amount, payee, reference })
}

/// A payout of money owed back, on a claim or for an unmatched payment.
struct Refund {
    claim: Option<Uuid>,
    payment: Option<Uuid>,
    amount: Sek,
    payee: String,
    reference: String,
}

impl Refund {
    /// The payout row and its audit event.
    async fn create(
        &self,
        conn: &mut PgConnection,
        dest: &Destination,
        by: &Acting<'_>,
    ) -> Result<()> {
        let (kind, now) = ("refund", by.now);
        let (claim, payment, amount) = (self.claim, self.payment, self.amount);
        let (payee, reference) = (self.payee.as_str(), self.reference.as_str());
        let payout =
            insert_payout(conn, kind, None, claim, payment, amount, payee, dest, reference, now)
                .await?;
        let subject = claim.or(payment).map(|id| id.to_string());
        let detail = json!({"payout_id": payout, "amount": amount, "account": dest.display()});
        by.audit(conn, "refund_created", subject.as_deref(), detail).await?;
        Ok(())
    }
}

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

/// A step on a payout batch that answers with a message for the admin.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// Approve a draft batch (a second, different admin when it is over the limit).
    Approve,
    /// The bank executed the exported batch.
    Execute,
}

/// Takes `step` on the batch under its row lock, audited. Returns a message for the admin, or
/// why it cannot be done (nothing changes then).
pub async fn batch_step(
    conn: &mut PgConnection,
    batch_id: Uuid,
    step: Step,
    by: &Acting<'_>,
) -> Result<Result<&'static str, &'static str>> {
    let mut tx = begin(conn).await?;
    let (states, wrong): (&[&str], fn(&str) -> &'static str) = match step {
        Step::Approve => (&["draft"], |_| "Uppdraget är redan godkänt."),
        Step::Execute => (&["exported"], |state| match state {
            "executed" => "Uppdraget är redan markerat som utfört.",
            _ => "Exportera uppdraget till banken först.",
        }),
    };
    let b = match lock_batch(&mut tx, batch_id, states, wrong).await? {
        Ok(b) => b,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let done = match step {
        Step::Approve => approve(&mut tx, &b, by).await?,
        Step::Execute => mark_executed(&mut tx, &b, by).await?,
    };
    if done.is_ok() {
        tx.commit().await?;
    }
    Ok(done)
}

/// Approves the locked draft batch `b`.
async fn approve(
    conn: &mut PgConnection,
    b: &Batch,
    by: &Acting<'_>,
) -> Result<Result<&'static str, &'static str>> {
    let batch_id = b.batch_id;
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
    by.audit(conn, "payout_batch_approved", Some(&batch_id.to_string()), json!({})).await?;
    Ok(Ok(message))
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
    let b = match lock_batch(conn, batch_id, &["approved", "exported"], |state| match state {
        "executed" => "Uppdraget är redan utfört.",
        _ => "Uppdraget måste godkännas innan det exporteras.",
    })
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
                end_to_end_id: format!("F{}", p.payout_id.simple()).chars().take(35).collect(),
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

/// The bank executed the locked, exported batch `b`: the money leaves the bank account in the
/// journal.
async fn mark_executed(
    conn: &mut PgConnection,
    b: &Batch,
    by: &Acting<'_>,
) -> Result<Result<&'static str, &'static str>> {
    let batch_id = b.batch_id;
    let rows = payouts(conn, Some(batch_id)).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for p in &rows {
        let amount = Sek::from_decimal(p.amount);
        let out = Dims::default().with_payout(p.payout_id);
        let from = match (p.settlement_id, p.claim_id, p.payment_id) {
            _ if p.partner_statement_id.is_some() => (Account::CommissionPayable, out),
            (Some(s), _, _) => (
                Account::SettlementPayable,
                Dims { creditor: p.creditor_id, ..Dims::default() }
                    .with_settlement(s)
                    .with_payout(p.payout_id),
            ),
            (None, Some(c), _) => (Account::RefundPayable, Dims::claim(c).with_payout(p.payout_id)),
            (None, None, Some(pay)) => {
                (Account::RefundPayable, Dims::payment(pay).with_payout(p.payout_id))
            }
            _ => bail!("payout {} has nothing to pay from", p.payout_id),
        };
        entries.push(
            Entry::new("payout", format!("Utbetalning {} till {}", p.reference, p.payee_name))
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
    Ok(Ok("Uppdraget är markerat som utfört och bokfört."))
}

/// The note as CSV the way Swedish Excel opens it: UTF-8 with BOM, `;`, decimal comma.
pub fn note_csv(n: &Note) -> Vec<u8> {
    use crate::web::excel::{BOM, amount, cell};
    let mut s = format!("{BOM}Avräkning;Ärendenummer;Fakturanummer;Gäldenär;Inbetalt kapital\r\n");
    for l in &n.lines {
        s.push_str(&format!(
            "{};{};{};{};{}\r\n",
            n.number,
            l.case_number,
            cell(&l.invoice_number),
            cell(&l.debtor_name),
            amount(l.capital)
        ));
    }
    s.push_str(&format!("{};;;Summa;{}\r\n", n.number, amount(n.total.amount())));
    s.into_bytes()
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
    d.line_at(56.0, &format!("Datum {}", n.created_on), 10.0, Face::Regular);
    if !n.account.is_empty() {
        d.line_at(56.0, &format!("Utbetalas till {}", n.account), 10.0, Face::Regular);
    }
    d.space(12.0);
    d.row("Ärende · faktura · gäldenär", "Inbetalt kapital", 9.0, Face::Bold);
    for l in &n.lines {
        d.row(
            &format!("{} · {} · {}", l.case_number, l.invoice_number, l.debtor_name),
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
