//! Rule parameters: every fee, rate margin and day count is data with an effective date, never a
//! literal in the rules. The caller picks the set in force on the relevant date.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Sek;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// days / 365 (Kronofogden's calculator and most practice).
    Actual365,
    /// days / 365 or 366 by the year of each segment.
    ActualActual,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    pub valid_from: NaiveDate,
    pub reminder_fee: Sek,
    pub collection_fee: Sek,
    pub payment_plan_fee: Sek,
    /// Förseningsersättning for business debtors; `None` before 4 a § applied (2013-03-16).
    pub late_payment_compensation: Option<Sek>,
    /// Percentage points over the reference rate (6 § räntelagen).
    pub interest_margin: Decimal,
    pub day_count: DayCount,
    pub reminder_deadline_days: u32,
    pub collection_deadline_days: u32,
    pub collection_min_days: u32,
    pub delivery_bank_days: u32,
    pub receipt_bank_days: u32,
    pub final_notice_deadline_days: u32,
    /// Bank days after a deadline before the next step (payments in transit).
    pub grace_bank_days: u32,
    pub limitation_consumer_years: u32,
    pub limitation_general_years: u32,
    pub commission_reminder: Sek,
    pub commission_collection: Sek,
    pub commission_vat_percent: Decimal,
    pub commission_tail_months: u32,
    /// Days between creditor settlements (weekly by default).
    #[serde(default = "defaults::settlement_interval_days")]
    pub settlement_interval_days: u32,
    /// Bank days before a changed payout account is used.
    #[serde(default = "defaults::payout_account_delay_bank_days")]
    pub payout_account_delay_bank_days: u32,
    /// Bank days after which unmatched money is listed for refund to the payer.
    #[serde(default = "defaults::unmatched_refund_bank_days")]
    pub unmatched_refund_bank_days: u32,
    /// A payout batch above this total needs a second admin's approval.
    #[serde(default = "defaults::payout_dual_approval_over")]
    pub payout_dual_approval_over: Sek,
    /// The longest payment plan a debtor may propose, in months.
    #[serde(default = "defaults::plan_max_months")]
    pub plan_max_months: u32,
    /// An instalment more than this many days late breaks the plan.
    #[serde(default = "defaults::plan_break_days_late")]
    pub plan_break_days_late: u32,
}

mod defaults {
    use super::Sek;
    pub fn settlement_interval_days() -> u32 {
        7
    }
    pub fn payout_account_delay_bank_days() -> u32 {
        10
    }
    pub fn unmatched_refund_bank_days() -> u32 {
        60
    }
    pub fn payout_dual_approval_over() -> Sek {
        Sek::kronor(100_000)
    }
    pub fn plan_max_months() -> u32 {
        12
    }
    pub fn plan_break_days_late() -> u32 {
        10
    }
}

impl RuleSet {
    /// The rules in force since 2013-03-16 (SFS 2013:56), with the product's default days.
    pub fn sweden_2013() -> RuleSet {
        RuleSet {
            valid_from: NaiveDate::from_ymd_opt(2013, 3, 16).expect("valid date"),
            reminder_fee: Sek::kronor(60),
            collection_fee: Sek::kronor(180),
            payment_plan_fee: Sek::kronor(170),
            late_payment_compensation: Some(Sek::kronor(450)),
            interest_margin: Decimal::from(8),
            day_count: DayCount::Actual365,
            reminder_deadline_days: 10,
            collection_deadline_days: 10,
            collection_min_days: 8,
            delivery_bank_days: 2,
            receipt_bank_days: 4,
            final_notice_deadline_days: 10,
            grace_bank_days: 3,
            limitation_consumer_years: 3,
            limitation_general_years: 10,
            commission_reminder: Sek::kronor(6),
            commission_collection: Sek::kronor(20),
            commission_vat_percent: Decimal::from(25),
            commission_tail_months: 12,
            settlement_interval_days: defaults::settlement_interval_days(),
            payout_account_delay_bank_days: defaults::payout_account_delay_bank_days(),
            unmatched_refund_bank_days: defaults::unmatched_refund_bank_days(),
            plan_max_months: defaults::plan_max_months(),
            plan_break_days_late: defaults::plan_break_days_late(),
            payout_dual_approval_over: defaults::payout_dual_approval_over(),
        }
    }
}

/// Rule sets by effective date.
#[derive(Clone, Debug)]
pub struct RuleBook {
    sets: Vec<RuleSet>,
}

