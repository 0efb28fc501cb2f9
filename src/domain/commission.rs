//! Partner commission: per letter whose fee the debtor paid (6 kr per reminder, 20 kr per
//! inkassokrav, including 25 % VAT), while the partner relationship lasts and up to 12 months
//! after it ended.

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;

use super::{
    fees::{FeeKind, LetterKind},
    money::Sek,
    rules::RuleSet,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commission {
    /// Including VAT.
    pub gross: Sek,
    pub net: Sek,
    pub vat: Sek,
}

/// Splits a VAT-inclusive amount: net rounded half-up to öre, VAT the rest.
pub fn split_vat(gross: Sek, vat_percent: Decimal) -> Commission {
    let net =
        Sek::from_decimal(gross.amount() * Decimal::from(100) / (Decimal::from(100) + vat_percent));
    Commission { gross, net, vat: gross - net }
}

/// Commission earned when the fee `paid` has been paid in full. For a business debtor the 450 kr
/// stands for every letter issued: a reminder and an inkassokrav each earn theirs.
pub fn on_fee_paid(
    paid: FeeKind,
    letters_issued: &[LetterKind],
    rules: &RuleSet,
) -> Option<Commission> {
    let gross = match paid {
        FeeKind::Reminder => rules.commission_reminder,
        FeeKind::Collection => rules.commission_collection,
        FeeKind::LatePaymentCompensation => letters_issued
            .iter()
            .map(|l| match l {
                LetterKind::Reminder => rules.commission_reminder,
                LetterKind::Collection => rules.commission_collection,
                LetterKind::FinalNotice
                | LetterKind::PaymentPlan
                | LetterKind::PlanBroken
                | LetterKind::Withdrawal => Sek::ZERO,
            })
            .sum(),
        FeeKind::PaymentPlan => Sek::ZERO,
    };
    (!gross.is_zero()).then(|| split_vat(gross, rules.commission_vat_percent))
}

/// A fee the statement shows paid in full, what it earns and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Earned {
    pub fee: FeeKind,
    /// The letters a business debtor's 450 kr stands for (empty for the other fees).
    pub letters: Vec<LetterKind>,
    /// The booking date of the payment that completed the fee.
    pub booked_on: NaiveDate,
    pub commission: Commission,
}

/// The commission a claim's statement has earned: every fee that the allocation of its
/// payments (`Statement::payments`, whose `to_fees` follow `Statement::fees`) paid in full and
/// that was not cancelled. `letters` are the claim's letters with the date each was issued: the
/// 450 kr earns for each reminder and inkassokrav issued on or before the day it was paid in
/// full, and nothing for later ones.
pub fn earned(
    s: &super::statement::Statement,
    letters: &[(LetterKind, NaiveDate)],
    rules: &RuleSet,
) -> Vec<Earned> {
    let mut out = Vec::new();
    for (i, fee) in s.fees.iter().enumerate() {
        if fee.cancelled || !fee.owed.is_zero() || fee.amount.is_zero() {
            continue;
        }
        let mut paid = Sek::ZERO;
        let Some(booked_on) = s.payments.iter().find_map(|p| {
            paid += p.allocation.to_fees.get(i).copied().unwrap_or(Sek::ZERO);
            (paid >= fee.amount).then_some(p.booked)
        }) else {
            continue;
        };
        let issued: Vec<LetterKind> = match fee.kind {
            FeeKind::LatePaymentCompensation => letters
                .iter()
                .filter(|(k, on)| {
                    *on <= booked_on && matches!(k, LetterKind::Reminder | LetterKind::Collection)
                })
                .map(|(k, _)| *k)
                .collect(),
            _ => Vec::new(),
        };
        if let Some(commission) = on_fee_paid(fee.kind, &issued, rules) {
            out.push(Earned { fee: fee.kind, letters: issued, booked_on, commission });
        }
    }
    out
}

