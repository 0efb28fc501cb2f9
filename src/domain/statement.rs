//! A claim's account: payments allocated in booking-date order to fees (oldest first), interest
//! accrued to the booking date, then capital; overpayment returned as a remainder. Interest runs
//! on capital only (A16: none on fees) and restarts on the remaining capital after each payment.
//!
//! A11: when payments booked strictly before a letter's dispatch date settled everything owed on
//! their booking date, the reminder, inkassokrav or plan fee of that letter is cancelled and the
//! claim is paid. A part payment before the letter cancels nothing. The business 450 kr is owed
//! from the first day of delay (A12): it is cancelled only when payments booked on or before the
//! effective due date settled the claim, whenever they were matched; a payment booked later
//! leaves it owed, even when booked before the letter.
//!
//! Money held for a claim (paid beyond what was owed) pays whatever becomes owed later, a fee
//! charged afterwards included, before anything is refunded: a claim never both owes and holds
//! a surplus.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::{
    fees::FeeKind,
    interest::{InterestError, Segment, Terms, accrue},
    money::Sek,
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
    pub terms: Terms<'a>,
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
    Allocation { to_fees, to_interest, to_capital, remainder: left }
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
    /// The interest periods since interest was last paid in full, up to `as_of`, each with the
    /// capital it ran on (a direct payment or credit starts a new one): the lines of letters and
    /// pages.
    pub current_segments: Vec<Segment>,
    /// What was already paid of the interest in `current_segments` (a part payment).
    pub segments_paid: Sek,
    /// Some interest day was computed with an assumed rate (none published yet): the amounts
    /// are preliminary, and no letter may carry them.
    pub preliminary: bool,
}

impl Statement {
    /// A statement with nothing owed, for a closed claim's notice.
    pub fn closed(as_of: NaiveDate) -> Statement {
        Statement {
            as_of,
            capital: Sek::ZERO,
            interest: Sek::ZERO,
            fees: vec![],
            paid: Sek::ZERO,
            overpaid: Sek::ZERO,
            balance: Sek::ZERO,
            interest_paid: Sek::ZERO,
            capital_reduced: Sek::ZERO,
            settled_on: None,
            payments: vec![],
            current_segments: vec![],
            segments_paid: Sek::ZERO,
            preliminary: false,
        }
    }

    pub fn fees_owed(&self) -> Sek {
        self.fees.iter().map(|f| f.owed).sum()
    }
}

/// The fees of a letter that cannot have been earned when the claim was settled before the
/// letter went out (A11): reminder, inkassokrav and plan fee.
fn cancellable(kind: FeeKind) -> bool {
    matches!(kind, FeeKind::Reminder | FeeKind::Collection | FeeKind::PaymentPlan)
}

/// The running account while movements are applied in date order.
struct Account<'a> {
    input: &'a StatementInput<'a>,
    capital: Sek,
    interest: Sek,
    /// Paid beyond everything owed so far: money held for the claim.
    held: Sek,
    owed: Vec<Sek>,
    opened: Vec<bool>,
    cancelled: Vec<bool>,
    settled_on: Option<NaiveDate>,
    paid: Sek,
    payments: Vec<PaymentLine>,
}

