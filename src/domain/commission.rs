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

    #[test]
    fn twelve_month_tail() {
        let r = RuleSet::sweden_2013();
        assert!(eligible(d("2025-01-01"), None, d("2026-06-01"), &r));
        assert!(eligible(d("2025-01-01"), Some(d("2025-06-30")), d("2026-06-30"), &r));
        assert!(!eligible(d("2025-01-01"), Some(d("2025-06-30")), d("2026-07-01"), &r));
        assert!(!eligible(d("2025-01-01"), None, d("2024-12-31"), &r));
    }
}
