//! What the staff dashboard reads, and the reference rates staff enter.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{auth::audit, domain::rules::RateEntry, parameters, payments::ledger};

/// Something a debtor or creditor is waiting for staff to do, with the claim page where it is done.
#[derive(sqlx::FromRow)]
pub struct Todo {
    pub claim_id: uuid::Uuid,
    pub invoice_number: String,
    pub debtor_name: String,
    pub what: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Creditors waiting for a decision, approved creditors, and active users.
pub async fn counts(conn: &mut PgConnection) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "select (select count(*) from creditor where status = 'pending'),
                (select count(*) from creditor where status = 'approved'),
                (select count(*) from app_user where disabled_at is null)",
    )
    .fetch_one(conn)
    .await
}

/// What waits for staff: maintained or reduced disputes need a decision (never Kronofogden);
/// address changes need a check against the population register, done on one of the
/// person's claims (the newest open one). Oldest first.
pub async fn todo(conn: &mut PgConnection) -> sqlx::Result<Vec<Todo>> {
    sqlx::query_as(
        "select c.claim_id, c.invoice_number, c.debtor_name,
                case d.answer when 'maintain' then 'Bestriden, borgenären står fast: beslut om stängning eller domstol'
                              else 'Bestriden, borgenären satte ned: beslut om stängning eller domstol' end as what,
                d.answered_at as since
         from dispute d join claim c on c.claim_id = d.claim_id
         where d.answer in ('maintain', 'reduce') and d.decision is null
         union all
         select c.claim_id, c.invoice_number, c.debtor_name,
                'Adressändring att kontrollera: ' || a.street || ', ' || a.postal_code || ' ' || a.city,
                a.created_at
         from address_change a
         join lateral (select claim_id, invoice_number, debtor_name from claim
                       where debtor_id_number = a.personal_number
                       order by state in ('paid', 'withdrawn', 'written_off'), registered_at desc limit 1) c on true
         where a.status = 'pending'
         order by since",
    )
    .fetch_all(conn)
    .await
}

/// What entering a rate changed.
#[derive(Debug, Default)]
pub struct RateChange {
    /// The rate it replaced (a correction), if any.
    pub previous: Option<Decimal>,
    /// Claims whose allocations were recomputed.
    pub claims_recomputed: usize,
    /// Claims the engine looks at again today (letters held for the rate).
    pub claims_woken: u64,
}

/// Enters (or corrects) the rate of a half-year, in its own transaction (a savepoint inside a
/// caller's).
#[allow(clippy::too_many_arguments)]
pub async fn set_reference_rate(
    conn: &mut PgConnection,
    entry: &RateEntry,
    decided_on: Option<NaiveDate>,
    source: &str,
    user: Option<Uuid>,
    ip: Option<&str>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<RateChange> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    // One rate change at a time, and none while payments allocate.
    crate::payments::lock(conn, crate::payments::Lock::Payments).await?;
    let previous: Option<Decimal> =
        sqlx::query_scalar("select percent from reference_rate where valid_from = $1")
            .bind(entry.valid_from)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query!("insert into reference_rate (valid_from, valid_to, percent, status, source, decided_on, updated_at, updated_by)
         values ($1, $2, $3, 'confirmed', $4, $5, $6, $7)
         on conflict (valid_from) do update set valid_to = excluded.valid_to, percent = excluded.percent,
             status = 'confirmed', source = excluded.source, decided_on = excluded.decided_on,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by", entry.valid_from, entry.valid_to, entry.percent, source, decided_on, now, user)
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        now,
        user,
        if previous.is_some() { "reference_rate_corrected" } else { "reference_rate_entered" },
        Some(&entry.valid_from.to_string()),
        serde_json::json!({"valid_from": entry.valid_from, "percent": entry.percent,
                           "previous": previous, "decided_on": decided_on, "source": source}),
        ip,
    )
    .await?;
    // Payments booked from the half-year on were allocated with the assumed or wrong rate.
    let params = parameters::load(conn).await?;
    let affected: Vec<Uuid> = sqlx::query_scalar(
        "select distinct claim_id from payment where claim_id is not null and kind = 'payment' and booked_on >= $1
         union
         select distinct claim_id from capital_reduction where on_date >= $1
         order by 1",
    )
    .bind(entry.valid_from)
    .fetch_all(&mut *conn)
    .await?;
    for chunk in affected.chunks(500) {
        ledger::sync_claims(conn, chunk, &params, today, now, user).await?;
    }
    // Letters held for the rate were put off to tomorrow; they may go out today.
    let woken = sqlx::query!(
        "update claim set next_action_on = $1
         where next_action_on > $1 and next_action_on <= $1 + 1
           and state in ('registered', 'reminder', 'collection', 'final_notice')",
        today
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(RateChange { previous, claims_recomputed: affected.len(), claims_woken: woken })
}

#[derive(sqlx::FromRow)]
pub struct RateRow {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub percent: Decimal,
    pub status: String,
    pub source: String,
    pub decided_on: Option<NaiveDate>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl RateRow {
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "confirmed" => "Fastställd",
            "derived" => "Härledd",
            _ => "Ej kontrollerad",
        }
    }

    /// Dröjsmålsränta: the rate plus the margin of the rule set in force then.
    pub fn late_rate(&self, margin: &Decimal) -> Decimal {
        self.percent + margin
    }
}