impl Account<'_> {
    fn fees_open(&self) -> Sek {
        (0..self.owed.len()).filter(|&i| self.opened[i]).map(|i| self.owed[i]).sum()
    }

    fn note_if_settled(&mut self, date: NaiveDate) {
        if self.settled_on.is_none()
            && self.capital.is_zero()
            && self.interest.is_zero()
            && self.fees_open().is_zero()
            && !self.paid.is_zero()
        {
            self.settled_on = Some(date);
        }
    }

    /// Opens the fees charged by `date`, oldest first.
    ///
    /// A fee whose letter went out after the claim was settled is decided here: a reminder,
    /// inkassokrav or plan fee is cancelled (A11: the payment was booked strictly before the
    /// letter's dispatch date). The business 450 kr is owed from the first day of delay: it is
    /// cancelled only when the claim was settled on or before the effective due date (no delay
    /// at all); otherwise it is owed and reopens the claim. Money already held for the claim
    /// then pays what the new fees ask before anything is refunded.
    fn open_fees(&mut self, date: NaiveDate) {
        let fees = self.input.fees;
        let effective_due = self.input.interest_from - Duration::days(1);
        let mut order: Vec<usize> =
            (0..fees.len()).filter(|&i| !self.opened[i] && fees[i].charged_on <= date).collect();
        order.sort_by_key(|&i| fees[i].charged_on);
        for i in order {
            self.opened[i] = true;
            let Some(settled) = self.settled_on else {
                continue;
            };
            if fees[i].charged_on <= settled {
                continue;
            }
            let no_delay = settled <= effective_due;
            if cancellable(fees[i].kind)
                || (fees[i].kind == FeeKind::LatePaymentCompensation && no_delay)
            {
                self.cancelled[i] = true;
                self.owed[i] = Sek::ZERO;
            } else {
                self.settled_on = None;
                self.pay_from_held(i, fees[i].charged_on);
            }
        }
    }

    /// Money held for the claim pays fee `i` (the payments it came from are re-split).
    fn pay_from_held(&mut self, i: usize, on: NaiveDate) {
        let take = self.held.min(self.owed[i]).max(Sek::ZERO);
        if take.is_zero() {
            return;
        }
        self.held -= take;
        self.owed[i] -= take;
        let mut left = take;
        for p in self.payments.iter_mut() {
            let part = left.min(p.allocation.remainder);
            p.allocation.remainder -= part;
            p.allocation.to_fees[i] += part;
            left -= part;
        }
        self.note_if_settled(on);
    }
}

