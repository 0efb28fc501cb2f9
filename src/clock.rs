//! Time is injected: the only place that reads the system clock.
//!
//! `now()` is wall-clock time (sessions, tokens, rate limits). `today()` is the business date in
//! Europe/Stockholm, which `FORDRA_TODAY` (server) or `--today` (tick) can fix.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

#[derive(Clone, Debug, Default)]
pub struct Clock {
    fixed_today: Option<NaiveDate>,
    /// A fixed wall-clock time (tests): `now()` stands still unless advanced.
    fixed_now: Option<DateTime<Utc>>,
    /// How far [`Clock::advance`] moved the clock, in milliseconds; shared by every clone.
    shift_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    pub fn with_today(today: Option<NaiveDate>) -> Clock {
        Clock { fixed_today: today, ..Clock::default() }
    }

    /// A clock that stands at `now` (and `today`, when given) until advanced: tests use it to
    /// let time pass (a retry's backoff, a link's expiry) without ageing rows in SQL.
    pub fn fixed(now: DateTime<Utc>, today: Option<NaiveDate>) -> Clock {
        Clock { fixed_today: today, fixed_now: Some(now), ..Clock::default() }
    }

    pub fn is_fixed(&self) -> bool {
        self.fixed_today.is_some()
    }

    /// Moves this clock (and every clone of it, such as a running server's) forward.
    pub fn advance(&self, by: Duration) {
        self.shift_ms.fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_now.unwrap_or_else(Utc::now)
            + Duration::milliseconds(self.shift_ms.load(Ordering::Relaxed))
    }

    pub fn today(&self) -> NaiveDate {
        self.fixed_today.unwrap_or_else(|| stockholm_date(self.now()))
    }
}

/// Stockholm's offset from UTC at `t`: CET (+1), or CEST (+2) from the last Sunday of March
/// 01:00 UTC to the last Sunday of October 01:00 UTC (the EU rule, in force since 1996).
pub fn utc_offset_hours(t: DateTime<Utc>) -> i64 {
    let year = t.year();
    let start = last_sunday(year, 3).and_hms_opt(1, 0, 0).map(|d| Utc.from_utc_datetime(&d));
    let end = last_sunday(year, 10).and_hms_opt(1, 0, 0).map(|d| Utc.from_utc_datetime(&d));
    match (start, end) {
        (Some(s), Some(e)) if t >= s && t < e => 2,
        _ => 1,
    }
}

/// Wall-clock time in Stockholm, for display.
pub fn stockholm_local(t: DateTime<Utc>) -> chrono::NaiveDateTime {
    (t + Duration::hours(utc_offset_hours(t))).naive_utc()
}

/// The calendar date in Stockholm.
pub fn stockholm_date(t: DateTime<Utc>) -> NaiveDate {
    stockholm_local(t).date()
}

fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let first_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }
    .unwrap_or(NaiveDate::MIN);
    let mut d = first_next.pred_opt().unwrap_or(NaiveDate::MIN);
    while d.weekday() != Weekday::Sun {
        d = d.pred_opt().unwrap_or(NaiveDate::MIN);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn stockholm_date_follows_cet_and_cest() {
        // Winter: 23:30 UTC is 00:30 the next day in Stockholm.
        assert_eq!(stockholm_date(utc("2026-01-14T23:30:00Z")).to_string(), "2026-01-15");
        // Summer: 22:30 UTC is 00:30 the next day.
        assert_eq!(stockholm_date(utc("2026-07-01T22:30:00Z")).to_string(), "2026-07-02");
        assert_eq!(stockholm_date(utc("2026-07-01T21:30:00Z")).to_string(), "2026-07-01");
        // DST starts 2026-03-29 01:00 UTC, ends 2026-10-25 01:00 UTC.
        assert_eq!(last_sunday(2026, 3).to_string(), "2026-03-29");
        assert_eq!(last_sunday(2026, 10).to_string(), "2026-10-25");
        assert_eq!(stockholm_date(utc("2026-10-24T22:30:00Z")).to_string(), "2026-10-25");
    }

    #[test]
    fn fixed_today_wins() {
        let d = NaiveDate::from_ymd_opt(2026, 2, 10).unwrap();
        assert_eq!(Clock::with_today(Some(d)).today(), d);
    }
}