/// Whether a payment on `paid_on` earns commission for an attribution that started on `from`
/// and possibly ended on `until`.
pub fn eligible(
    from: NaiveDate,
    until: Option<NaiveDate>,
    paid_on: NaiveDate,
    rules: &RuleSet,
) -> bool {
    if paid_on < from {
        return false;
    }
    match until {
        None => true,
        Some(end) => end
            .checked_add_months(Months::new(rules.commission_tail_months))
            .is_some_and(|limit| paid_on <= limit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::statement::{FeeCharge, Movement, Statement, StatementInput};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn amounts_with_vat_split() {
        let r = RuleSet::sweden_2013();
        let c = on_fee_paid(FeeKind::Reminder, &[], &r).unwrap();
        assert_eq!((c.gross, c.net, c.vat), (Sek::kronor(6), Sek::new(4, 80), Sek::new(1, 20)));
        let c = on_fee_paid(FeeKind::Collection, &[], &r).unwrap();
        assert_eq!((c.gross, c.net, c.vat), (Sek::kronor(20), Sek::kronor(16), Sek::kronor(4)));
        let b = on_fee_paid(
            FeeKind::LatePaymentCompensation,
            &[LetterKind::Reminder, LetterKind::Collection, LetterKind::FinalNotice],
            &r,
        )
        .unwrap();
        assert_eq!(b.gross, Sek::kronor(26));
        assert_eq!(on_fee_paid(FeeKind::PaymentPlan, &[], &r), None);
    }

    fn statement(
        fees: &[(FeeKind, i64, &str)],
        payments: &[(&str, i64)],
        as_of: &str,
    ) -> Statement {
        use crate::domain::{
            interest::Terms,
            rules::{DayCount, RateTable},
        };
        let fees: Vec<FeeCharge> = fees
            .iter()
            .map(|(kind, kr, on)| FeeCharge {
                kind: *kind,
                amount: Sek::kronor(*kr),
                charged_on: d(on),
            })
            .collect();
        let moves: Vec<Movement> = payments
            .iter()
            .map(|(on, kr)| Movement::Payment { booked: d(on), amount: Sek::kronor(*kr) })
            .collect();
        let rates = RateTable::sweden_2022_2026();
        crate::domain::statement::statement(&StatementInput {
            capital: Sek::kronor(10_000),
            interest_from: d("2025-04-01"),
            fees: &fees,
            movements: &moves,
            as_of: d(as_of),
            terms: Terms { rates: &rates, margin: Decimal::from(8), basis: DayCount::Actual365 },
        })
        .unwrap()
    }

    const CONSUMER: [(FeeKind, i64, &str); 2] =
        [(FeeKind::Reminder, 60, "2025-04-08"), (FeeKind::Collection, 180, "2025-04-25")];

    #[test]
    fn paying_only_the_reminder_fee_earns_six_kronor() {
        let r = RuleSet::sweden_2013();
        let s = statement(&CONSUMER, &[("2025-05-02", 60)], "2025-05-10");
        let e = earned(&s, &[], &r);
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].fee, e[0].booked_on, e[0].commission.gross),
            (FeeKind::Reminder, d("2025-05-02"), Sek::kronor(6))
        );
        // 59 kr pays no fee in full: nothing.
        let s = statement(&CONSUMER, &[("2025-05-02", 59)], "2025-05-10");
        assert!(earned(&s, &[], &r).is_empty());
    }

    #[test]
    fn paying_everything_after_the_inkassokrav_earns_twenty_six() {
        let r = RuleSet::sweden_2013();
        let s = statement(&CONSUMER, &[("2025-05-02", 20_000)], "2025-05-10");
        let total: Sek = earned(&s, &[], &r).iter().map(|e| e.commission.gross).sum();
        assert_eq!(total, Sek::kronor(26));
        // Paid in two parts: each fee is earned on the day it was completed.
        let s = statement(&CONSUMER, &[("2025-05-02", 100), ("2025-06-01", 200)], "2025-06-10");
        let e = earned(&s, &[], &r);
        let dates: Vec<_> = e.iter().map(|e| (e.fee, e.booked_on)).collect();
        assert_eq!(
            dates,
            [(FeeKind::Reminder, d("2025-05-02")), (FeeKind::Collection, d("2025-06-01"))]
        );
    }

    #[test]
    fn a_business_debtors_450_earns_for_the_letters_issued_before_it_was_paid() {
        let r = RuleSet::sweden_2013();
        let fees = [(FeeKind::LatePaymentCompensation, 450, "2025-04-25")];
        let letters = [
            (LetterKind::Reminder, d("2025-04-08")),
            (LetterKind::Collection, d("2025-04-25")),
            (LetterKind::FinalNotice, d("2025-05-20")),
        ];
        let s = statement(&fees, &[("2025-05-02", 450)], "2025-05-10");
        let e = earned(&s, &letters, &r);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].letters, [LetterKind::Reminder, LetterKind::Collection]);
        assert_eq!(e[0].commission.gross, Sek::kronor(26));
        // Paid in full before the inkassokrav went out: only the reminder counts.
        let fees = [(FeeKind::LatePaymentCompensation, 450, "2025-04-08")];
        let s = statement(&fees, &[("2025-05-02", 450)], "2025-05-20");
        let late =
            [(LetterKind::Reminder, d("2025-04-08")), (LetterKind::Collection, d("2025-05-10"))];
        assert_eq!(earned(&s, &late, &r)[0].commission.gross, Sek::kronor(6));
    }

    #[test]
    fn twelve_month_tail() {
        let r = RuleSet::sweden_2013();
        assert!(eligible(d("2025-01-01"), None, d("2026-06-01"), &r));
        assert!(eligible(d("2025-01-01"), Some(d("2025-06-30")), d("2026-06-30"), &r));
        assert!(!eligible(d("2025-01-01"), Some(d("2025-06-30")), d("2026-07-01"), &r));
        assert!(!eligible(d("2025-01-01"), None, d("2024-12-31"), &r));
    }
}
