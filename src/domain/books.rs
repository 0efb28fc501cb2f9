//! A claim's money as the journal holds it, and as its statement says the journal should hold
//! it. Pure: the ledger sums, the statement decides.

use rust_decimal::Decimal;

use super::{money::Sek, statement::Statement};

/// A claim's money as the journal holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimBooks {
    /// Money received for the claim (matched payments).
    pub received: Sek,
    pub to_fees: Sek,
    pub to_interest: Sek,
    pub to_capital: Sek,
    /// Overpaid: owed back to the payer (before refunds).
    pub overpaid: Sek,
    /// Received but not allocated (zero after every committed change).
    pub unallocated: Sek,
    /// Capital moved into creditor settlements.
    pub settled: Sek,
    /// Refunds paid out.
    pub refunded: Sek,
}

impl ClaimBooks {
    pub fn capital_to_settle(&self) -> Sek {
        self.to_capital - self.settled
    }
}

/// A claim's books from its journal sums per (account, entry kind).
pub fn books_from_sums(sums: Vec<(String, String, Decimal)>) -> ClaimBooks {
    let mut b = ClaimBooks::default();
    for (account, kind, sum) in sums {
        let credit = Sek::from_decimal(-sum);
        match (account.as_str(), kind.as_str()) {
            // A payment matched as it arrives: received into the bank and allocated in one entry.
            ("bank", "payment_matched") => b.received -= credit,
            ("claim_payments", "allocation" | "payment_matched") => b.unallocated += credit,
            ("claim_payments", _) => {
                b.received += credit;
                b.unallocated += credit;
            }
            ("fee_income", _) => b.to_fees += credit,
            ("interest_income", _) => b.to_interest += credit,
            ("creditor_payable", "allocation" | "payment_matched") => b.to_capital += credit,
            ("creditor_payable", _) => b.settled -= credit,
            ("refund_payable", "allocation" | "payment_matched") => b.overpaid += credit,
            ("refund_payable", _) => b.refunded -= credit,
            _ => {}
        }
    }
    b
}

/// What the statement says the journal should hold for a claim.
pub fn target(s: &Statement) -> ClaimBooks {
    let mut b = ClaimBooks { received: s.paid, ..ClaimBooks::default() };
    for p in &s.payments {
        b.to_fees += p.allocation.fees_total();
        b.to_interest += p.allocation.to_interest;
        b.to_capital += p.allocation.to_capital;
        b.overpaid += p.allocation.remainder;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(rows: &[(&str, &str, i64)]) -> Vec<(String, String, Decimal)> {
        rows.iter().map(|(a, k, v)| (a.to_string(), k.to_string(), Decimal::new(*v, 2))).collect()
    }

    /// 1 000 kr paid on a claim: 180 kr to fees, 20 kr to interest, 800 kr to capital. Booked
    /// as received then allocated (two entries), or received and allocated in one
    /// (`payment_matched`), the claim's books are the same.
    #[test]
    fn a_payment_allocated_as_it_arrives_gives_the_same_books_as_two_entries() {
        let two = books_from_sums(sums(&[
            ("claim_payments", "payment_in", -100_000),
            ("claim_payments", "allocation", 100_000),
            ("fee_income", "allocation", -18_000),
            ("interest_income", "allocation", -2_000),
            ("creditor_payable", "allocation", -80_000),
        ]));
        let one = books_from_sums(sums(&[
            ("bank", "payment_matched", 100_000),
            ("fee_income", "payment_matched", -18_000),
            ("interest_income", "payment_matched", -2_000),
            ("creditor_payable", "payment_matched", -80_000),
        ]));
        assert_eq!(one, two);
        assert_eq!(one.received, Sek::kronor(1000));
        assert_eq!(one.to_capital, Sek::kronor(800));
        assert_eq!(one.unallocated, Sek::ZERO);
        // A later reallocation (a corrected rate) moves money between parts, as before.
        let mut later = sums(&[
            ("bank", "payment_matched", 100_000),
            ("fee_income", "payment_matched", -18_000),
            ("interest_income", "payment_matched", -2_000),
            ("creditor_payable", "payment_matched", -80_000),
        ]);
        later.extend(sums(&[
            ("interest_income", "allocation", -500),
            ("creditor_payable", "allocation", 500),
        ]));
        let b = books_from_sums(later);
        assert_eq!((b.to_interest, b.to_capital), (Sek::kronor(25), Sek::kronor(795)));
        assert_eq!(b.received, Sek::kronor(1000));
    }
}
