//! The double-entry journal. Amounts are debit-positive; every entry sums to zero, and entries
//! are only ever appended (the database refuses updates and deletes). Balances shown anywhere
//! are sums over the journal.
//!
//! Accounts (with the dimensions their lines carry):
//! - `bank` — the client-funds account where payments arrive and payouts leave;
//! - `unmatched` (payment) — money not yet tied to a claim;
//! - `claim_payments` (claim, payment) — money received for a claim, until allocated (a payment
//!   matched by OCR as it is read is allocated in the entry that receives it, and never passes
//!   through here);
//! - `fee_income`, `interest_income` (claim) — Fordra's fees and late interest;
//! - `creditor_payable` (creditor, claim) — capital collected, owed to the creditor;
//! - `settlement_payable` (creditor, settlement) — settled, awaiting payout;
//! - `refund_payable` (claim or payment) — money owed back to a payer;
//! - `commission_payable`, `commission_expense` (claim) — partner commission earned when a fee
//!   is paid in full, owed to the partner until its statement is paid out
//!   (`payments::commission`).
//!
//! Allocation is kept equal to the claim's statement: after any money event the claim's
//! figures are recomputed by `domain::statement` and the difference to what the journal holds
//! is posted as one entry (a reversal, when an earlier allocation has to change).

use std::collections::HashMap;

use anyhow::{Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    claims::{self, ClaimRecord},
    db::copy,
    domain::books::{ClaimBooks, books_from_sums, target},
    domain::lifecycle::ClaimState,
    domain::{money::Sek, statement::Statement},
    parameters::Parameters,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    Bank,
    Unmatched,
    ClaimPayments,
    FeeIncome,
    InterestIncome,
    CreditorPayable,
    SettlementPayable,
    RefundPayable,
    CommissionPayable,
    CommissionExpense,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::Bank => "bank",
            Account::Unmatched => "unmatched",
            Account::ClaimPayments => "claim_payments",
            Account::FeeIncome => "fee_income",
            Account::InterestIncome => "interest_income",
            Account::CreditorPayable => "creditor_payable",
            Account::SettlementPayable => "settlement_payable",
            Account::RefundPayable => "refund_payable",
            Account::CommissionPayable => "commission_payable",
            Account::CommissionExpense => "commission_expense",
        }
    }

    pub fn label(name: &str) -> &'static str {
        match name {
            "bank" => "Klientmedelskonto (bank)",
            "unmatched" => "Omatchade inbetalningar",
            "claim_payments" => "Inbetalt, ej fördelat",
            "fee_income" => "Avgiftsintäkter",
            "interest_income" => "Ränteintäkter",
            "creditor_payable" => "Skuld till borgenärer",
            "settlement_payable" => "Avräknat, ej utbetalt",
            "refund_payable" => "Att återbetala",
            "commission_payable" => "Provision till partner",
            "commission_expense" => "Provisionskostnad",
            _ => "Okänt konto",
        }
    }
}

/// Which claim, creditor, payment, settlement or payout a line concerns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dims {
    pub claim: Option<Uuid>,
    pub creditor: Option<Uuid>,
    pub payment: Option<Uuid>,
    pub settlement: Option<Uuid>,
    pub payout: Option<Uuid>,
}

impl Dims {
    pub fn claim(claim: Uuid) -> Dims {
        Dims { claim: Some(claim), ..Dims::default() }
    }

    pub fn payment(payment: Uuid) -> Dims {
        Dims { payment: Some(payment), ..Dims::default() }
    }

    pub fn with_payment(mut self, payment: Uuid) -> Dims {
        self.payment = Some(payment);
        self
    }

    pub fn with_creditor(mut self, creditor: Uuid) -> Dims {
        self.creditor = Some(creditor);
        self
    }

    pub fn with_settlement(mut self, settlement: Uuid) -> Dims {
        self.settlement = Some(settlement);
        self
    }

    pub fn with_payout(mut self, payout: Uuid) -> Dims {
        self.payout = Some(payout);
        self
    }
}

#[derive(Clone, Debug)]
pub struct Line {
    pub account: Account,
    pub amount: Decimal,
    pub dims: Dims,
}

/// One journal entry under construction.
#[derive(Clone, Debug)]
pub struct Entry {
    pub kind: &'static str,
    pub memo: String,
    pub lines: Vec<Line>,
}

impl Entry {
    pub fn new(kind: &'static str, memo: impl Into<String>) -> Entry {
        Entry { kind, memo: memo.into(), lines: Vec::with_capacity(4) }
    }

