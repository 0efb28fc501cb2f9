//! A claim's account: payments allocated in booking-date order to fees (oldest first), interest
//! accrued to the booking date, then capital; overpayment returned as a remainder. Interest runs
//! on capital only (A16: none on fees) and restarts on the remaining capital after each payment.
//!
//! A11: when payments booked before a letter's dispatch date settled everything owed on their
//! booking date, the reminder or collection fee of that letter is cancelled and the claim is paid.
//! A part payment before the letter cancels nothing. The business 450 kr is owed from the first
//! day of delay and is never cancelled once claimed.

use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{
    fees::FeeKind,
    interest::{InterestError, Segment, accrue},
    money::Sek,
    rules::{DayCount, RateTable},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeCharge {
    pub kind: FeeKind,
    pub amount: Sek,
    pub charged_on: NaiveDate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// Money received by Fordra, by bankgiro booking date.
    Payment { booked: NaiveDate, amount: Sek },
    /// A direct payment to the creditor or a credit note: reduces capital only; fees and
    /// interest already accrued stay owed.
    CapitalReduction { on: NaiveDate, amount: Sek },
}

impl Movement {
    pub fn date(&self) -> NaiveDate {
        match self {
            Movement::Payment { booked, .. } => *booked,
            Movement::CapitalReduction { on, .. } => *on,
        }
    }
}

pub struct StatementInput<'a> {
    pub capital: Sek,
    /// First interest day: the day after the effective due date.
    pub interest_from: NaiveDate,
    pub fees: &'a [FeeCharge],
    pub movements: &'a [Movement],
    pub as_of: NaiveDate,
    pub rates: &'a RateTable,
    pub margin: Decimal,
    pub basis: DayCount,
}

/// How one payment was split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// Per input fee (same order as `StatementInput::fees`).
    pub to_fees: Vec<Sek>,
    pub to_interest: Sek,
    pub to_capital: Sek,
    pub remainder: Sek,
}

impl Allocation {
    /// What went to fees, all of them together.
    pub fn fees_total(&self) -> Sek {
        self.to_fees.iter().copied().sum()
    }
}

