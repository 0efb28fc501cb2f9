//! Which fee a letter may charge (lag 1981:739, rules A2–A17): 60 kr reminder fee only when agreed
//! and the debt is overdue; 180 kr once per claim for a 5 §-compliant demand; nothing for the
//! final notice; for business debtors 450 kr förseningsersättning on the first letter instead of
//! all of those; 170 kr for a complete payment plan (consumers).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{money::Sek, rules::RuleSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    Reminder,
    Collection,
    LatePaymentCompensation,
    PaymentPlan,
}

impl FeeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::Reminder => "reminder",
            FeeKind::Collection => "collection",
            FeeKind::LatePaymentCompensation => "late_payment_compensation",
            FeeKind::PaymentPlan => "payment_plan",
        }
    }

    pub fn parse(s: &str) -> Option<FeeKind> {
        Some(match s {
            "reminder" => FeeKind::Reminder,
            "collection" => FeeKind::Collection,
            "late_payment_compensation" => FeeKind::LatePaymentCompensation,
            "payment_plan" => FeeKind::PaymentPlan,
            _ => return None,
        })
    }

    /// The name Kronofogden's application form uses for the cost.
    pub fn legal_name(self) -> &'static str {
        match self {
            FeeKind::Reminder => "Påminnelseavgift",
            FeeKind::Collection => "Inkassokostnad",
            FeeKind::LatePaymentCompensation => "Förseningsersättning",
            FeeKind::PaymentPlan => "Kostnad för upprättande av amorteringsplan",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FeeKind::Reminder => "Påminnelseavgift",
            FeeKind::Collection => "Inkassoavgift",
            FeeKind::LatePaymentCompensation => "Förseningsersättning",
            FeeKind::PaymentPlan => "Avgift för avbetalningsplan",
        }
    }
}

/// The three letters of the lifecycle, and letters that are not steps of it: a payment plan's
/// schedule, the notice that a plan is broken, and the notice that a claim was withdrawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterKind {
    Reminder,
    Collection,
    FinalNotice,
    PaymentPlan,
    PlanBroken,
    Withdrawal,
}

impl LetterKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LetterKind::Reminder => "reminder",
            LetterKind::Collection => "collection",
            LetterKind::FinalNotice => "final_notice",
            LetterKind::PaymentPlan => "payment_plan",
            LetterKind::PlanBroken => "plan_broken",
            LetterKind::Withdrawal => "withdrawal",
        }
    }

    /// A letter of a lifecycle step (it moves the claim and sets the next step's deadline).
    pub fn is_step(self) -> bool {
        matches!(self, LetterKind::Reminder | LetterKind::Collection | LetterKind::FinalNotice)
    }

    pub fn parse(s: &str) -> Option<LetterKind> {
        Some(match s {
            "reminder" => LetterKind::Reminder,
            "collection" => LetterKind::Collection,
            "final_notice" => LetterKind::FinalNotice,
            "payment_plan" => LetterKind::PaymentPlan,
            "plan_broken" => LetterKind::PlanBroken,
            "withdrawal" => LetterKind::Withdrawal,
            _ => return None,
        })
    }
}

/// Whether the debtor acted as a consumer or in its business (never derived from the id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    Consumer,
    Business,
}

impl Capacity {
    pub fn as_str(self) -> &'static str {
        match self {
            Capacity::Consumer => "consumer",
            Capacity::Business => "business",
        }
    }
}

