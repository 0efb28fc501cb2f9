//! Loads the effective-dated rule data (rule sets and reference rates) from the database.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::domain::rules::{RateTable, ReferenceRate, RuleBook, RuleSet};

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
                })
                .collect(),
        ),
    })
}