impl RuleBook {
    pub fn new(mut sets: Vec<RuleSet>) -> RuleBook {
        sets.sort_by_key(|s| s.valid_from);
        RuleBook { sets }
    }

    /// The set in force on `date` (the latest one starting on or before it; the earliest set if
    /// `date` precedes all).
    pub fn in_force(&self, date: NaiveDate) -> &RuleSet {
        let i = self.sets.partition_point(|s| s.valid_from <= date);
        &self.sets[i.saturating_sub(1).min(self.sets.len() - 1)]
    }
}

impl Default for RuleBook {
    fn default() -> RuleBook {
        RuleBook::new(vec![RuleSet::sweden_2013()])
    }
}

/// The Riksbank reference rate for a period (inclusive bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceRate {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub percent: Decimal,
}

#[derive(Clone, Debug, Default)]
pub struct RateTable {
    rates: Vec<ReferenceRate>,
}

impl RateTable {
    pub fn new(mut rates: Vec<ReferenceRate>) -> RateTable {
        rates.sort_by_key(|r| r.valid_from);
        RateTable { rates }
    }

    /// For estimates only (a payment plan's future interest): the table with the last known rate
    /// assumed to continue, half-year by half-year, until `until`.
    pub fn projected_to(&self, until: NaiveDate) -> RateTable {
        let mut rates = self.rates.clone();
        while let Some(last) = rates.last().cloned() {
            if last.valid_to >= until {
                break;
            }
            let from = last.valid_to + chrono::Duration::days(1);
            let to = from
                .checked_add_months(chrono::Months::new(6))
                .map(|d| d - chrono::Duration::days(1))
                .unwrap_or(until);
            rates.push(ReferenceRate {
                valid_from: from,
                valid_to: to,
                percent: last.percent,
            });
        }
        RateTable { rates }
    }

    /// The rate period containing `date`.
    pub fn period_of(&self, date: NaiveDate) -> Option<&ReferenceRate> {
        let i = self.rates.partition_point(|r| r.valid_from <= date);
        self.rates
            .get(i.checked_sub(1)?)
            .filter(|r| date <= r.valid_to)
    }

    /// The table of `../shared/data/reference-rates.csv` (2022-H1 to 2026-H2), for tests and
    /// benches; the server loads the table from the database.
    pub fn sweden_2022_2026() -> RateTable {
        let d = |s: &str| s.parse::<NaiveDate>().expect("valid date");
        let rows = [
            ("2022-01-01", "2022-06-30", 0),
            ("2022-07-01", "2022-12-31", 50),
            ("2023-01-01", "2023-06-30", 250),
            ("2023-07-01", "2023-12-31", 350),
            ("2024-01-01", "2024-06-30", 400),
            ("2024-07-01", "2024-12-31", 400),
            ("2025-01-01", "2025-06-30", 300),
            ("2025-07-01", "2025-12-31", 200),
            ("2026-01-01", "2026-06-30", 200),
            ("2026-07-01", "2026-12-31", 200),
        ];
        RateTable::new(
            rows.iter()
                .map(|(f, t, bp)| ReferenceRate {
                    valid_from: d(f),
                    valid_to: d(t),
                    percent: Decimal::new(*bp, 2),
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_set_in_force() {
        let mut old = RuleSet::sweden_2013();
        old.valid_from = NaiveDate::from_ymd_opt(2003, 7, 1).unwrap();
        old.reminder_fee = Sek::kronor(50);
        old.late_payment_compensation = None;
        let book = RuleBook::new(vec![RuleSet::sweden_2013(), old]);
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(2013, 3, 15).unwrap())
                .reminder_fee,
            Sek::kronor(50)
        );
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(2013, 3, 16).unwrap())
                .reminder_fee,
            Sek::kronor(60)
        );
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap())
                .reminder_fee,
            Sek::kronor(50)
        );
    }

    #[test]
    fn rate_lookup() {
        let t = RateTable::sweden_2022_2026();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            t.period_of(d("2025-03-31")).unwrap().percent,
            Decimal::new(300, 2)
        );
        assert_eq!(
            t.period_of(d("2025-07-01")).unwrap().percent,
            Decimal::new(200, 2)
        );
        assert!(t.period_of(d("2021-12-31")).is_none());
        assert!(t.period_of(d("2027-01-01")).is_none());
    }
}
