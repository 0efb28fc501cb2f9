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
            ("claim_payments", "allocation") => b.unallocated += credit,
            ("claim_payments", _) => {
                b.received += credit;
                b.unallocated += credit;
            }
            ("fee_income", _) => b.to_fees += credit,
            ("interest_income", _) => b.to_interest += credit,
            ("creditor_payable", "allocation") => b.to_capital += credit,
            ("creditor_payable", _) => b.settled -= credit,
            ("refund_payable", "allocation") => b.overpaid += credit,
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