pub fn statement(input: &StatementInput) -> Result<Statement, InterestError> {
    let day = Duration::days(1);
    let mut a = Account {
        input,
        capital: input.capital,
        interest: Sek::ZERO,
        held: Sek::ZERO,
        owed: input.fees.iter().map(|f| f.amount).collect(),
        opened: vec![false; input.fees.len()],
        cancelled: vec![false; input.fees.len()],
        settled_on: None,
        paid: Sek::ZERO,
        payments: vec![],
    };
    let mut accrued_through = input.interest_from - day;
    let (mut interest_paid, mut capital_reduced) = (Sek::ZERO, Sek::ZERO);
    // Interest periods not yet paid in full, and what was paid of them.
    let mut open: Vec<Segment> = vec![];
    let mut open_paid = Sek::ZERO;
    let mut preliminary = false;

    let mut movements: Vec<&Movement> =
        input.movements.iter().filter(|m| m.date() <= input.as_of).collect();
    movements.sort_by_key(|m| m.date());

    for m in movements {
        let date = m.date();
        a.open_fees(date);
        if date > accrued_through {
            let days = (accrued_through + day, date);
            let exact = accrue(a.capital, days, input.terms, &mut open)?;
            a.interest += Sek::from_decimal(exact);
            accrued_through = date;
        }
        match *m {
            Movement::Payment { booked, amount } => {
                a.paid += amount;
                let fees_owed: Vec<(NaiveDate, Sek)> = input
                    .fees
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.charged_on, if a.opened[i] { a.owed[i] } else { Sek::ZERO }))
                    .collect();
                let alloc = allocate(amount, &fees_owed, a.interest, a.capital);
                for (i, take) in alloc.to_fees.iter().enumerate() {
                    a.owed[i] -= *take;
                }
                a.interest -= alloc.to_interest;
                interest_paid += alloc.to_interest;
                if a.interest.is_zero() {
                    preliminary |= open.iter().any(|s| s.preliminary);
                    open.clear();
                    open_paid = Sek::ZERO;
                } else {
                    open_paid += alloc.to_interest;
                }
                a.capital -= alloc.to_capital;
                a.held += alloc.remainder;
                a.payments.push(PaymentLine { booked, amount, allocation: alloc });
            }
            Movement::CapitalReduction { amount, .. } => {
                let take = amount.min(a.capital);
                a.capital -= take;
                capital_reduced += take;
            }
        }
        a.note_if_settled(date);
    }
    a.open_fees(input.as_of);
    if input.as_of > accrued_through && !a.capital.is_zero() {
        let days = (accrued_through + day, input.as_of);
        let exact = accrue(a.capital, days, input.terms, &mut open)?;
        a.interest += Sek::from_decimal(exact);
    }
    let fees: Vec<FeeLine> = input
        .fees
        .iter()
        .enumerate()
        .filter(|(i, _)| a.opened[*i])
        .map(|(i, f)| FeeLine {
            kind: f.kind,
            amount: f.amount,
            owed: a.owed[i],
            charged_on: f.charged_on,
            cancelled: a.cancelled[i],
        })
        .collect();
    let fees_owed: Sek = fees.iter().map(|f| f.owed).sum();
    Ok(Statement {
        as_of: input.as_of,
        capital: a.capital,
        interest: a.interest,
        balance: a.capital + a.interest + fees_owed,
        fees,
        paid: a.paid,
        overpaid: a.held,
        interest_paid,
        capital_reduced,
        settled_on: a.settled_on,
        payments: a.payments,
        preliminary: preliminary || open.iter().any(|s| s.preliminary),
        current_segments: open,
        segments_paid: open_paid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rules::{DayCount, RateTable};
    use rust_decimal::Decimal;

    /// A payment booked on `booked`.
    fn pay(booked: &str, amount: Sek) -> Movement {
        Movement::Payment { booked: d(booked), amount }
    }
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
            terms: Terms { rates: &rates, margin: Decimal::from(8), basis: DayCount::Actual365 },
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
        let first = [pay("2025-05-15", Sek::kronor(5000))];
        let s = run(&ex1_fees(), &first, "2025-05-15");
        let a = &s.payments[0].allocation;
        assert_eq!(a.to_fees, vec![Sek::kronor(60), Sek::kronor(180)]);
        assert_eq!(a.to_interest, Sek::new(135, 62));
        assert_eq!(a.to_capital, Sek::new(4624, 38));
        assert_eq!(s.capital, Sek::new(5375, 62));

        let before_rest = run(&ex1_fees(), &first, "2025-06-15");
        assert_eq!(before_rest.interest, Sek::new(50, 22));
        assert_eq!(before_rest.balance, Sek::new(5425, 84));

        let both = [first[0], pay("2025-06-15", Sek::new(5425, 84))];
        let done = run(&ex1_fees(), &both, "2025-06-15");
        assert_eq!(done.balance, Sek::ZERO);
        assert_eq!(done.settled_on, Some(d("2025-06-15")));
        assert_eq!(done.overpaid, Sek::ZERO);
        assert_eq!(done.paid, Sek::new(10_425, 84));
    }

    #[test]
    fn a11_payment_before_the_demand_cancels_its_fee() {
        // Everything owed on 2025-04-24: 10 000 + 60 + 24 days of interest (72,33).
        let full = [pay("2025-04-24", Sek::new(10_132, 33))];
        let s = run(&ex1_fees(), &full, "2025-05-10");
        assert_eq!(s.settled_on, Some(d("2025-04-24")));
        assert!(s.fees[1].cancelled && s.fees[1].owed.is_zero());
        assert_eq!(s.balance, Sek::ZERO);

        // Booked the same day the demand went out: the fee stands (sent no later than booking).
        let same_day = [pay("2025-04-25", Sek::new(10_132, 33))];
        let s = run(&ex1_fees(), &same_day, "2025-05-10");
        assert!(!s.fees[1].cancelled);
        assert!(s.balance.is_positive());

        // A part payment before the demand cancels nothing.
        let part = [pay("2025-04-24", Sek::kronor(5000))];
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
        let full = [pay("2025-04-24", Sek::new(10_072, 33))];
        let s = run(&fees, &full, "2025-05-10");
        assert!(!s.fees[0].cancelled);
        assert_eq!(s.fees[0].owed, Sek::kronor(450));
        assert_eq!(s.settled_on, None);
    }

    #[test]
    fn overpayment_and_capital_reductions() {
        let moves = [
            Movement::CapitalReduction { on: d("2025-04-10"), amount: Sek::kronor(4000) },
            pay("2025-04-20", Sek::kronor(7000)),
        ];
        let s = run(&ex1_fees(), &moves, "2025-05-01");
        assert_eq!(s.capital_reduced, Sek::kronor(4000));
        assert_eq!(s.capital, Sek::ZERO);
        assert!(s.overpaid.is_positive());
        assert_eq!(s.settled_on, Some(d("2025-04-20")));
        assert!(s.fees[1].cancelled, "the demand went out after the claim was paid");
        assert_eq!(s.paid, s.overpaid + s.interest_paid + Sek::kronor(60) + Sek::kronor(6000));
    }

    fn business(charged_on: &str) -> Vec<FeeCharge> {
        vec![FeeCharge {
            kind: FeeKind::LatePaymentCompensation,
            amount: Sek::kronor(450),
            charged_on: d(charged_on),
        }]
    }

    #[test]
    fn business_paid_by_the_due_date_owes_no_450_whenever_matched() {
        // Due 2025-03-31 (interest from 04-01); paid in full, with a little extra, on the due
        // date. The letter with the 450 kr went out on 04-08, before the payment was matched.
        let paid = [pay("2025-03-31", Sek::new(10_473, 2))];
        let s = run(&business("2025-04-08"), &paid, "2025-04-20");
        assert!(s.fees[0].cancelled);
        assert_eq!(s.balance, Sek::ZERO);
        assert_eq!(s.overpaid, Sek::new(473, 2), "all of the extra is refunded");
        assert_eq!(s.settled_on, Some(d("2025-03-31")));
    }

    #[test]
    fn business_paid_late_owes_the_450_and_money_held_pays_it() {
        // Booked 04-06, after the due date but two days before the letter of 04-08.
        let paid = [pay("2025-04-06", Sek::new(10_473, 2))];
        let s = run(&business("2025-04-08"), &paid, "2025-04-20");
        // Six days of interest (04-01..04-06) at 11 %: 18,08.
        assert!(!s.fees[0].cancelled);
        assert_eq!(s.fees[0].owed, Sek::ZERO, "the surplus paid the 450 kr");
        assert_eq!(s.balance, Sek::ZERO);
        assert_eq!(
            s.overpaid,
            Sek::new(10_473, 2) - Sek::kronor(10_000) - Sek::new(18, 8) - Sek::kronor(450)
        );
        let a = &s.payments[0].allocation;
        assert_eq!(a.to_fees, vec![Sek::kronor(450)]);
        assert_eq!(a.remainder, s.overpaid);
        assert_eq!(s.settled_on, Some(d("2025-04-08")));

        // Exactly the capital, booked late: the 450 kr and the interest stay owed.
        let capital_only = [pay("2025-04-06", Sek::kronor(10_000))];
        let s = run(&business("2025-04-08"), &capital_only, "2025-04-20");
        assert_eq!(s.fees[0].owed, Sek::kronor(450));
        assert!(s.balance > Sek::kronor(450));
        assert_eq!(s.overpaid, Sek::ZERO);
        assert_eq!(s.settled_on, None);

        // A surplus smaller than the fee pays what it can.
        let small = [pay("2025-04-06", Sek::new(10_118, 8))];
        let s = run(&business("2025-04-08"), &small, "2025-04-08");
        assert_eq!(s.fees[0].owed, Sek::kronor(350));
        assert_eq!(s.overpaid, Sek::ZERO);
        assert_eq!(s.balance, Sek::kronor(350));
    }

    #[test]
    fn after_a_direct_payment_each_interest_period_shows_its_own_capital() {
        // 4 000 kr paid to the creditor on 2025-04-20: interest ran on 10 000 until then and
        // on 6 000 since; both periods are still owed and both are shown.
        let moves = [Movement::CapitalReduction { on: d("2025-04-20"), amount: Sek::kronor(4000) }];
        let s = run(&[], &moves, "2025-05-10");
        let bases: Vec<Sek> = s.current_segments.iter().map(|g| g.base).collect();
        assert_eq!(bases, vec![Sek::kronor(10_000), Sek::kronor(6000)]);
        assert_eq!(s.current_segments[0].to, d("2025-04-20"));
        assert_eq!(s.current_segments[1].from, d("2025-04-21"));
        let lines: Sek = s.current_segments.iter().map(|g| g.amount()).sum();
        assert_eq!(lines, s.interest);
        // A payment that clears the interest starts the lines afresh; a part of the interest
        // paid is shown as paid.
        let paid_all = [pay("2025-04-20", Sek::kronor(1000))];
        let s = run(&[], &paid_all, "2025-05-10");
        assert_eq!(s.current_segments.len(), 1);
        assert_eq!(s.current_segments[0].from, d("2025-04-21"));
        let part = [pay("2025-04-20", Sek::kronor(10))];
        let s = run(&[], &part, "2025-05-10");
        assert_eq!(s.current_segments.len(), 2);
        assert_eq!(s.segments_paid, Sek::kronor(10));
        let lines: Sek = s.current_segments.iter().map(|g| g.amount()).sum();
        assert_eq!(lines - s.segments_paid, s.interest);
    }

    #[test]
    fn a_plan_fee_is_cancelled_like_the_other_letter_fees() {
        let mut fees = ex1_fees();
        fees.push(FeeCharge {
            kind: FeeKind::PaymentPlan,
            amount: Sek::kronor(170),
            charged_on: d("2025-05-20"),
        });
        // Everything owed on 2025-05-15 (10 000 + 240 + 45 days = 135,62), paid that day.
        let paid = [pay("2025-05-15", Sek::new(10_375, 62))];
        let s = run(&fees, &paid, "2025-06-01");
        assert!(s.fees[2].cancelled);
        assert_eq!(s.balance, Sek::ZERO);
    }

    proptest! {
        /// Whatever is paid and whenever the letters go out, a claim never both owes money and
        /// holds a surplus, and every krona paid is allocated somewhere.
        #[test]
        fn never_owes_and_holds_a_surplus(
            p1 in 1i64..1_200_000, d1 in 0i64..60, p2 in 0i64..1_200_000, d2 in 0i64..60,
            letter in 0i64..60, business_debtor: bool
        ) {
            let ore = |n: i64| Sek::new(n / 100, n % 100);
            let start = d("2025-03-25");
            let fees = if business_debtor {
                vec![FeeCharge { kind: FeeKind::LatePaymentCompensation, amount: Sek::kronor(450), charged_on: start + Duration::days(letter) }]
            } else {
                vec![
                    FeeCharge { kind: FeeKind::Reminder, amount: Sek::kronor(60), charged_on: start + Duration::days(letter) },
                    FeeCharge { kind: FeeKind::Collection, amount: Sek::kronor(180), charged_on: start + Duration::days(letter + 17) },
                ]
            };
            let moves = [
                Movement::Payment { booked: start + Duration::days(d1), amount: ore(p1) },
                Movement::Payment { booked: start + Duration::days(d2), amount: ore(p2) },
            ];
            let s = run(&fees, &moves, "2025-07-01");
            prop_assert!(s.balance.is_zero() || s.overpaid.is_zero(), "owes {} and holds {}", s.balance, s.overpaid);
            let allocated: Sek = s.payments.iter().map(|p| p.allocation.fees_total() + p.allocation.to_interest + p.allocation.to_capital + p.allocation.remainder).sum();
            prop_assert_eq!(allocated, s.paid);
            let remainders: Sek = s.payments.iter().map(|p| p.allocation.remainder).sum();
            prop_assert_eq!(remainders, s.overpaid);
        }

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
