//! Swedish bank days: no weekends, no public holidays (including the Easter-based ones,
//! midsommardagen, alla helgons dag and the national day), and not midsommarafton, julafton or
//! nyårsafton. Holiday law as in force since 2005 (the national day became a holiday then and
//! Whit Monday stopped being one).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// Easter Sunday (anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("Easter is a valid date")
}

/// Weekday holidays and bank-closed eves. Weekend holidays need no listing: weekends are closed.
pub fn is_holiday(d: NaiveDate) -> bool {
    let (m, day) = (d.month(), d.day());
    let fixed = matches!(
        (m, day),
        (1, 1) | (1, 6) | (5, 1) | (6, 6) | (12, 24) | (12, 25) | (12, 26) | (12, 31)
    );
    if fixed {
        return true;
    }
    // Midsommarafton: the Friday between 19 and 25 June.
    if m == 6 && (19..=25).contains(&day) && d.weekday() == Weekday::Fri {
        return true;
    }
    if (3..=6).contains(&m) {
        let easter = easter_sunday(d.year());
        let offset = (d - easter).num_days();
        // Långfredagen, annandag påsk, Kristi himmelsfärdsdag.
        if matches!(offset, -2 | 1 | 39) {
            return true;
        }
    }
    false
}

pub fn is_bank_day(d: NaiveDate) -> bool {
    !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(d)
}

/// `d` if it is a bank day, else the next bank day (a due date or deadline moves forward).
pub fn roll_forward(d: NaiveDate) -> NaiveDate {
    let mut d = d;
    while !is_bank_day(d) {
        d += Duration::days(1);
    }
    d
}

/// The first bank day strictly after `d`.
pub fn next_bank_day(d: NaiveDate) -> NaiveDate {
    roll_forward(d + Duration::days(1))
}

/// The bank day `n` bank days after `d` (`d` itself not counted; `n = 0` gives `d`).
pub fn add_bank_days(d: NaiveDate, n: u32) -> NaiveDate {
    let mut d = d;
    for _ in 0..n {
        d = next_bank_day(d);
    }
    d
}

/// The last bank day strictly before `d`.
pub fn previous_bank_day(d: NaiveDate) -> NaiveDate {
    let mut d = d - Duration::days(1);
    while !is_bank_day(d) {
        d -= Duration::days(1);
    }
    d
}

/// The bank day `n` bank days before `d` (`d` itself not counted; `n = 0` gives `d`).
pub fn sub_bank_days(d: NaiveDate, n: u32) -> NaiveDate {
    let mut d = d;
    for _ in 0..n {
        d = previous_bank_day(d);
    }
    d
}

/// Bank days in `(from, to]`: how many bank days pass from `from` to `to`. Zero if `to <= from`.
pub fn bank_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut n = 0;
    let mut d = from;
    while d < to {
        d += Duration::days(1);
        if is_bank_day(d) {
            n += 1;
        }
    }
    n
}

/// Parses a date written exactly `ÅÅÅÅ-MM-DD` (ISO 8601, years 1900–2199). chrono's own parser
/// also takes `2026-1-1` and `+2026-01-01`, which no Swedish form or file means.
pub fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter()
            .enumerate()
            .all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shape {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let year = n(0..4)?;
    if !(1900..=2199).contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year as i32, n(5..7)?, n(8..10)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_exactly_iso() {
        assert_eq!(parse_iso_date("2026-02-09"), NaiveDate::from_ymd_opt(2026, 2, 9));
        for bad in [
            "2026-1-1",
            "+2026-01-01",
            "2026-02-30",
            "26-02-09",
            "2026/02/09",
            " 2026-02-09",
            "2026-02-09T",
            "０２０２6-02-09",
            "1899-12-31",
            "",
            "20260209",
        ] {
            assert_eq!(parse_iso_date(bad), None, "{bad}");
        }
    }
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_dates() {
        for (y, want) in [
            (2005, "2005-03-27"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2038, "2038-04-25"),
            (2100, "2100-03-28"),
        ] {
            assert_eq!(easter_sunday(y), d(want), "{y}");
        }
    }

    #[test]
    fn swedish_holidays_2026() {
        for closed in [
            "2026-01-01",
            "2026-01-06",
            "2026-04-03",
            "2026-04-06",
            "2026-05-01",
            "2026-05-14",
            "2026-06-19",
            "2026-12-24",
            "2026-12-25",
            "2026-12-31",
            "2026-06-20",
            "2026-10-31",
        ] {
            assert!(!is_bank_day(d(closed)), "{closed} is closed");
        }
        // Nationaldagen 2025 fell on a Friday; 2026-06-06 is a Saturday.
        assert!(!is_bank_day(d("2025-06-06")));
        for open in [
            "2026-01-02",
            "2026-01-07",
            "2026-04-02",
            "2026-04-07",
            "2026-05-25",
            "2026-06-18",
            "2026-06-22",
            "2026-12-23",
            "2026-12-30",
        ] {
            assert!(is_bank_day(d(open)), "{open} is open");
        }
    }

    #[test]
    fn product_grace_example() {
        // Deadline 2026-02-20 (Fri) + 3 bank days → 2026-02-25 (Wed).
        assert_eq!(add_bank_days(d("2026-02-20"), 3), d("2026-02-25"));
        assert_eq!(roll_forward(d("2025-06-15")), d("2025-06-16"));
        assert_eq!(next_bank_day(d("2026-12-23")), d("2026-12-28"));
        assert_eq!(next_bank_day(d("2026-06-18")), d("2026-06-22"));
        assert_eq!(bank_days_between(d("2026-12-23"), d("2026-12-28")), 1);
        assert_eq!(bank_days_between(d("2026-02-20"), d("2026-02-25")), 3);
        assert_eq!(bank_days_between(d("2026-02-25"), d("2026-02-20")), 0);
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..(95 * 366)).prop_map(|n| d("2005-01-01") + Duration::days(n))
    }

    /// Every day 2005–2100, not a sample: the longest closed run is Christmas on a Wednesday
    /// (24–28 December), so the next bank day is at most six days away, and exactly six then.
    #[test]
    fn next_bank_day_is_never_closed() {
        let mut longest = 0;
        let mut date = d("2005-01-01");
        while date < d("2101-01-01") {
            let n = next_bank_day(date);
            assert!(n > date && is_bank_day(n), "{date} → {n}");
            assert!(!matches!(n.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(n));
            longest = longest.max((n - date).num_days());
            date += Duration::days(1);
        }
        assert_eq!(longest, 6);
        assert_eq!(next_bank_day(d("2070-12-23")), d("2070-12-29"));
    }

    proptest! {
        #[test]
        fn add_and_count_agree(date in any_date(), n in 0u32..40) {
            let later = add_bank_days(date, n);
            prop_assert_eq!(bank_days_between(date, later), n);
        }

        #[test]
        fn subtracting_undoes_adding_from_a_bank_day(date in any_date(), n in 0u32..40) {
            let day = roll_forward(date);
            prop_assert_eq!(sub_bank_days(add_bank_days(day, n), n), day);
            prop_assert_eq!(previous_bank_day(next_bank_day(day)), day);
        }
    }
}
