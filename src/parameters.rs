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

use crate::domain::{
    rules::{RateTable, ReferenceRate, RuleBook, RuleSet},
    wording::{self, Wording},
};

/// How far the last published rate is assumed to continue.
const PROJECTION_END: NaiveDate = match NaiveDate::from_ymd_opt(2100, 12, 31) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

#[derive(Clone, Debug)]
pub struct Parameters {
    pub book: RuleBook,
    pub rates: RateTable,
    /// The lifecycle letters' wording, by version.
    pub wording: Wording,
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
    let texts: Vec<(String, String, NaiveDate, String)> = sqlx::query_as(
        "select kind, version, published_on, body from terms where kind like 'letter\\_%'",
    )
    .fetch_all(&mut *conn)
    .await?;
    let versions = texts
        .into_iter()
        .map(|(kind, version, from, body)| {
            let blocks = wording::parse_blocks(&body)
                .map_err(|e| anyhow::anyhow!("letter wording {kind} {version}: {e}"))?;
            Ok(wording::Version { kind, version, from, blocks })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Parameters {
        wording: Wording::new(versions),
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