pub struct FeeFacts<'a> {
    pub capacity: Capacity,
    /// The creditor certified that a reminder fee was agreed when the debt arose (A2 c).
    pub reminder_fee_agreed: bool,
    pub effective_due_date: NaiveDate,
    /// The original due date (4 a § applies to claims falling due on or after 2013-03-16).
    pub due_date: NaiveDate,
    pub dispatch_date: NaiveDate,
    /// The demand states everything 5 § inkassolagen requires (A4).
    pub compliant_demand: bool,
    /// Fees already charged on this claim and not cancelled.
    pub charged: &'a [FeeKind],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeDecision {
    Charge { kind: FeeKind, amount: Sek },
    NoFee(NoFee),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoFee {
    /// A2 c: no reminder fee without an agreement when the debt arose.
    NotAgreed,
    /// A1/A2 b: nothing before the debt is overdue.
    NotOverdue,
    /// A3/A5: one of each per claim.
    AlreadyCharged,
    /// A8: a final notice earns nothing.
    FinalNoticeIsFree,
    /// A13: the 450 kr replaces every other fee.
    CompensationClaimed,
    /// A4: a demand missing 5 § content earns no fee.
    NonCompliantDemand,
    /// A14: no 450 kr for claims due before 4 a § applied.
    CompensationNotApplicable,
}

impl NoFee {
    pub fn reason(self) -> &'static str {
        match self {
            NoFee::NotAgreed => "påminnelseavgift inte avtalad när skulden uppkom",
            NoFee::NotOverdue => "skulden var inte förfallen",
            NoFee::AlreadyCharged => "avgiften är redan uttagen för fordran",
            NoFee::FinalNoticeIsFree => "ingen avgift för slutlig påminnelse",
            NoFee::CompensationClaimed => {
                "förseningsersättning är uttagen och ersätter övriga avgifter"
            }
            NoFee::NonCompliantDemand => "inkassokravet uppfyller inte 5 § inkassolagen",
            NoFee::CompensationNotApplicable => {
                "förseningsersättning gäller fordringar förfallna från 2013-03-16"
            }
        }
    }
}

/// The fee the letter `letter` may charge.
pub fn fee_for_letter(letter: LetterKind, f: &FeeFacts, rules: &RuleSet) -> FeeDecision {
    use FeeDecision::{Charge, NoFee as No};
    if !letter.is_step() {
        // A payment plan's fee is decided by `payment_plan_fee`; other letters are free (A8).
        return No(NoFee::FinalNoticeIsFree);
    }
    if f.dispatch_date <= f.effective_due_date {
        return No(NoFee::NotOverdue);
    }
    match f.capacity {
        Capacity::Business => {
            if f.charged.contains(&FeeKind::LatePaymentCompensation) {
                return No(NoFee::CompensationClaimed);
            }
            if letter == LetterKind::FinalNotice && !f.charged.is_empty() {
                return No(NoFee::FinalNoticeIsFree);
            }
            match rules.late_payment_compensation {
                Some(amount) if f.due_date >= compensation_start() => {
                    Charge { kind: FeeKind::LatePaymentCompensation, amount }
                }
                _ => No(NoFee::CompensationNotApplicable),
            }
        }
        Capacity::Consumer => match letter {
            LetterKind::FinalNotice
            | LetterKind::PaymentPlan
            | LetterKind::PlanBroken
            | LetterKind::Withdrawal => No(NoFee::FinalNoticeIsFree),
            LetterKind::Reminder if !f.reminder_fee_agreed => No(NoFee::NotAgreed),
            LetterKind::Reminder if f.charged.contains(&FeeKind::Reminder) => {
                No(NoFee::AlreadyCharged)
            }
            LetterKind::Reminder => Charge { kind: FeeKind::Reminder, amount: rules.reminder_fee },
            LetterKind::Collection if !f.compliant_demand => No(NoFee::NonCompliantDemand),
            LetterKind::Collection if f.charged.contains(&FeeKind::Collection) => {
                No(NoFee::AlreadyCharged)
            }
            LetterKind::Collection => {
                Charge { kind: FeeKind::Collection, amount: rules.collection_fee }
            }
        },
    }
}

/// The fee for a complete written payment plan (A6): consumers only, once.
pub fn payment_plan_fee(capacity: Capacity, charged: &[FeeKind], rules: &RuleSet) -> FeeDecision {
    if capacity == Capacity::Business {
        FeeDecision::NoFee(NoFee::CompensationClaimed)
    } else if charged.contains(&FeeKind::PaymentPlan) {
        FeeDecision::NoFee(NoFee::AlreadyCharged)
    } else {
        FeeDecision::Charge { kind: FeeKind::PaymentPlan, amount: rules.payment_plan_fee }
    }
}

