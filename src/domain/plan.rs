//! Payment plans as pure rules: the creditor's policy, the due dates, the instalments (equal
//! whole kronor, the last one what remains) and when a running plan is broken.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;

use super::{calendar::roll_forward, money::Sek, statement::Movement};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub max_months: u32,
    pub min_instalment: Sek,
    pub auto_approve_up_to: Sek,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            max_months: 12,
            min_instalment: Sek::kronor(200),
            auto_approve_up_to: Sek::kronor(20_000),
        }
    }
}

/// Whether a plan of `months` instalments for `total` is within the creditor's policy.
pub fn within_policy(p: &Policy, total: Sek, schedule: &[(NaiveDate, Sek)]) -> bool {
    schedule.len() as u32 <= p.max_months
        && total <= p.auto_approve_up_to
        && schedule
            .iter()
            .take(schedule.len().saturating_sub(1))
            .all(|(_, a)| *a >= p.min_instalment)
}

/// Due dates: the first two weeks after `start`, then monthly, each moved to a bank day.
pub fn due_dates(start: NaiveDate, months: u32) -> Vec<NaiveDate> {
    let first = start + chrono::Duration::days(14);
    (0..months)
        .map(|k| roll_forward(first.checked_add_months(Months::new(k)).unwrap_or(first)))
        .collect()
}

/// The instalments that pay a claim off on `dates` if each is paid on its due date: equal
/// whole-krona instalments, the last one whatever remains then. Interest keeps running on the
/// capital that is left, so `balance_at(movements, date)` (the claim's own statement) says what
/// is owed on a date given the claim's movements plus the instalments so far.
pub fn schedule<E>(
    dates: &[NaiveDate],
    moves: &[Movement],
    balance_at: impl Fn(&[Movement], NaiveDate) -> Result<Sek, E>,
) -> Result<Vec<(NaiveDate, Sek)>, E> {
    let Some(last) = dates.last() else {
        return Ok(vec![]);
    };
    let n = dates.len() as i64;
    let mut moves: Vec<Movement> = moves.to_vec();
    // The even part: everything owed at the last date if nothing were paid, split evenly.
    let full = balance_at(&moves, *last)?;
    let even = Sek::from_decimal((full.amount() / Decimal::from(n)).floor());
    let mut out = Vec::new();
    for d in &dates[..dates.len() - 1] {
        out.push((*d, even));
        moves.push(Movement::Payment { booked: *d, amount: even });
    }
    moves.sort_by_key(Movement::date);
    let rest = balance_at(&moves, *last)?;
    if rest.is_positive() {
        out.push((*last, rest));
    }
    Ok(out)
}

/// Whether a running plan is broken on `today`: some instalment is more than `days_late` days
/// past its due date and what was paid since the start does not cover every instalment due by
/// then.
pub fn is_broken(
    instalments: &[(NaiveDate, Sek)],
    paid: Sek,
    today: NaiveDate,
    days_late: u32,
) -> bool {
    let overdue: Sek = instalments
        .iter()
        .filter(|(due, _)| *due + chrono::Duration::days(days_late as i64) < today)
        .map(|(_, a)| *a)
        .sum();
    overdue.is_positive() && paid < overdue
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn due_dates_are_monthly_bank_days() {
        let dates = due_dates(d("2026-11-22"), 3);
        // 2026-12-06 is a Sunday → Monday 7th; 2027-01-06 is Trettondedag jul → 7th; 2027-02-06 Saturday → 8th.
        assert_eq!(dates, vec![d("2026-12-07"), d("2027-01-07"), d("2027-02-08")]);
    }

    #[test]
    fn a_plan_breaks_only_past_the_grace_days() {
        let inst = [(d("2026-12-07"), Sek::kronor(500)), (d("2027-01-07"), Sek::kronor(500))];
        assert!(!is_broken(&inst, Sek::kronor(0), d("2026-12-17"), 10));
        assert!(is_broken(&inst, Sek::kronor(0), d("2026-12-18"), 10));
        assert!(!is_broken(&inst, Sek::kronor(500), d("2027-01-17"), 10));
        assert!(is_broken(&inst, Sek::kronor(999), d("2027-01-18"), 10));
        assert!(!is_broken(&inst, Sek::kronor(1000), d("2027-06-01"), 10));
    }

    #[test]
    fn an_even_split_in_whole_kronor_and_the_rest_last() {
        // A claim of 1 000,50 kr without interest: three instalments of 333 kr and 334,50 kr.
        let dates = [d("2026-12-07"), d("2027-01-07"), d("2027-02-08")];
        let owed = Sek::from_decimal(Decimal::new(100050, 2));
        let s = schedule(&dates, &[], |moves, _| {
            let paid: Sek = moves
                .iter()
                .map(|m| match m {
                    Movement::Payment { amount, .. } => *amount,
                    Movement::CapitalReduction { amount, .. } => *amount,
                })
                .sum();
            Ok::<_, ()>(owed - paid)
        })
        .unwrap();
        assert_eq!(
            s,
            vec![
                (dates[0], Sek::kronor(333)),
                (dates[1], Sek::kronor(333)),
                (dates[2], Sek::from_decimal(Decimal::new(33450, 2))),
            ]
        );
    }

    #[test]
    fn policy_bounds() {
        let p = Policy::default();
        let s = [(d("2026-12-07"), Sek::kronor(300)), (d("2027-01-07"), Sek::kronor(50))];
        assert!(within_policy(&p, Sek::kronor(350), &s));
        let low = [(d("2026-12-07"), Sek::kronor(100)), (d("2027-01-07"), Sek::kronor(100))];
        assert!(!within_policy(&p, Sek::kronor(200), &low));
        assert!(!within_policy(&p, Sek::kronor(30_000), &s));
    }
}
