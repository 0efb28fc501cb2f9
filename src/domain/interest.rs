//! Dröjsmålsränta (6 § räntelagen): reference rate + margin, simple interest on capital only,
//! split wherever the rate period changes (1 January, 1 July), each segment exact, rounded once
//! half-up to öre at the end.

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{
    money::Sek,
    rules::{DayCount, RateTable},
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// First interest day (inclusive).
    pub from: NaiveDate,
    /// Last interest day (inclusive).
    pub to: NaiveDate,
    pub days: i64,
    /// Reference rate plus margin, in percent.
    pub rate_percent: Decimal,
    /// The capital the interest runs on.
    pub base: Sek,
    /// Exact (unrounded) amount.
    pub exact: Decimal,
    /// Computed with an assumed rate: no reference rate is published for the period yet.
    pub preliminary: bool,
}

impl Segment {
    /// The segment's amount rounded for display; the total is rounded once from the exact sum.
    pub fn amount(&self) -> Sek {
        Sek::from_decimal(self.exact)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Interest {
    pub segments: Vec<Segment>,
    pub total: Sek,
}

impl Interest {
    /// Whether any day was computed with an assumed (unpublished) rate.
    pub fn preliminary(&self) -> bool {
        self.segments.iter().any(|s| s.preliminary)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InterestError {
    #[error("referensränta saknas för {0}")]
    NoRate(NaiveDate),
}

/// What interest is computed on: the reference rates, the margin over them (percentage
/// points) and the day count.
#[derive(Clone, Copy, Debug)]
pub struct Terms<'a> {
    pub rates: &'a RateTable,
    pub margin: Decimal,
    pub basis: DayCount,
}

/// Interest on `capital` for the days `first..=last`. Zero days (`last < first`) give zero.
pub fn late_interest(
    capital: Sek,
    (first, last): (NaiveDate, NaiveDate),
    terms: Terms<'_>,
) -> Result<Interest, InterestError> {
    let mut segments = Vec::with_capacity(2);
    let exact = accrue(capital, (first, last), terms, &mut segments)?;
    Ok(Interest { segments, total: Sek::from_decimal(exact) })
}

/// Adds the segments for `first..=last` to `out` and returns their exact sum.
pub fn accrue(
    capital: Sek,
    (first, last): (NaiveDate, NaiveDate),
    Terms { rates, margin, basis }: Terms<'_>,
    out: &mut Vec<Segment>,
) -> Result<Decimal, InterestError> {
    let mut sum = Decimal::ZERO;
    if capital.is_zero() {
        return Ok(sum);
    }
    let mut from = first;
    while from <= last {
        let period = rates.period_of(from).ok_or(InterestError::NoRate(from))?;
        // Segments end at the rate period's end and never cross a half-year.
        let half_year_end = if from.month() <= 6 {
            NaiveDate::from_ymd_opt(from.year(), 6, 30)
        } else {
            NaiveDate::from_ymd_opt(from.year(), 12, 31)
        }
        .expect("valid date");
        let to = last.min(period.valid_to).min(half_year_end);
        let days = (to - from).num_days() + 1;
        let rate = period.percent + margin;
        let year_days: i64 = match basis {
            DayCount::Actual365 => 365,
            DayCount::ActualActual if from.leap_year() => 366,
            DayCount::ActualActual => 365,
        };
        let exact = capital.amount() * rate * Decimal::from(days) / Decimal::from(year_days * 100);
        sum += exact;
        out.push(Segment {
            from,
            to,
            days,
            rate_percent: rate,
            base: capital,
            exact,
            preliminary: period.projected,
        });
        from = to + Duration::days(1);
    }
    Ok(sum)
}

/// 4 § räntelagen (no agreed due date): interest runs from the day one month after the invoice or
/// demand was sent, the same day next month or that month's last day (31 Jan → 28/29 Feb).
pub fn section4_start(sent: NaiveDate) -> NaiveDate {
    sent.checked_add_months(chrono::Months::new(1)).unwrap_or(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::RateTable;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn interest(capital: i64, first: &str, last: &str, basis: DayCount) -> Interest {
        let rates = RateTable::sweden_2022_2026();
        let terms = Terms { rates: &rates, margin: Decimal::from(8), basis };
        late_interest(Sek::kronor(capital), (d(first), d(last)), terms).unwrap()
    }

    #[test]
    fn example_1_consumer() {
        let i = interest(10_000, "2025-04-01", "2025-06-15", DayCount::Actual365);
        assert_eq!(i.total, Sek::new(229, 4));
        assert_eq!(i.segments.len(), 1);
        assert_eq!((i.segments[0].days, i.segments[0].rate_percent), (76, Decimal::new(1100, 2)));
        // Booked on the Monday instead: 77 days.
        assert_eq!(
            interest(10_000, "2025-04-01", "2025-06-16", DayCount::Actual365).total,
            Sek::new(232, 5)
        );
    }

    #[test]
    fn example_2_rate_change() {
        let i = interest(10_000, "2025-06-11", "2025-08-15", DayCount::Actual365);
        assert_eq!(i.total, Sek::new(186, 30));
        assert_eq!(
            i.segments.iter().map(|s| (s.days, s.amount())).collect::<Vec<_>>(),
            vec![(20, Sek::new(60, 27)), (46, Sek::new(126, 3))]
        );
    }

    /// Capital, first and last day, day count, and the total interest in kronor and öre.
    type Case<'a> = (i64, &'a str, &'a str, DayCount, (i64, i64));

    fn check_totals(cases: &[Case<'_>]) {
        for &(capital, from, to, day_count, (kr, ore)) in cases {
            let total = interest(capital, from, to, day_count).total;
            assert_eq!(total, Sek::new(kr, ore), "{capital} {from}..{to} {day_count:?}");
        }
    }

    #[test]
    fn example_3_leap_year_day_count() {
        use DayCount::{Actual365, ActualActual};
        check_totals(&[
            (10_000, "2024-12-14", "2025-01-20", Actual365, (119, 45)),
            (10_000, "2024-12-14", "2025-01-20", ActualActual, (119, 29)),
            (10_000, "2024-01-01", "2024-03-01", Actual365, (200, 55)),
            (10_000, "2024-01-01", "2024-03-01", ActualActual, (200, 0)),
        ]);
    }

    #[test]
    fn example_5_and_6() {
        check_totals(&[
            (20_000, "2025-04-01", "2025-06-15", DayCount::Actual365, (458, 8)),
            (10_000, "2025-03-10", "2025-04-08", DayCount::Actual365, (90, 41)),
        ]);
    }

    #[test]
    fn missing_rate_is_an_error() {
        let rates = RateTable::sweden_2022_2026();
        let terms = Terms { rates: &rates, margin: Decimal::from(8), basis: DayCount::Actual365 };
        let r = late_interest(Sek::kronor(100), (d("2021-12-30"), d("2022-01-05")), terms);
        assert_eq!(r, Err(InterestError::NoRate(d("2021-12-30"))));
    }

    fn exact_total(capital: i64, first: NaiveDate, last: NaiveDate) -> Decimal {
        let mut out = vec![];
        let rates = RateTable::sweden_2022_2026();
        let terms = Terms { rates: &rates, margin: Decimal::from(8), basis: DayCount::Actual365 };
        accrue(Sek::kronor(capital), (first, last), terms, &mut out).unwrap()
    }

    proptest! {
        #[test]
        fn zero_days_zero_interest(cap in 1i64..10_000_000, start in 0i64..1700) {
            let first = d("2022-01-01") + Duration::days(start);
            prop_assert_eq!(exact_total(cap, first, first - Duration::days(1)), Decimal::ZERO);
        }

        #[test]
        fn monotone_in_days_and_capital(cap in 1i64..10_000_000, start in 0i64..1000, days in 0i64..700, extra in 1i64..100) {
            let first = d("2022-01-01") + Duration::days(start);
            let last = first + Duration::days(days);
            let base = exact_total(cap, first, last);
            prop_assert!(exact_total(cap, first, last + Duration::days(extra)) > base);
            prop_assert!(exact_total(cap + extra, first, last) > base);
        }

        #[test]
        fn additive_across_a_split(cap in 1i64..10_000_000, start in 0i64..1000, days in 1i64..700, split in 0i64..700) {
            let first = d("2022-01-01") + Duration::days(start);
            let last = first + Duration::days(days);
            let mid = first + Duration::days(split % days);
            let whole = Sek::from_decimal(exact_total(cap, first, last));
            let parts = Sek::from_decimal(exact_total(cap, first, mid)) + Sek::from_decimal(exact_total(cap, mid + Duration::days(1), last));
            prop_assert!((whole - parts).amount().abs() <= Decimal::new(1, 2), "{} vs {}", whole, parts);
        }
    }
}