/// Splits `payment` over open items: fees oldest first, then interest, then capital.
/// `fees_owed` pairs each fee's charge date with what is still owed on it.
pub fn allocate(
    payment: Sek,
    fees_owed: &[(NaiveDate, Sek)],
    interest: Sek,
    capital: Sek,
) -> Allocation {
    let mut left = payment;
    let mut to_fees = vec![Sek::ZERO; fees_owed.len()];
    let mut order: Vec<usize> = (0..fees_owed.len()).collect();
    order.sort_by_key(|&i| fees_owed[i].0);
    for i in order {
        let take = left.min(fees_owed[i].1).max(Sek::ZERO);
        to_fees[i] = take;
        left -= take;
    }
    let to_interest = left.min(interest).max(Sek::ZERO);
    left -= to_interest;
    let to_capital = left.min(capital).max(Sek::ZERO);
    left -= to_capital;
    Allocation {
        to_fees,
        to_interest,
        to_capital,
        remainder: left,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FeeLine {
    pub kind: FeeKind,
    pub amount: Sek,
    pub owed: Sek,
    pub charged_on: NaiveDate,
    /// Cancelled under A11 (the claim was paid before the letter went out).
    pub cancelled: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentLine {
    pub booked: NaiveDate,
    pub amount: Sek,
    pub allocation: Allocation,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub as_of: NaiveDate,
    /// Outstanding capital.
    pub capital: Sek,
    /// Unpaid interest accrued to `as_of`.
    pub interest: Sek,
    /// Fees charged up to `as_of` (cancelled ones flagged, owing nothing).
    pub fees: Vec<FeeLine>,
    /// Everything the debtor paid through Fordra.
    pub paid: Sek,
    /// Paid beyond what was owed: a refund to the payer.
    pub overpaid: Sek,
    pub balance: Sek,
    pub interest_paid: Sek,
    pub capital_reduced: Sek,
    /// When everything owed was settled, if it is.
    pub settled_on: Option<NaiveDate>,
    pub payments: Vec<PaymentLine>,
    /// The running (unpaid) interest period up to `as_of`, for letters and pages.
    pub current_segments: Vec<Segment>,
}

impl Statement {
    pub fn fees_owed(&self) -> Sek {
        self.fees.iter().map(|f| f.owed).sum()
    }
}

fn cancellable(kind: FeeKind) -> bool {
    matches!(kind, FeeKind::Reminder | FeeKind::Collection)
}

pub fn statement(input: &StatementInput) -> Result<Statement, InterestError> {
    let day = Duration::days(1);
    let mut capital = input.capital;
    let mut interest = Sek::ZERO;
    let mut accrued_through = input.interest_from - day;
    let mut owed: Vec<Sek> = input.fees.iter().map(|f| f.amount).collect();
    let mut cancelled = vec![false; input.fees.len()];
    let mut opened = vec![false; input.fees.len()];
    let mut settled_on: Option<NaiveDate> = None;
    let (mut paid, mut overpaid, mut interest_paid, mut capital_reduced) =
        (Sek::ZERO, Sek::ZERO, Sek::ZERO, Sek::ZERO);
    let mut payments = vec![];
    let mut segments = vec![];

    let mut movements: Vec<&Movement> = input
        .movements
        .iter()
        .filter(|m| m.date() <= input.as_of)
        .collect();
    movements.sort_by_key(|m| m.date());

    // Opens the fees charged by `date`; a letter that went out after the claim was settled
    // loses its fee (A11), except the 450 kr, which reopens the claim.
    let open_fees = |date: NaiveDate,
                     opened: &mut Vec<bool>,
                     cancelled: &mut Vec<bool>,
                     owed: &mut Vec<Sek>,
                     settled_on: &mut Option<NaiveDate>| {
        let mut order: Vec<usize> = (0..input.fees.len())
            .filter(|&i| !opened[i] && input.fees[i].charged_on <= date)
            .collect();
        order.sort_by_key(|&i| input.fees[i].charged_on);
        for i in order {
            opened[i] = true;
            if let Some(s) = *settled_on
                && input.fees[i].charged_on > s
            {
                if cancellable(input.fees[i].kind) {
                    cancelled[i] = true;
                    owed[i] = Sek::ZERO;
                } else {
                    *settled_on = None;
                }
            }
        }
    };

    for m in movements {
        let date = m.date();
        open_fees(
            date,
            &mut opened,
            &mut cancelled,
            &mut owed,
            &mut settled_on,
        );
        if date > accrued_through {
            let exact = accrue(
                capital,
                accrued_through + day,
                date,
                input.rates,
                input.margin,
                input.basis,
                &mut Vec::new(),
            )?;
            interest += Sek::from_decimal(exact);
            accrued_through = date;
        }
        match *m {
            Movement::Payment { booked, amount } => {
                paid += amount;
                let fees_owed: Vec<(NaiveDate, Sek)> = input
                    .fees
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.charged_on, if opened[i] { owed[i] } else { Sek::ZERO }))
                    .collect();
                let a = allocate(amount, &fees_owed, interest, capital);
                for (i, take) in a.to_fees.iter().enumerate() {
                    owed[i] -= *take;
                }
                interest -= a.to_interest;
                interest_paid += a.to_interest;
                capital -= a.to_capital;
                overpaid += a.remainder;
                payments.push(PaymentLine {
                    booked,
                    amount,
                    allocation: a,
                });
            }
            Movement::CapitalReduction { amount, .. } => {
                let take = amount.min(capital);
                capital -= take;
                capital_reduced += take;
            }
        }
        let fees_open: Sek = (0..owed.len())
            .filter(|&i| opened[i])
            .map(|i| owed[i])
            .sum();
        if settled_on.is_none()
            && capital.is_zero()
            && interest.is_zero()
            && fees_open.is_zero()
            && !paid.is_zero()
        {
            settled_on = Some(date);
        }
    }
    open_fees(
        input.as_of,
        &mut opened,
        &mut cancelled,
        &mut owed,
        &mut settled_on,
    );
    if input.as_of > accrued_through && !capital.is_zero() {
        let exact = accrue(
            capital,
            accrued_through + day,
            input.as_of,
            input.rates,
            input.margin,
            input.basis,
            &mut segments,
        )?;
        interest += Sek::from_decimal(exact);
    }
    let fees: Vec<FeeLine> = input
        .fees
        .iter()
        .enumerate()
        .filter(|(i, _)| opened[*i])
        .map(|(i, f)| FeeLine {
            kind: f.kind,
            amount: f.amount,
            owed: owed[i],
            charged_on: f.charged_on,
            cancelled: cancelled[i],
        })
        .collect();
    let fees_owed: Sek = fees.iter().map(|f| f.owed).sum();
    Ok(Statement {
        as_of: input.as_of,
        capital,
        interest,
        balance: capital + interest + fees_owed,
        fees,
        paid,
        overpaid,
        interest_paid,
        capital_reduced,
        settled_on,
        payments,
        current_segments: segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn ex1_fees() -> Vec<FeeCharge> {
        vec![
            FeeCharge {
                kind: FeeKind::Reminder,
                amount: Sek::kronor(60),
                charged_on: d("2025-04-08"),
            },
            FeeCharge {
                kind: FeeKind::Collection,
                amount: Sek::kronor(180),
                charged_on: d("2025-04-25"),
            },
        ]
    }

    fn run(fees: &[FeeCharge], movements: &[Movement], as_of: &str) -> Statement {
        let rates = RateTable::sweden_2022_2026();
        statement(&StatementInput {
            capital: Sek::kronor(10_000),
            interest_from: d("2025-04-01"),
            fees,
            movements,
            as_of: d(as_of),
            rates: &rates,
            margin: Decimal::from(8),
            basis: DayCount::Actual365,
        })
        .unwrap()
    }

    #[test]
    fn example_1_total_due() {
        let s = run(&ex1_fees(), &[], "2025-06-15");
        assert_eq!(s.interest, Sek::new(229, 4));
        assert_eq!(s.balance, Sek::new(10_469, 4));
        assert_eq!(s.current_segments.len(), 1);
    }

    #[test]
    fn example_4_part_payment_then_the_rest() {
        let first = [Movement::Payment {
            booked: d("2025-05-15"),
            amount: Sek::kronor(5000),
        }];
        let s = run(&ex1_fees(), &first, "2025-05-15");
        let a = &s.payments[0].allocation;
        assert_eq!(a.to_fees, vec![Sek::kronor(60), Sek::kronor(180)]);
        assert_eq!(a.to_interest, Sek::new(135, 62));
        assert_eq!(a.to_capital, Sek::new(4624, 38));
        assert_eq!(s.capital, Sek::new(5375, 62));

        let before_rest = run(&ex1_fees(), &first, "2025-06-15");
        assert_eq!(before_rest.interest, Sek::new(50, 22));
        assert_eq!(before_rest.balance, Sek::new(5425, 84));

        let both = [
            first[0],
            Movement::Payment {
                booked: d("2025-06-15"),
                amount: Sek::new(5425, 84),
            },
        ];
        let done = run(&ex1_fees(), &both, "2025-06-15");
        assert_eq!(done.balance, Sek::ZERO);
        assert_eq!(done.settled_on, Some(d("2025-06-15")));
        assert_eq!(done.overpaid, Sek::ZERO);
        assert_eq!(done.paid, Sek::new(10_425, 84));
    }

    #[test]
    fn a11_payment_before_the_demand_cancels_its_fee() {
        // Everything owed on 2025-04-24: 10 000 + 60 + 24 days of interest (72,33).
        let full = [Movement::Payment {
            booked: d("2025-04-24"),
            amount: Sek::new(10_132, 33),
        }];
        let s = run(&ex1_fees(), &full, "2025-05-10");
        assert_eq!(s.settled_on, Some(d("2025-04-24")));
        assert!(s.fees[1].cancelled && s.fees[1].owed.is_zero());
        assert_eq!(s.balance, Sek::ZERO);

        // Booked the same day the demand went out: the fee stands (sent no later than booking).
        let same_day = [Movement::Payment {
            booked: d("2025-04-25"),
            amount: Sek::new(10_132, 33),
        }];
        let s = run(&ex1_fees(), &same_day, "2025-05-10");
        assert!(!s.fees[1].cancelled);
        assert!(s.balance.is_positive());

        // A part payment before the demand cancels nothing.
        let part = [Movement::Payment {
            booked: d("2025-04-24"),
            amount: Sek::kronor(5000),
        }];
        let s = run(&ex1_fees(), &part, "2025-05-10");
        assert!(!s.fees[1].cancelled);
        assert_eq!(s.fees[1].owed, Sek::kronor(180));
    }

    #[test]
    fn business_compensation_is_never_cancelled() {
        let fees = [FeeCharge {
            kind: FeeKind::LatePaymentCompensation,
            amount: Sek::kronor(450),
            charged_on: d("2025-04-25"),
        }];
        let full = [Movement::Payment {
            booked: d("2025-04-24"),
            amount: Sek::new(10_072, 33),
        }];
        let s = run(&fees, &full, "2025-05-10");
        assert!(!s.fees[0].cancelled);
        assert_eq!(s.fees[0].owed, Sek::kronor(450));
        assert_eq!(s.settled_on, None);
    }

    #[test]
    fn overpayment_and_capital_reductions() {
        let moves = [
            Movement::CapitalReduction {
                on: d("2025-04-10"),
                amount: Sek::kronor(4000),
            },
            Movement::Payment {
                booked: d("2025-04-20"),
                amount: Sek::kronor(7000),
            },
        ];
        let s = run(&ex1_fees(), &moves, "2025-05-01");
        assert_eq!(s.capital_reduced, Sek::kronor(4000));
        assert_eq!(s.capital, Sek::ZERO);
        assert!(s.overpaid.is_positive());
        assert_eq!(s.settled_on, Some(d("2025-04-20")));
        assert!(
            s.fees[1].cancelled,
            "the demand went out after the claim was paid"
        );
        assert_eq!(
            s.paid,
            s.overpaid + s.interest_paid + Sek::kronor(60) + Sek::kronor(6000)
        );
    }

    proptest! {
        #[test]
        fn allocation_conserves_money_and_never_goes_negative(
            pay in 0i64..5_000_000, f1 in 0i64..50_000, f2 in 0i64..50_000, int in 0i64..500_000, cap in 0i64..10_000_000
        ) {
            let ore = |n: i64| Sek::new(n / 100, n % 100);
            let fees = [(d("2025-02-01"), ore(f2)), (d("2025-01-01"), ore(f1))];
            let a = allocate(ore(pay), &fees, ore(int), ore(cap));
            let total: Sek = a.to_fees.iter().copied().sum::<Sek>() + a.to_interest + a.to_capital + a.remainder;
            prop_assert_eq!(total, ore(pay));
            for part in a.to_fees.iter().chain([&a.to_interest, &a.to_capital, &a.remainder]) {
                prop_assert!(!part.is_negative());
            }
            prop_assert!(a.to_fees[0] <= ore(f2) && a.to_fees[1] <= ore(f1));
            // Oldest fee first, then the next, then interest, then capital.
            if a.to_fees[1] < ore(f1) { prop_assert!(a.to_fees[0].is_zero() && a.to_interest.is_zero()); }
            if a.to_interest < ore(int) { prop_assert!(a.to_capital.is_zero()); }
            if !a.remainder.is_zero() { prop_assert_eq!(a.to_capital, ore(cap)); }
        }

        #[test]
        fn statements_conserve_money(p1 in 1i64..1_200_000, p2 in 0i64..1_200_000, gap in 1i64..60) {
            let ore = |n: i64| Sek::new(n / 100, n % 100);
            let moves = [
                Movement::Payment { booked: d("2025-04-15"), amount: ore(p1) },
                Movement::Payment { booked: d("2025-04-15") + Duration::days(gap), amount: ore(p2) },
            ];
            let s = run(&ex1_fees(), &moves, "2025-07-01");
            let allocated: Sek = s.payments.iter().map(|p| p.allocation.to_fees.iter().copied().sum::<Sek>() + p.allocation.to_interest + p.allocation.to_capital + p.allocation.remainder).sum();
            prop_assert_eq!(allocated, s.paid);
            prop_assert!(!s.balance.is_negative());
            prop_assert_eq!(s.capital + s.paid - s.overpaid - s.interest_paid - (s.fees.iter().map(|f| f.amount - f.owed).sum::<Sek>() - s.fees.iter().filter(|f| f.cancelled).map(|f| f.amount).sum::<Sek>()), Sek::kronor(10_000));
        }
    }
}
