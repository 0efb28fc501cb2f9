//! Loads the effective-dated rule data (rule sets and reference rates) from the database.
//!
//! The rate table is extended past the last published half-year with that rate, marked as
//! assumed: amounts over such days are shown as preliminary, and the engine holds letters that
//! would print them, so that a missing rate never stops a page, a bank file or the engine.

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
