//! The lifecycle decision: given a claim's facts and today's date, what the engine may do now.
//! It never skips a step, never acts before a deadline plus grace has passed, and never acts
//! on a blocked claim. Deadlines count from a letter's dispatch date.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::{
    calendar::{add_bank_days, roll_forward},
    fees::LetterKind,
    rules::RuleSet,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    Registered,
    Reminder,
    Collection,
    FinalNotice,
    EnforcementReady,
    Paid,
    Withdrawn,
    WrittenOff,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::Registered => "registered",
            ClaimState::Reminder => "reminder",
            ClaimState::Collection => "collection",
            ClaimState::FinalNotice => "final_notice",
            ClaimState::EnforcementReady => "enforcement_ready",
            ClaimState::Paid => "paid",
            ClaimState::Withdrawn => "withdrawn",
            ClaimState::WrittenOff => "written_off",
        }
    }

    pub fn parse(s: &str) -> Option<ClaimState> {
        Some(match s {
            "registered" => ClaimState::Registered,
            "reminder" => ClaimState::Reminder,
            "collection" => ClaimState::Collection,
            "final_notice" => ClaimState::FinalNotice,
            "enforcement_ready" => ClaimState::EnforcementReady,
            "paid" => ClaimState::Paid,
            "withdrawn" => ClaimState::Withdrawn,
            "written_off" => ClaimState::WrittenOff,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            ClaimState::Registered => "Registrerad",
            ClaimState::Reminder => "Betalningspåminnelse",
            ClaimState::Collection => "Inkassokrav",
            ClaimState::FinalNotice => "Slutlig påminnelse",
            ClaimState::EnforcementReady => "Klar för Kronofogden",
            ClaimState::Paid => "Betald",
            ClaimState::Withdrawn => "Återkallad",
            ClaimState::WrittenOff => "Avskriven",
        }
    }

    /// The state the next step leads to, or `None` when automation is done with the claim.
    pub fn successor(self, start_with: StartWith) -> Option<ClaimState> {
        Some(match self {
            ClaimState::Registered => match start_with {
                StartWith::Reminder => ClaimState::Reminder,
                StartWith::Collection => ClaimState::Collection,
            },
            ClaimState::Reminder => ClaimState::Collection,
            ClaimState::Collection => ClaimState::FinalNotice,
            ClaimState::FinalNotice => ClaimState::EnforcementReady,
            _ => return None,
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, ClaimState::Paid | ClaimState::Withdrawn | ClaimState::WrittenOff)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartWith {
    Reminder,
    Collection,
}

impl StartWith {
    pub fn as_str(self) -> &'static str {
        match self {
            StartWith::Reminder => "reminder",
            StartWith::Collection => "collection",
        }
    }
}

/// The last letter the claim got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LastLetter {
    pub kind: LetterKind,
    /// `None` until delivery accepted it: an undispatched letter holds the next step.
    pub dispatched_on: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimSnapshot {
    pub state: ClaimState,
    pub start_with: StartWith,
    pub due_date: NaiveDate,
    pub creditor_approved: bool,
    pub disputed: bool,
    pub paused: bool,
    pub on_hold: bool,
    pub deceased: bool,
    pub returned_mail: bool,
    pub payment_plan_active: bool,
    /// Debtor's date of birth (persons), for the minor check.
    pub debtor_birth_date: Option<NaiveDate>,
    pub claim_arose_date: NaiveDate,
    pub last_letter: Option<LastLetter>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockReason {
    Disputed,
    Deceased,
    MinorAtClaimDate,
    ReturnedMail,
    CreditorNotApproved,
    OnHold,
    Paused,
    PaymentPlan,
    AwaitingDispatch,
    EnforcementReady,
    Paid,
    Withdrawn,
    WrittenOff,
}

impl BlockReason {
    pub fn label(self) -> &'static str {
        match self {
            BlockReason::Disputed => "Bestridd – automatiska steg är stoppade",
            BlockReason::Deceased => "Gäldenären är avliden – hanteras manuellt",
            BlockReason::MinorAtClaimDate => {
                "Gäldenären var underårig när fordran uppkom – granskas manuellt"
            }
            BlockReason::ReturnedMail => "Post i retur – adressen måste kontrolleras",
            BlockReason::CreditorNotApproved => "Borgenären är inte godkänd ännu",
            BlockReason::OnHold => "Pausad av Fordra",
            BlockReason::Paused => "Pausad av borgenären",
            BlockReason::PaymentPlan => "Avbetalningsplan pågår",
            BlockReason::AwaitingDispatch => "Väntar på att brevet skickas",
            BlockReason::EnforcementReady => "Klar för ansökan hos Kronofogden",
            BlockReason::Paid => "Betald",
            BlockReason::Withdrawn => "Återkallad",
            BlockReason::WrittenOff => "Avskriven",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    SendReminder,
    SendCollection,
    SendFinalNotice,
    MarkEnforcementReady,
    WaitUntil(NaiveDate),
    Blocked(BlockReason),
}

impl Step {
    /// The state a step leads to, if it is an action.
    pub fn target(self) -> Option<ClaimState> {
        match self {
            Step::SendReminder => Some(ClaimState::Reminder),
            Step::SendCollection => Some(ClaimState::Collection),
            Step::SendFinalNotice => Some(ClaimState::FinalNotice),
            Step::MarkEnforcementReady => Some(ClaimState::EnforcementReady),
            Step::WaitUntil(_) | Step::Blocked(_) => None,
        }
    }

    /// The date to look again: a wait's date; `None` for a blocked claim (nothing planned).
    pub fn wait_until(self) -> Option<NaiveDate> {
        match self {
            Step::WaitUntil(d) => Some(d),
            _ => None,
        }
    }

    pub fn letter(self) -> Option<LetterKind> {
        match self {
            Step::SendReminder => Some(LetterKind::Reminder),
            Step::SendCollection => Some(LetterKind::Collection),
            Step::SendFinalNotice => Some(LetterKind::FinalNotice),
            _ => None,
        }
    }
}

/// The deadline a letter dispatched on `dispatched` gives the debtor, on a bank day.
pub fn deadline(letter: LetterKind, dispatched: NaiveDate, rules: &RuleSet) -> NaiveDate {
    let days = |n: u32| dispatched + Duration::days(n as i64);
    let raw = match letter {
        // A broken payment plan gives the same time as a reminder to pay the rest.
        LetterKind::Reminder | LetterKind::PlanBroken => days(rules.reminder_deadline_days),
        LetterKind::FinalNotice => days(rules.final_notice_deadline_days),
        // The plan's own first due date is its deadline; this is only a fallback.
        LetterKind::PaymentPlan => days(rules.reminder_deadline_days),
        // A withdrawal asks nothing of the debtor.
        LetterKind::Withdrawal => dispatched,
        LetterKind::Collection => days(rules.collection_deadline_days)
            .max(add_bank_days(dispatched, rules.delivery_bank_days + rules.receipt_bank_days))
            .max(days(rules.collection_min_days)),
    };
    roll_forward(raw)
}

/// The first day the step after a letter may be taken: deadline plus grace bank days.
pub fn next_action_date(deadline: NaiveDate, rules: &RuleSet) -> NaiveDate {
    add_bank_days(deadline, rules.grace_bank_days)
}

/// The first day anything may be sent: the day after the effective due date.
pub fn first_action_date(due_date: NaiveDate) -> NaiveDate {
    roll_forward(due_date) + Duration::days(1)
}

fn blocked(c: &ClaimSnapshot) -> Option<BlockReason> {
    let minor = c
        .debtor_birth_date
        .and_then(|b| c.claim_arose_date.years_since(b))
        .is_some_and(|age| age < 18);
    let reasons = [
        (c.state == ClaimState::Paid, BlockReason::Paid),
        (c.state == ClaimState::Withdrawn, BlockReason::Withdrawn),
        (c.state == ClaimState::WrittenOff, BlockReason::WrittenOff),
        (c.disputed, BlockReason::Disputed),
        (c.deceased, BlockReason::Deceased),
        (minor, BlockReason::MinorAtClaimDate),
        (c.returned_mail, BlockReason::ReturnedMail),
        (!c.creditor_approved, BlockReason::CreditorNotApproved),
        (c.on_hold, BlockReason::OnHold),
        (c.paused, BlockReason::Paused),
        (c.payment_plan_active, BlockReason::PaymentPlan),
        (c.state == ClaimState::EnforcementReady, BlockReason::EnforcementReady),
    ];
    reasons.into_iter().find(|(hit, _)| *hit).map(|(_, r)| r)
}

/// What may happen to the claim on `today`.
pub fn next_step(c: &ClaimSnapshot, today: NaiveDate, rules: &RuleSet) -> Step {
    if let Some(reason) = blocked(c) {
        return Step::Blocked(reason);
    }
    let (letter, next) = match c.state {
        ClaimState::Registered => {
            let start = first_action_date(c.due_date);
            if today < start {
                return Step::WaitUntil(start);
            }
            return match c.start_with {
                StartWith::Reminder => Step::SendReminder,
                StartWith::Collection => Step::SendCollection,
            };
        }
        ClaimState::Reminder => (LetterKind::Reminder, Step::SendCollection),
        ClaimState::Collection => (LetterKind::Collection, Step::SendFinalNotice),
        ClaimState::FinalNotice => (LetterKind::FinalNotice, Step::MarkEnforcementReady),
        // Terminal and enforcement-ready states were blocked above.
        _ => return Step::Blocked(BlockReason::EnforcementReady),
    };
    let dispatched = match c.last_letter {
        Some(LastLetter { kind, dispatched_on: Some(d) }) if kind == letter => d,
        _ => return Step::Blocked(BlockReason::AwaitingDispatch),
    };
    let due = next_action_date(deadline(letter, dispatched, rules), rules);
    if today < due { Step::WaitUntil(due) } else { next }
}

/// The steps still ahead of an open claim if nothing changes (no payment, no block) and every
/// letter goes out on the day it is made: `(state reached, date)` in order. A blocked claim has
/// no plan, only its reason.
pub fn plan(
    c: &ClaimSnapshot,
    today: NaiveDate,
    rules: &RuleSet,
) -> Result<Vec<(ClaimState, NaiveDate)>, BlockReason> {
    let mut c = c.clone();
    let mut on = today;
    let mut steps = Vec::new();
    // Four steps at most; the bound only guards against a logic error.
    for _ in 0..8 {
        match next_step(&c, on, rules) {
            Step::WaitUntil(d) => on = d,
            Step::Blocked(BlockReason::AwaitingDispatch) => {
                if let Some(l) = c.last_letter.as_mut() {
                    l.dispatched_on = Some(on);
                }
            }
            Step::Blocked(BlockReason::EnforcementReady) => break,
            Step::Blocked(reason) if steps.is_empty() => return Err(reason),
            Step::Blocked(_) => break,
            step => {
                let Some(target) = step.target() else { break };
                steps.push((target, on));
                c.state = target;
                c.last_letter =
                    step.letter().map(|kind| LastLetter { kind, dispatched_on: Some(on) });
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::is_bank_day;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn claim() -> ClaimSnapshot {
        ClaimSnapshot {
            state: ClaimState::Registered,
            start_with: StartWith::Reminder,
            due_date: d("2026-02-09"),
            creditor_approved: true,
            disputed: false,
            paused: false,
            on_hold: false,
            deceased: false,
            returned_mail: false,
            payment_plan_active: false,
            debtor_birth_date: Some(d("1981-12-18")),
            claim_arose_date: d("2026-01-10"),
            last_letter: None,
        }
    }

    #[test]
    fn deadlines() {
        let r = RuleSet::sweden_2013();
        // Reminder sent Tue 2026-02-10: +10 = Fri 2026-02-20; next step Wed 2026-02-25.
        assert_eq!(deadline(LetterKind::Reminder, d("2026-02-10"), &r), d("2026-02-20"));
        assert_eq!(next_action_date(d("2026-02-20"), &r), d("2026-02-25"));
        // Inkassokrav sent Wed 2026-02-25: +10 = Sat 03-07 → Mon 03-09.
        assert_eq!(deadline(LetterKind::Collection, d("2026-02-25"), &r), d("2026-03-09"));
        // Over Easter 2026 (Good Friday 04-03, Easter Monday 04-06): 2 + 4 bank days from Wed 04-01 is
        // 04-13, later than +10 (04-11, a Saturday → 04-13 anyway).
        assert_eq!(deadline(LetterKind::Collection, d("2026-04-01"), &r), d("2026-04-13"));
        // Christmas: sent Tue 2026-12-22; +10 is 2027-01-01 (a holiday), but 2 + 4 bank days
        // (12-23, 12-28, 12-29, 12-30, 01-04, 01-05) reach 2027-01-05.
        assert_eq!(deadline(LetterKind::Collection, d("2026-12-22"), &r), d("2027-01-05"));
    }

    #[test]
    fn plan_projects_the_same_dates_as_walking() {
        let r = RuleSet::sweden_2013();
        let mut c = claim();
        assert_eq!(
            plan(&c, d("2026-02-01"), &r),
            Ok(vec![
                (ClaimState::Reminder, d("2026-02-10")),
                (ClaimState::Collection, d("2026-02-25")),
                (ClaimState::FinalNotice, d("2026-03-12")),
                (ClaimState::EnforcementReady, d("2026-03-26")),
            ])
        );
        // A letter made but not yet dispatched is assumed to go out today.
        c.state = ClaimState::Reminder;
        c.last_letter = Some(LastLetter { kind: LetterKind::Reminder, dispatched_on: None });
        assert_eq!(
            plan(&c, d("2026-02-10"), &r).unwrap()[0],
            (ClaimState::Collection, d("2026-02-25"))
        );
        c.disputed = true;
        assert_eq!(plan(&c, d("2026-02-10"), &r), Err(BlockReason::Disputed));
        c.disputed = false;
        c.state = ClaimState::EnforcementReady;
        assert_eq!(plan(&c, d("2026-04-10"), &r), Ok(vec![]));
    }

    #[test]
    fn walks_the_steps_in_order() {
        let r = RuleSet::sweden_2013();
        let mut c = claim();
        assert_eq!(next_step(&c, d("2026-02-09"), &r), Step::WaitUntil(d("2026-02-10")));
        assert_eq!(next_step(&c, d("2026-02-10"), &r), Step::SendReminder);
        c.state = ClaimState::Reminder;
        assert_eq!(
            next_step(&c, d("2026-02-11"), &r),
            Step::Blocked(BlockReason::AwaitingDispatch)
        );
        c.last_letter =
            Some(LastLetter { kind: LetterKind::Reminder, dispatched_on: Some(d("2026-02-10")) });
        assert_eq!(next_step(&c, d("2026-02-24"), &r), Step::WaitUntil(d("2026-02-25")));
        assert_eq!(next_step(&c, d("2026-02-25"), &r), Step::SendCollection);
        c.state = ClaimState::Collection;
        c.last_letter =
            Some(LastLetter { kind: LetterKind::Collection, dispatched_on: Some(d("2026-02-25")) });
        assert_eq!(next_step(&c, d("2026-03-11"), &r), Step::WaitUntil(d("2026-03-12")));
        assert_eq!(next_step(&c, d("2026-03-12"), &r), Step::SendFinalNotice);
        c.state = ClaimState::FinalNotice;
        c.last_letter = Some(LastLetter {
            kind: LetterKind::FinalNotice,
            dispatched_on: Some(d("2026-03-12")),
        });
        assert_eq!(next_step(&c, d("2026-03-27"), &r), Step::MarkEnforcementReady);
        c.state = ClaimState::EnforcementReady;
        assert_eq!(
            next_step(&c, d("2026-06-01"), &r),
            Step::Blocked(BlockReason::EnforcementReady)
        );
    }

    #[test]
    fn weekend_due_dates_move_and_start_with_collection() {
        let r = RuleSet::sweden_2013();
        let mut c = claim();
        c.due_date = d("2026-02-14"); // Saturday → effective Mon 02-16 → first action Tue 02-17.
        assert_eq!(next_step(&c, d("2026-02-16"), &r), Step::WaitUntil(d("2026-02-17")));
        c.start_with = StartWith::Collection;
        assert_eq!(next_step(&c, d("2026-02-17"), &r), Step::SendCollection);
    }

    #[test]
    fn blocks() {
        let r = RuleSet::sweden_2013();
        let today = d("2026-06-01");
        type Setter = fn(&mut ClaimSnapshot);
        let cases: Vec<(Setter, BlockReason)> = vec![
            (|c| c.disputed = true, BlockReason::Disputed),
            (|c| c.deceased = true, BlockReason::Deceased),
            (|c| c.debtor_birth_date = Some(d("2010-01-01")), BlockReason::MinorAtClaimDate),
            (|c| c.returned_mail = true, BlockReason::ReturnedMail),
            (|c| c.creditor_approved = false, BlockReason::CreditorNotApproved),
            (|c| c.on_hold = true, BlockReason::OnHold),
            (|c| c.paused = true, BlockReason::Paused),
            (|c| c.payment_plan_active = true, BlockReason::PaymentPlan),
            (|c| c.state = ClaimState::Paid, BlockReason::Paid),
            (|c| c.state = ClaimState::Withdrawn, BlockReason::Withdrawn),
            (|c| c.state = ClaimState::WrittenOff, BlockReason::WrittenOff),
        ];
        for (set, reason) in cases {
            let mut c = claim();
            set(&mut c);
            assert_eq!(next_step(&c, today, &r), Step::Blocked(reason));
        }
        // 18 exactly on the claim date is not a minor.
        let mut c = claim();
        c.debtor_birth_date = Some(d("2008-01-10"));
        assert_eq!(next_step(&c, today, &r), Step::SendReminder);
    }

    fn snapshot() -> impl Strategy<Value = (ClaimSnapshot, NaiveDate)> {
        (
            0usize..8,
            0i64..700,
            0i64..120,
            any::<[bool; 8]>(),
            0i64..400,
            proptest::option::of(0i64..60),
        )
            .prop_map(|(state, due, today_after, flags, arose_back, dispatch_after)| {
                let states = [
                    ClaimState::Registered,
                    ClaimState::Reminder,
                    ClaimState::Collection,
                    ClaimState::FinalNotice,
                    ClaimState::EnforcementReady,
                    ClaimState::Paid,
                    ClaimState::Withdrawn,
                    ClaimState::WrittenOff,
                ];
                let state = states[state];
                let due_date = d("2025-01-01") + Duration::days(due);
                let letter = match state {
                    ClaimState::Reminder => Some(LetterKind::Reminder),
                    ClaimState::Collection => Some(LetterKind::Collection),
                    ClaimState::FinalNotice => Some(LetterKind::FinalNotice),
                    _ => None,
                };
                let dispatched = dispatch_after.map(|n| due_date + Duration::days(1 + n));
                let c = ClaimSnapshot {
                    state,
                    start_with: if flags[7] { StartWith::Collection } else { StartWith::Reminder },
                    due_date,
                    creditor_approved: !flags[0] || flags[1],
                    disputed: flags[1] && flags[2],
                    paused: flags[3] && flags[4],
                    on_hold: false,
                    deceased: false,
                    returned_mail: flags[5] && flags[6],
                    payment_plan_active: false,
                    debtor_birth_date: Some(d("1970-01-01")),
                    claim_arose_date: due_date - Duration::days(arose_back),
                    last_letter: letter.map(|kind| LastLetter { kind, dispatched_on: dispatched }),
                };
                let today = dispatched.unwrap_or(due_date) + Duration::days(today_after);
                (c, today)
            })
    }

    proptest! {
        #[test]
        fn next_step_never_moves_backwards_or_acts_on_closed_claims((c, today) in snapshot()) {
            let r = RuleSet::sweden_2013();
            let step = next_step(&c, today, &r);
            if let Some(target) = step.target() {
                prop_assert!(target > c.state, "{:?} -> {:?}", c.state, target);
                // Exactly the next step: never skips one.
                prop_assert_eq!(Some(target), c.state.successor(c.start_with));
                // Never before the deadline plus grace.
                if let Some(LastLetter { kind, dispatched_on: Some(sent) }) = c.last_letter {
                    prop_assert!(today >= next_action_date(deadline(kind, sent, &r), &r));
                } else {
                    prop_assert!(today >= first_action_date(c.due_date));
                }
            }
            if c.state.is_terminal() || c.disputed {
                prop_assert!(matches!(step, Step::Blocked(_)));
            }
            if let Step::WaitUntil(until) = step {
                prop_assert!(until > today);
            }
        }

        #[test]
        fn collection_deadlines_are_at_least_8_days_and_on_bank_days(days in 0i64..(95 * 365)) {
            let r = RuleSet::sweden_2013();
            let sent = d("2005-01-01") + Duration::days(days);
            let dl = deadline(LetterKind::Collection, sent, &r);
            prop_assert!((dl - sent).num_days() >= 8);
            prop_assert!(is_bank_day(dl));
            prop_assert!(is_bank_day(next_action_date(dl, &r)));
        }
    }
}
