//! Domain benchmarks (divan): `cargo bench --bench domain`. Figures are quoted in the README.

use chrono::{Duration, NaiveDate};
use divan::{Bencher, black_box};
use fordra::domain::{
    interest::{Terms, late_interest},
    money::Sek,
    ocr,
    rules::{DayCount, RateTable},
};
use rust_decimal::Decimal;

fn main() {
    divan::main();
}

const N: u64 = 1_000_000;

/// Interest for 1,000,000 claims whose period crosses the 2025-07-01 rate change.
#[divan::bench(sample_count = 5)]
fn interest_1m_claims_with_rate_change(b: Bencher) {
    let rates = RateTable::sweden_2022_2026();
    let margin = Decimal::from(8);
    let start: NaiveDate = "2025-05-01".parse().unwrap();
    let claims: Vec<(Sek, NaiveDate, NaiveDate)> = (0..N)
        .map(|i| {
            let first = start + Duration::days((i % 50) as i64);
            (
                Sek::new(1_000 + (i % 90_000) as i64, (i % 100) as i64),
                first,
                first + Duration::days(60 + (i % 40) as i64),
            )
        })
        .collect();
    b.bench_local(|| {
        let mut total = Sek::ZERO;
        for (capital, first, last) in &claims {
            total += late_interest(
                *capital,
                (*first, *last),
                Terms { rates: &rates, margin, basis: DayCount::Actual365 },
            )
            .unwrap()
            .total;
        }
        black_box(total)
    });
}

/// 1,000,000 OCR references generated and validated.
#[divan::bench(sample_count = 5)]
fn ocr_1m_generate_and_validate(b: Bencher) {
    b.bench_local(|| {
        let mut ok = 0u64;
        for case in 1_000_000..1_000_000 + N {
            let r = ocr::generate(case);
            if ocr::validate(&r).is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, N);
        black_box(ok)
    });
}