    /// A line; zero amounts are left out.
    pub fn debit(mut self, account: Account, amount: Sek, dims: Dims) -> Entry {
        if !amount.is_zero() {
            self.lines.push(Line { account, amount: amount.amount(), dims });
        }
        self
    }

    pub fn credit(self, account: Account, amount: Sek, dims: Dims) -> Entry {
        self.debit(account, -amount, dims)
    }

    pub fn balanced(&self) -> bool {
        self.lines.iter().map(|l| l.amount).sum::<Decimal>().is_zero()
    }
}

/// Appends entries (in bulk). An unbalanced entry refuses the whole call before anything is
/// written; empty entries are skipped.
pub async fn post(
    conn: &mut PgConnection,
    entries: &[Entry],
    at: DateTime<Utc>,
    business_date: NaiveDate,
    user: Option<Uuid>,
) -> Result<()> {
    let entries: Vec<&Entry> = entries.iter().filter(|e| !e.lines.is_empty()).collect();
    if let Some(bad) = entries.iter().find(|e| !e.balanced()) {
        bail!("unbalanced journal entry {:?}: {:?}", bad.kind, bad.lines);
    }
    for chunk in entries.chunks(5000) {
        let ids: Vec<i64> = sqlx::query_scalar(
            "select nextval('journal_entry_entry_id_seq') from generate_series(1, $1)",
        )
        .bind(chunk.len() as i64)
        .fetch_all(&mut *conn)
        .await?;
        let at = copy::timestamp(at);
        let mut heads = copy::Rows::new();
        let mut lines = copy::Rows::new();
        for (id, e) in ids.iter().zip(chunk) {
            heads.value(id).value(&at).value(business_date).text(e.kind).text(&e.memo);
            heads.opt_value(user).end_row();
            for l in &e.lines {
                let d = &l.dims;
                lines.value(id).text(l.account.as_str()).value(l.amount).opt_value(d.claim);
                lines.opt_value(d.creditor).opt_value(d.payment).opt_value(d.settlement);
                lines.opt_value(d.payout).end_row();
            }
        }
        let head = "journal_entry (entry_id, at, business_date, kind, memo, user_id)";
        copy::copy_in(conn, head, heads).await?;
        let line = "journal_line (entry_id, account, amount, claim_id, creditor_id, payment_id, settlement_id, payout_id)";
        copy::copy_in(conn, line, lines).await?;
    }
    Ok(())
}

