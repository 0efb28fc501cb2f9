//! Loads the effective-dated rule data (rule sets and reference rates) from the database.
//!
//! The rate table is extended past the last published half-year with that rate, marked as
//! assumed: amounts over such days are shown as preliminary, and the engine holds letters that
//! would print them, so that a missing rate never stops a page, a bank file or the engine.

use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::domain::rules::{RateTable, ReferenceRate, RuleBook, RuleSet};

/// How far the last published rate is assumed to continue.
const PROJECTION_END: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

#[derive(Clone, Debug)]
pub struct Parameters {
    pub book: RuleBook,
    pub rates: RateTable,
}

/// How long a process reuses the rule data it loaded for pages. A change made on this process
/// is seen at once (it invalidates the cache); one made on another process within this time.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// The rule data for requests, loaded once per [`CACHE_TTL`] instead of twice a page.
#[derive(Default)]
pub struct Cache {
    loaded: std::sync::RwLock<Option<(std::time::Instant, Arc<Parameters>)>>,
}

impl Cache {
    pub async fn get(&self, conn: &mut PgConnection) -> Result<Arc<Parameters>> {
        if let Ok(guard) = self.loaded.read()
            && let Some((at, params)) = guard.as_ref()
            && at.elapsed() < CACHE_TTL
        {
            return Ok(params.clone());
        }
        let params = Arc::new(load(conn).await?);
        if let Ok(mut guard) = self.loaded.write() {
            *guard = Some((std::time::Instant::now(), params.clone()));
        }
        Ok(params)
    }

    /// Forgets the cached data (after this process changed a rate or a rule).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.loaded.write() {
            *guard = None;
        }
    }
}

pub async fn load(conn: &mut PgConnection) -> Result<Parameters> {
    let sets: Vec<(serde_json::Value,)> =
        sqlx::query_as("select params from rule_set order by valid_from")
            .fetch_all(&mut *conn)
            .await?;
    let sets = sets
        .into_iter()
        .map(|(v,)| serde_json::from_value::<RuleSet>(v).context("a rule_set row does not parse"))
        .collect::<Result<Vec<_>>>()?;
    anyhow::ensure!(!sets.is_empty(), "no rule set in the database");
    let rates: Vec<(NaiveDate, NaiveDate, Decimal)> = sqlx::query_as(
        "select valid_from, valid_to, percent from reference_rate order by valid_from",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Parameters {
        book: RuleBook::new(sets),
        rates: RateTable::new(
            rates
                .into_iter()
                .map(|(valid_from, valid_to, percent)| ReferenceRate {
                    valid_from,
                    valid_to,
                    percent,
                    projected: false,
                })
                .collect(),
        )
        .projected_to(PROJECTION_END),
    })
}

/// A rule-set version as the back office lists it.
#[derive(sqlx::FromRow)]
pub struct Version {
    pub valid_from: NaiveDate,
    pub note: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Every rule-set version, newest first.
pub async fn versions(conn: &mut PgConnection) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as("select valid_from, note, created_at from rule_set order by valid_from desc")
        .fetch_all(conn)
        .await
}

/// Stores `set` as the version from its `valid_from`, which must be after `by.today`: a change
/// never rewrites the past. A coming version with that date is replaced (a correction before it
/// takes effect). Audited with the values that differ from the version it replaces or follows.
/// `Err` names the field and why.
pub async fn publish(
    conn: &mut PgConnection,
    set: &RuleSet,
    note: &str,
    by: &crate::auth::Acting<'_>,
) -> Result<Result<(), (&'static str, String)>> {
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
    let before = load(&mut tx).await?.book.in_force(set.valid_from).clone();
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
pub async fn withdraw(
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