/// Every reference rate entered or derived, newest half-year first.
pub async fn rate_rows(conn: &mut PgConnection) -> sqlx::Result<Vec<RateRow>> {
    sqlx::query_as(
        "select valid_from, valid_to, percent, status, source, decided_on, updated_at
         from reference_rate order by valid_from desc",
    )
    .fetch_all(conn)
    .await
}

/// What the dashboard shows: the claims by state, money collected, the collection rate per
/// step, the engine's health and what waits for staff.
pub struct Dashboard {
    /// (state, claims), in lifecycle order.
    pub states: Vec<(String, i64)>,
    pub collected_week: Decimal,
    pub collected_month: Decimal,
    /// (letter kind, claims that got it, of them paid with no later letter).
    pub rates: Vec<(String, i64, i64)>,
    pub last_pass: Option<(NaiveDate, DateTime<Utc>)>,
    pub due_claims: i64,
    /// Letters, e-mails and webhook deliveries not yet out.
    pub backlog: (i64, i64, i64),
    /// Why the oldest waiting letter or e-mail did not go out, if a send failed.
    pub queue_error: Option<String>,
    pub unmatched_payments: i64,
    pub disputes_waiting: i64,
    pub tickets_open: i64,
    pub weeks: Vec<crate::tickets::Week>,
}

/// The dashboard's figures on `today`.
pub async fn dashboard(conn: &mut PgConnection, today: NaiveDate) -> sqlx::Result<Dashboard> {
    let counts: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from claim group by state")
            .fetch_all(&mut *conn)
            .await?;
    let order = [
        "registered",
        "reminder",
        "collection",
        "final_notice",
        "enforcement_ready",
        "paid",
        "withdrawn",
        "written_off",
    ];
    let states = order
        .iter()
        .map(|s| (s.to_string(), counts.iter().find(|(k, _)| k == s).map(|c| c.1).unwrap_or(0)))
        .collect();
    let (collected_week, collected_month): (Decimal, Decimal) = sqlx::query_as(
        "select coalesce(sum(amount) filter (where booked_on >= date_trunc('week', $1::date)::date), 0),
                coalesce(sum(amount) filter (where booked_on >= date_trunc('month', $1::date)::date), 0)
         from payment where kind = 'payment' and claim_id is not null and booked_on <= $1
           and booked_on >= date_trunc('month', $1::date)::date - 7",
    )
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    let rates: Vec<(String, i64, i64)> = sqlx::query_as(
        "with steps as (
             select c.claim_id, c.state,
                    array_agg(distinct l.kind) as kinds,
                    (array_agg(l.kind order by l.created_on desc, l.kind desc))[1] as last_kind
             from claim c join letter l on l.claim_id = c.claim_id
             where l.kind in ('reminder', 'collection', 'final_notice') and l.dispatched_on is not null
             group by c.claim_id, c.state)
         select k, count(*) filter (where k = any(kinds)), count(*) filter (where state = 'paid' and last_kind = k)
         from steps, unnest(array['reminder', 'collection', 'final_notice']) as k
         group by k order by array_position(array['reminder', 'collection', 'final_notice'], k)",
    )
    .fetch_all(&mut *conn)
    .await?;
    let last_pass: Option<(NaiveDate, DateTime<Utc>)> =
        sqlx::query_as("select business_date, finished_at from engine_status where id = 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (due_claims, letters, mails, hooks, unmatched_payments, disputes_waiting, tickets_open): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(
        "select (select count(*) from claim where next_action_on <= $1
                   and state in ('registered', 'reminder', 'collection', 'final_notice')),
                (select count(*) from outbox where done_at is null),
                (select count(*) from mail_queue where sent_at is null),
                (select count(*) from webhook_delivery where state = 'pending'),
                (select count(*) from payment where claim_id is null and not refunded),
                (select count(*) from dispute where (answer is null or (answer in ('maintain', 'reduce') and decision is null))),
                (select count(*) from ticket where status = 'open')",
    )
    .bind(today)
    .fetch_one(&mut *conn)
    .await?;
    let queue_error: Option<String> = sqlx::query_scalar(
        "select last_error from (
             select last_error, next_attempt_at from outbox where done_at is null and last_error is not null
             union all
             select last_error, next_attempt_at from mail_queue where sent_at is null and last_error is not null) q
         order by next_attempt_at limit 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let weeks = crate::tickets::weekly(conn, today, 8).await?;
    Ok(Dashboard {
        states,
        collected_week,
        collected_month,
        rates,
        last_pass,
        due_claims,
        backlog: (letters, mails, hooks),
        queue_error,
        unmatched_payments,
        disputes_waiting,
        tickets_open,
        weeks,
    })
}