fn compensation_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2013, 3, 16).expect("valid date")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn facts<'a>(capacity: Capacity, agreed: bool, charged: &'a [FeeKind]) -> FeeFacts<'a> {
        FeeFacts {
            capacity,
            reminder_fee_agreed: agreed,
            effective_due_date: d("2025-03-31"),
            due_date: d("2025-03-31"),
            dispatch_date: d("2025-04-08"),
            compliant_demand: true,
            charged,
        }
    }

    fn charge(kind: FeeKind, kr: i64) -> FeeDecision {
        FeeDecision::Charge { kind, amount: Sek::kronor(kr) }
    }

    #[test]
    fn consumer_fees_example_1() {
        let r = RuleSet::sweden_2013();
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &facts(Capacity::Consumer, true, &[]), &r),
            charge(FeeKind::Reminder, 60)
        );
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &facts(Capacity::Consumer, false, &[]), &r),
            FeeDecision::NoFee(NoFee::NotAgreed)
        );
        let after = [FeeKind::Reminder];
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &facts(Capacity::Consumer, true, &after), &r),
            FeeDecision::NoFee(NoFee::AlreadyCharged)
        );
        assert_eq!(
            fee_for_letter(LetterKind::Collection, &facts(Capacity::Consumer, true, &after), &r),
            charge(FeeKind::Collection, 180)
        );
        let both = [FeeKind::Reminder, FeeKind::Collection];
        assert_eq!(
            fee_for_letter(LetterKind::Collection, &facts(Capacity::Consumer, true, &both), &r),
            FeeDecision::NoFee(NoFee::AlreadyCharged)
        );
        assert_eq!(
            fee_for_letter(LetterKind::FinalNotice, &facts(Capacity::Consumer, true, &both), &r),
            FeeDecision::NoFee(NoFee::FinalNoticeIsFree)
        );
        let mut non = facts(Capacity::Consumer, true, &[]);
        non.compliant_demand = false;
        assert_eq!(
            fee_for_letter(LetterKind::Collection, &non, &r),
            FeeDecision::NoFee(NoFee::NonCompliantDemand)
        );
        let mut early = facts(Capacity::Consumer, true, &[]);
        early.dispatch_date = d("2025-03-31");
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &early, &r),
            FeeDecision::NoFee(NoFee::NotOverdue)
        );
        assert_eq!(
            payment_plan_fee(Capacity::Consumer, &both, &r),
            charge(FeeKind::PaymentPlan, 170)
        );
    }

    #[test]
    fn business_gets_450_once_and_nothing_else_example_5() {
        let r = RuleSet::sweden_2013();
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &facts(Capacity::Business, true, &[]), &r),
            charge(FeeKind::LatePaymentCompensation, 450)
        );
        assert_eq!(
            fee_for_letter(LetterKind::Collection, &facts(Capacity::Business, false, &[]), &r),
            charge(FeeKind::LatePaymentCompensation, 450)
        );
        let claimed = [FeeKind::LatePaymentCompensation];
        for letter in [LetterKind::Reminder, LetterKind::Collection, LetterKind::FinalNotice] {
            assert_eq!(
                fee_for_letter(letter, &facts(Capacity::Business, true, &claimed), &r),
                FeeDecision::NoFee(NoFee::CompensationClaimed)
            );
        }
        assert_eq!(
            payment_plan_fee(Capacity::Business, &claimed, &r),
            FeeDecision::NoFee(NoFee::CompensationClaimed)
        );
        let mut old = facts(Capacity::Business, true, &[]);
        old.due_date = d("2013-03-15");
        assert_eq!(
            fee_for_letter(LetterKind::Reminder, &old, &r),
            FeeDecision::NoFee(NoFee::CompensationNotApplicable)
        );
    }
}