/// The books of each claim in `ids`.
pub async fn claim_books(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, ClaimBooks>> {
    let rows: Vec<(Uuid, String, String, Decimal)> = sqlx::query_as(
        "select l.claim_id, l.account, e.kind, sum(l.amount)
         from journal_line l join journal_entry e using (entry_id)
         where l.claim_id = any($1) group by 1, 2, 3",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let mut by_claim: HashMap<Uuid, Vec<(String, String, Decimal)>> = HashMap::new();
    for (claim, account, kind, sum) in rows {
        by_claim.entry(claim).or_default().push((account, kind, sum));
    }
    Ok(by_claim.into_iter().map(|(claim, sums)| (claim, books_from_sums(sums))).collect())
}

/// What happened to claims when their money was brought up to date.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub paid: Vec<Uuid>,
    pub overpaid: Vec<Uuid>,
}

/// Statements for claims, loaded in a few queries (for batches of payments).
pub async fn statements(
    conn: &mut PgConnection,
    recs: &[ClaimRecord],
    params: &Parameters,
    today: NaiveDate,
) -> Result<HashMap<Uuid, Statement>> {
    let ids: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    let fees = claims::fees_of(conn, &ids).await?;
    let moves = claims::movements_of(conn, &ids).await?;
    let mut out = HashMap::with_capacity(recs.len());
    for rec in recs {
        let claim_moves = moves.get(&rec.claim_id).map_or(&[][..], Vec::as_slice);
        // A booking date after the business date (a bank ahead of a fixed demo clock) still counts.
        let as_of = claim_moves.last().map_or(today, |m| today.max(m.date()));
        let s = claims::compute_statement(
            rec,
            fees.get(&rec.claim_id).map_or(&[], Vec::as_slice),
            claim_moves,
            params,
            as_of,
        )?;
        out.insert(rec.claim_id, s);
    }
    Ok(out)
}

/// Brings the journal of each claim in line with its statement, marks fully paid claims
/// `paid` (with a receipt to the debtor), and records cancelled fees and overpayments. Locks the
/// claims; call inside the transaction that changed their money.
pub async fn sync_claims(
    conn: &mut PgConnection,
    ids: &[Uuid],
    params: &Parameters,
    today: NaiveDate,
    now: DateTime<Utc>,
    user: Option<Uuid>,
) -> Result<SyncReport> {
    sync_claims_receiving(conn, ids, &[], params, today, now, user).await
}

/// A payment stored for a claim but not yet in the journal (an OCR match from a bank file).
pub struct Incoming {
    pub claim: Uuid,
    pub payment: Uuid,
    pub amount: Sek,
    pub memo: String,
}

/// [`sync_claims`], booking `incoming` payments too: each claim that receives payments gets one
/// entry (`payment_matched`) that takes the money into the bank and allocates it, instead of one
/// entry for the money and another for its allocation.
pub async fn sync_claims_receiving(
    conn: &mut PgConnection,
    ids: &[Uuid],
    incoming: &[Incoming],
    params: &Parameters,
    today: NaiveDate,
    now: DateTime<Utc>,
    user: Option<Uuid>,
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let mut arriving: HashMap<Uuid, Vec<&Incoming>> = HashMap::new();
    for i in incoming {
        arriving.entry(i.claim).or_default().push(i);
    }
    if ids.is_empty() {
        return Ok(report);
    }
    let recs: Vec<ClaimRecord> = sqlx::query_as(concat!(
        crate::claims::claim_select!(),
        " where c.claim_id = any($1) order by c.claim_id for update of c"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let locked: std::collections::HashSet<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    if let Some(lost) = incoming.iter().find(|i| !locked.contains(&i.claim)) {
        bail!(
            "payment {} is for claim {}, which is not being brought up to date",
            lost.payment,
            lost.claim
        );
    }
    let statements = statements(conn, &recs, params, today).await?;
    let books = claim_books(conn, ids).await?;
    let mut entries = Vec::new();
    let mut events: Vec<(Uuid, &'static str, serde_json::Value, Option<String>)> = Vec::new();
    let mut paid_events = Vec::new();
    let mut paid_mails: Vec<(String, String, String, Uuid)> = Vec::new();
    for rec in &recs {
        let s = &statements[&rec.claim_id];
        let want = target(s);
        let have = books.get(&rec.claim_id).copied().unwrap_or_default();
        let (fees, interest, capital, over) = (
            want.to_fees - have.to_fees,
            want.to_interest - have.to_interest,
            want.to_capital - have.to_capital,
            want.overpaid - have.overpaid,
        );
        let claim = Dims::claim(rec.claim_id);
        let moved = fees + interest + capital + over;
        let new = arriving.get(&rec.claim_id).map_or(&[][..], Vec::as_slice);
        let arrived = new.iter().fold(Sek::ZERO, |t, i| t + i.amount);
        let received = have.received + arrived;
        if want.received != received {
            bail!(
                "claim {}: the journal holds {} received but the statement {}",
                rec.claim_id,
                received,
                want.received
            );
        }
        let entry = match new {
            [] => Entry::new("allocation", format!("Fördelning ärende {}", rec.case_number)),
            [one] => Entry::new("payment_matched", one.memo.clone()),
            _ => Entry::new("payment_matched", format!("Inbetalningar ärende {}", rec.case_number)),
        };
        let entry = new
            .iter()
            .fold(entry, |e, i| {
                e.debit(Account::Bank, i.amount, Dims::claim(rec.claim_id).with_payment(i.payment))
            })
            .debit(Account::ClaimPayments, moved - arrived, claim)
            .credit(Account::FeeIncome, fees, claim)
            .credit(Account::InterestIncome, interest, claim)
            .credit(Account::CreditorPayable, capital, claim.with_creditor(rec.creditor_id))
            .credit(Account::RefundPayable, over, claim);
        if !entry.lines.is_empty() {
            entries.push(entry);
        }
        for f in s.fees.iter().filter(|f| f.cancelled) {
            events.push((
                rec.claim_id,
                "fee_cancelled",
                json!({"kind": f.kind.as_str(), "amount": f.amount}),
                Some(format!("fee_cancelled:{}", f.kind.as_str())),
            ));
        }
        if over.is_positive() {
            report.overpaid.push(rec.claim_id);
            events.push((rec.claim_id, "overpaid", json!({"amount": over}), None));
        }
        if !rec.state().is_terminal() && s.balance.is_zero() {
            report.paid.push(rec.claim_id);
            paid_events.push((rec.claim_id, "paid", json!({"paid": s.paid}), Some("paid".into())));
            if let Some(to) = &rec.debtor_email {
                paid_mails.push((
                    to.clone(),
                    format!("Kvitto – ärende {} är betalt", rec.case_number),
                    receipt_text(rec, s),
                    rec.claim_id,
                ));
            }
        }
    }
    post(conn, &entries, now, today, user).await?;
    super::commission::book(conn, &recs, &statements, params, (today, now), user).await?;
    // Guarded like every state change: a claim closed meanwhile stays as it is, with no receipt.
    let moved =
        claims::move_claims(conn, &report.paid, &claims::NOT_CLOSED, ClaimState::Paid).await?;
    report.paid.retain(|id| moved.contains(id));
    events.extend(paid_events.into_iter().filter(|e| report.paid.contains(&e.0)));
    let mails = paid_mails.into_iter().filter(|m| report.paid.contains(&m.3));
    if !events.is_empty() {
        sqlx::query("insert into claim_event (claim_id, at, business_date, kind, actor_user_id, detail, step_key)
             select c, $5, $6, k, $7, d, s from unnest($1::uuid[], $2::text[], $3::jsonb[], $4::text[]) as t(c, k, d, s)
             on conflict (claim_id, step_key) do nothing").bind(events.iter().map(|e| e.0).collect::<Vec<_>>()).bind(events.iter().map(|e| e.1).collect::<Vec<_>>()).bind(events.iter().map(|e| e.2.clone()).collect::<Vec<_>>()).bind(events.iter().map(|e| e.3.clone()).collect::<Vec<_>>()).bind(now).bind(today).bind(user)
        .execute(&mut *conn)
        .await?;
    }
    for (to, subject, body, claim) in mails {
        crate::mail::queue(conn, &to, &subject, &body, Some(claim), now).await?;
    }
    Ok(report)
}

/// The receipt a debtor gets when a claim is paid in full.
pub fn receipt_text(rec: &ClaimRecord, s: &Statement) -> String {
    #[derive(askama::Template)]
    #[template(path = "emails/receipt.txt")]
    struct Receipt<'a> {
        rec: &'a ClaimRecord,
        s: &'a Statement,
    }
    // Rendering plain text into a String only fails on a formatter error, which has none here.
    askama::Template::render(&Receipt { rec, s }).unwrap_or_default()
}

/// A problem `check` found, saying where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

/// Verifies the journal: every entry balances, the whole journal sums to zero, nothing is
/// left unallocated, each claim's books equal its statement (what its page shows), and no claim
/// both owes money and holds a surplus.
pub async fn check(
    conn: &mut PgConnection,
    params: &Parameters,
    today: NaiveDate,
) -> Result<(Vec<Problem>, CheckSummary)> {
    let mut problems = Vec::new();
    let unbalanced: Vec<(i64, Decimal)> = sqlx::query_as(
        "select entry_id, sum(amount) from journal_line group by entry_id having sum(amount) <> 0 order by entry_id limit 100",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (id, sum) in unbalanced {
        problems.push(Problem(format!("verifikation {id} balanserar inte (summa {sum})")));
    }
    let orphans: i64 = sqlx::query_scalar(
        "select count(*) from journal_line l where not exists (select 1 from journal_entry e where e.entry_id = l.entry_id)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if orphans > 0 {
        problems.push(Problem(format!(
            "{orphans} rader i huvudboken hör inte till någon verifikation"
        )));
    }
    let (entries, lines, total): (i64, i64, Option<Decimal>) = sqlx::query_as(
        "select (select count(*) from journal_entry), count(*), sum(amount) from journal_line",
    )
    .fetch_one(&mut *conn)
    .await?;
    let total = total.unwrap_or_default();
    if !total.is_zero() {
        problems.push(Problem(format!("huvudboken summerar till {total}, inte 0")));
    }
    // Money in the bank equals the payments read minus what was paid out.
    let (bank, files, payouts): (Option<Decimal>, Option<Decimal>, Option<Decimal>) = sqlx::query_as(
        "select (select sum(amount) from journal_line where account = 'bank'),
                (select sum(case kind when 'payment' then amount else -amount end) from payment),
                (select sum(p.amount) from payout p join payout_batch b using (batch_id) where b.state = 'executed')",
    )
    .fetch_one(&mut *conn)
    .await?;
    let expected_bank = files.unwrap_or_default() - payouts.unwrap_or_default();
    if bank.unwrap_or_default() != expected_bank {
        problems.push(Problem(format!(
            "bankkontot i huvudboken är {} men inlästa betalningar minus utbetalningar är {}",
            bank.unwrap_or_default(),
            expected_bank
        )));
    }
    // Every commission row is in the journal, and nothing else is.
    let (rows, booked): (Option<Decimal>, Option<Decimal>) = sqlx::query_as(
        "select (select sum(amount) from commission),
                (select sum(l.amount) from journal_line l join journal_entry e using (entry_id)
                 where e.kind = 'commission' and l.account = 'commission_expense')",
    )
    .fetch_one(&mut *conn)
    .await?;
    if rows.unwrap_or_default() != booked.unwrap_or_default() {
        problems.push(Problem(format!(
            "provisionen i huvudboken är {} men provisionsraderna summerar till {}",
            booked.unwrap_or_default(),
            rows.unwrap_or_default()
        )));
    }
    let mut claims_checked = 0;
    let mut after = Uuid::nil();
    loop {
        let recs: Vec<ClaimRecord> = sqlx::query_as(concat!(crate::claims::claim_select!(), " where c.claim_id > $1 and (exists (select 1 from payment p where p.claim_id = c.claim_id)
                 or exists (select 1 from journal_line l where l.claim_id = c.claim_id))
             order by c.claim_id limit 2000"))
        .bind(after)
        .fetch_all(&mut *conn)
        .await?;
        let Some(last) = recs.last() else { break };
        after = last.claim_id;
        let ids: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
        let statements = statements(conn, &recs, params, today).await?;
        let books = claim_books(conn, &ids).await?;
        for rec in &recs {
            claims_checked += 1;
            let want = target(&statements[&rec.claim_id]);
            let have = books.get(&rec.claim_id).copied().unwrap_or_default();
            let pairs = [
                ("inbetalt", want.received, have.received),
                ("till avgifter", want.to_fees, have.to_fees),
                ("till ränta", want.to_interest, have.to_interest),
                ("till kapital", want.to_capital, have.to_capital),
                ("överbetalt", want.overpaid, have.overpaid),
            ];
            for (what, w, h) in pairs {
                if w != h {
                    problems.push(Problem(format!(
                        "ärende {}: {what} är {h} i huvudboken men {w} enligt ärendets beräkning",
                        rec.case_number
                    )));
                }
            }
            if !have.unallocated.is_zero() {
                problems.push(Problem(format!(
                    "ärende {}: {} är inbetalt men inte fördelat",
                    rec.case_number, have.unallocated
                )));
            }
            let s = &statements[&rec.claim_id];
            // Money held pays what is owed before anything is refunded.
            let held = have.overpaid - have.refunded;
            if s.balance.is_positive() && held.is_positive() {
                problems.push(Problem(format!(
                    "ärende {}: är skyldigt {} men håller {} för återbetalning; överskottet ska betala skulden först",
                    rec.case_number, s.balance, held
                )));
            }
            if s.balance.is_zero() && !s.paid.is_zero() && !rec.state().is_terminal() {
                problems.push(Problem(format!(
                    "ärende {}: fullt betalt men har status {}",
                    rec.case_number, rec.state
                )));
            }
        }
    }
    Ok((problems, CheckSummary { entries, lines, claims: claims_checked }))
}

#[derive(Debug, Clone, Copy)]
pub struct CheckSummary {
    pub entries: i64,
    pub lines: i64,
    pub claims: u64,
}

/// Balances per account (for the back office).
pub async fn balances(conn: &mut PgConnection) -> sqlx::Result<Vec<(String, Decimal)>> {
    sqlx::query_as(
        "select account, sum(amount) from journal_line group by account order by account",
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_balance_and_skip_zero_lines() {
        let c = Uuid::new_v4();
        let e = Entry::new("allocation", "")
            .debit(Account::ClaimPayments, Sek::kronor(100), Dims::claim(c))
            .credit(Account::FeeIncome, Sek::kronor(60), Dims::claim(c))
            .credit(Account::InterestIncome, Sek::ZERO, Dims::claim(c))
            .credit(Account::CreditorPayable, Sek::kronor(40), Dims::claim(c));
        assert_eq!(e.lines.len(), 3);
        assert!(e.balanced());
        let bad = Entry::new("x", "").debit(Account::Bank, Sek::kronor(1), Dims::default());
        assert!(!bad.balanced());
    }
}