// ---------------------------------------------------------------------------------------------
// Rule-set versions

/// Stores `set` as the version from its `valid_from`, which must be after `by.today`: a change
/// never rewrites the past. A coming version with that date is replaced (a correction before it
/// takes effect). Audited with the values that differ from the version it replaces or follows.
/// `Err` names the field and why.
pub async fn publish_rules(
    conn: &mut PgConnection,
    set: &crate::domain::rules::RuleSet,
    note: &str,
    by: &crate::auth::Acting<'_>,
) -> anyhow::Result<Result<(), (&'static str, String)>> {
    if set.valid_from <= by.today {
        return Ok(Err((
            "valid_from",
            "En ändring gäller från i morgon eller senare; det som redan gällt ändras aldrig."
                .into(),
        )));
    }
    let mut tx = sqlx::Connection::begin(conn).await?;
    // One rule change at a time: the audit names what the change is measured against.
    sqlx::query("select pg_advisory_xact_lock(hashtext('rule_set'))").execute(&mut *tx).await?;
    let before = crate::parameters::load(&mut tx).await?.book.in_force(set.valid_from).clone();
    let replaced = before.valid_from == set.valid_from;
    let params = serde_json::to_value(set)?;
    sqlx::query(
        "insert into rule_set (valid_from, params, created_at, note) values ($1, $2, $3, $4)
         on conflict (valid_from) do update set params = excluded.params, created_at = excluded.created_at, note = excluded.note",
    )
    .bind(set.valid_from)
    .bind(&params)
    .bind(by.now)
    .bind(note.trim())
    .execute(&mut *tx)
    .await?;
    let changes: Vec<serde_json::Value> = set
        .changes_from(&before)
        .into_iter()
        .map(|(key, from, to)| serde_json::json!({"key": key, "from": from, "to": to}))
        .collect();
    let action = if replaced { "rule_set_corrected" } else { "rule_set_published" };
    let detail =
        serde_json::json!({"valid_from": set.valid_from, "changes": changes, "note": note.trim()});
    by.audit(&mut tx, action, Some(&set.valid_from.to_string()), detail).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Withdraws a coming version (one that has not taken effect); `false` if there is none.
pub async fn withdraw_rules(
    conn: &mut PgConnection,
    valid_from: NaiveDate,
    by: &crate::auth::Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let gone = sqlx::query("delete from rule_set where valid_from = $1 and valid_from > $2")
        .bind(valid_from)
        .bind(by.today)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if gone {
        let detail = serde_json::json!({"valid_from": valid_from});
        by.audit(&mut tx, "rule_set_withdrawn", Some(&valid_from.to_string()), detail).await?;
    }
    tx.commit().await?;
    Ok(gone)
}
