//! Preskription (preskriptionslag 1981:130): 3 years for a consumer claim from a business, else 10,
//! from when the claim arose; a received demand or reminder, or a part payment, interrupts it and
//! a new period of the same length starts that day.

use chrono::{Months, NaiveDate};

use super::{fees::Capacity, rules::RuleSet};

/// The day the claim lapses unless interrupted again. Same calendar date N years later (the last
/// day of February for a 29 February start).
pub fn limitation_date(
    arose: NaiveDate,
    capacity: Capacity,
    interruptions: &[NaiveDate],
    rules: &RuleSet,
) -> NaiveDate {
    let years = match capacity {
        Capacity::Consumer => rules.limitation_consumer_years,
        Capacity::Business => rules.limitation_general_years,
    };
    let start = interruptions.iter().copied().filter(|d| *d >= arose).max().unwrap_or(arose);
    start.checked_add_months(Months::new(years * 12)).unwrap_or(NaiveDate::MAX)
}

pub fn is_time_barred(
    arose: NaiveDate,
    capacity: Capacity,
    interruptions: &[NaiveDate],
    on: NaiveDate,
    rules: &RuleSet,
) -> bool {
    on >= limitation_date(arose, capacity, interruptions, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn example_8() {
        let r = RuleSet::sweden_2013();
        assert_eq!(limitation_date(d("2023-02-01"), Capacity::Consumer, &[], &r), d("2026-02-01"));
        assert_eq!(
            limitation_date(d("2023-02-01"), Capacity::Consumer, &[d("2024-05-10")], &r),
            d("2027-05-10")
        );
        assert_eq!(
            limitation_date(
                d("2023-02-01"),
                Capacity::Consumer,
                &[d("2024-05-10"), d("2025-01-15")],
                &r
            ),
            d("2028-01-15")
        );
        assert_eq!(limitation_date(d("2023-02-01"), Capacity::Business, &[], &r), d("2033-02-01"));
        assert_eq!(limitation_date(d("2024-02-29"), Capacity::Consumer, &[], &r), d("2027-02-28"));
        assert!(is_time_barred(d("2023-02-01"), Capacity::Consumer, &[], d("2026-02-01"), &r));
        assert!(!is_time_barred(d("2023-02-01"), Capacity::Consumer, &[], d("2026-01-31"), &r));
    }
}
