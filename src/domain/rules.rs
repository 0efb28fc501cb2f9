//! Rule parameters: every fee, rate margin and day count is data with an effective date, never a
//! literal in the rules. The caller picks the set in force on the relevant date.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::money::Sek;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayCount {
    /// days / 365 (Kronofogden's calculator and most practice).
    Actual365,
    /// days / 365 or 366 by the year of each segment.
    ActualActual,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    pub valid_from: NaiveDate,
    pub reminder_fee: Sek,
    pub collection_fee: Sek,
    pub payment_plan_fee: Sek,
    /// Förseningsersättning for business debtors; `None` before 4 a § applied (2013-03-16).
    pub late_payment_compensation: Option<Sek>,
    /// Percentage points over the reference rate (6 § räntelagen).
    pub interest_margin: Decimal,
    pub day_count: DayCount,
    pub reminder_deadline_days: u32,
    pub collection_deadline_days: u32,
    pub collection_min_days: u32,
    pub delivery_bank_days: u32,
    pub receipt_bank_days: u32,
    pub final_notice_deadline_days: u32,
    /// Bank days after a deadline before the next step (payments in transit).
    pub grace_bank_days: u32,
    pub limitation_consumer_years: u32,
    pub limitation_general_years: u32,
    pub commission_reminder: Sek,
    pub commission_collection: Sek,
    pub commission_vat_percent: Decimal,
    pub commission_tail_months: u32,
    /// Days between creditor settlements (weekly by default).
    #[serde(default = "defaults::settlement_interval_days")]
    pub settlement_interval_days: u32,
    /// Bank days before a changed payout account is used.
    #[serde(default = "defaults::payout_account_delay_bank_days")]
    pub payout_account_delay_bank_days: u32,
    /// Bank days after which unmatched money is listed for refund to the payer.
    #[serde(default = "defaults::unmatched_refund_bank_days")]
    pub unmatched_refund_bank_days: u32,
    /// A payout batch above this total needs a second admin's approval.
    #[serde(default = "defaults::payout_dual_approval_over")]
    pub payout_dual_approval_over: Sek,
    /// The longest payment plan a debtor may propose, in months.
    #[serde(default = "defaults::plan_max_months")]
    pub plan_max_months: u32,
    /// An instalment more than this many days late breaks the plan.
    #[serde(default = "defaults::plan_break_days_late")]
    pub plan_break_days_late: u32,
    /// The largest capital a claim may be registered with.
    #[serde(default = "defaults::capital_max")]
    pub capital_max: Sek,
    /// A partner's referral counts when the creditor signs up within this many days.
    #[serde(default = "defaults::referral_valid_days")]
    pub referral_valid_days: u32,
    /// A partner agreement's first term, from signing, in months.
    #[serde(default = "defaults::partner_term_months")]
    pub partner_term_months: u32,
    /// Each renewal after the first term, in months, until either side ends it.
    #[serde(default = "defaults::partner_renewal_months")]
    pub partner_renewal_months: u32,
    /// Kronofogden's fee for an ansökan om betalningsföreläggande, claimed from the debtor.
    #[serde(default = "defaults::enforcement_application_fee")]
    pub enforcement_application_fee: Sek,
    /// Years a closed case's bookkeeping records are kept (bokföringslagen), counted from the
    /// end of the calendar year of its closing or last ledger entry; then it is anonymised.
    #[serde(default = "defaults::retention_years")]
    pub retention_years: u32,
    /// Years a closed support ticket is kept before it is anonymised.
    #[serde(default = "defaults::ticket_retention_years")]
    pub ticket_retention_years: u32,
    /// A creditor account with no login and no claim for this many months gets a notice.
    #[serde(default = "defaults::inactivity_notice_months")]
    pub inactivity_notice_months: u32,
    /// Days after the notice before the account is closed, unless someone logs in.
    #[serde(default = "defaults::inactivity_close_days")]
    pub inactivity_close_days: u32,
    /// Industries Fordra does not take assignments from (kundkännedom, product.md §5), by code.
    #[serde(default = "defaults::refused_industries")]
    pub refused_industries: Vec<String>,
}

mod defaults {
    use super::Sek;
    pub fn settlement_interval_days() -> u32 {
        7
    }
    pub fn payout_account_delay_bank_days() -> u32 {
        10
    }
    pub fn unmatched_refund_bank_days() -> u32 {
        60
    }
    pub fn payout_dual_approval_over() -> Sek {
        Sek::kronor(100_000)
    }
    pub fn plan_max_months() -> u32 {
        12
    }
    pub fn plan_break_days_late() -> u32 {
        10
    }
    pub fn capital_max() -> Sek {
        Sek::kronor(10_000_000)
    }
    pub fn referral_valid_days() -> u32 {
        180
    }
    pub fn partner_term_months() -> u32 {
        12
    }
    pub fn partner_renewal_months() -> u32 {
        3
    }
    pub fn enforcement_application_fee() -> Sek {
        Sek::kronor(300)
    }
    pub fn retention_years() -> u32 {
        7
    }
    pub fn ticket_retention_years() -> u32 {
        2
    }
    pub fn inactivity_notice_months() -> u32 {
        12
    }
    pub fn inactivity_close_days() -> u32 {
        30
    }
    pub fn refused_industries() -> Vec<String> {
        [
            "tobak_natet",
            "pornografi",
            "timeshare",
            "receptlakemedel",
            "dejting",
            "vapen",
            "spel_utan_licens",
            "anonymitet",
            "presentkort_36",
            "virtuell_valuta",
            "taxi",
            "erotisk_dans",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl RuleSet {
    /// The rules in force since 2013-03-16 (SFS 2013:56), with the product's default days.
    pub fn sweden_2013() -> RuleSet {
        RuleSet {
            valid_from: NaiveDate::from_ymd_opt(2013, 3, 16).expect("valid date"),
            reminder_fee: Sek::kronor(60),
            collection_fee: Sek::kronor(180),
            payment_plan_fee: Sek::kronor(170),
            late_payment_compensation: Some(Sek::kronor(450)),
            interest_margin: Decimal::from(8),
            day_count: DayCount::Actual365,
            reminder_deadline_days: 10,
            collection_deadline_days: 10,
            collection_min_days: 8,
            delivery_bank_days: 2,
            receipt_bank_days: 4,
            final_notice_deadline_days: 10,
            grace_bank_days: 3,
            limitation_consumer_years: 3,
            limitation_general_years: 10,
            commission_reminder: Sek::kronor(6),
            commission_collection: Sek::kronor(20),
            commission_vat_percent: Decimal::from(25),
            commission_tail_months: 12,
            settlement_interval_days: defaults::settlement_interval_days(),
            payout_account_delay_bank_days: defaults::payout_account_delay_bank_days(),
            unmatched_refund_bank_days: defaults::unmatched_refund_bank_days(),
            plan_max_months: defaults::plan_max_months(),
            plan_break_days_late: defaults::plan_break_days_late(),
            payout_dual_approval_over: defaults::payout_dual_approval_over(),
            capital_max: defaults::capital_max(),
            referral_valid_days: defaults::referral_valid_days(),
            partner_term_months: defaults::partner_term_months(),
            partner_renewal_months: defaults::partner_renewal_months(),
            enforcement_application_fee: defaults::enforcement_application_fee(),
            retention_years: defaults::retention_years(),
            ticket_retention_years: defaults::ticket_retention_years(),
            inactivity_notice_months: defaults::inactivity_notice_months(),
            inactivity_close_days: defaults::inactivity_close_days(),
            refused_industries: defaults::refused_industries(),
        }
    }
}

/// Rule sets by effective date.
#[derive(Clone, Debug)]
pub struct RuleBook {
    sets: Vec<RuleSet>,
}

impl RuleBook {
    pub fn new(mut sets: Vec<RuleSet>) -> RuleBook {
        sets.sort_by_key(|s| s.valid_from);
        RuleBook { sets }
    }

    /// The set in force on `date` (the latest one starting on or before it; the earliest set if
    /// `date` precedes all).
    pub fn in_force(&self, date: NaiveDate) -> &RuleSet {
        let i = self.sets.partition_point(|s| s.valid_from <= date);
        &self.sets[i.saturating_sub(1).min(self.sets.len() - 1)]
    }
}

impl Default for RuleBook {
    fn default() -> RuleBook {
        RuleBook::new(vec![RuleSet::sweden_2013()])
    }
}

/// The Riksbank reference rate for a period (inclusive bounds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReferenceRate {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub percent: Decimal,
    /// Not published: the last known rate assumed to continue. Amounts computed with it are
    /// preliminary, and no letter is written with it.
    pub projected: bool,
}

/// The first day of the half-year (1 January or 1 July) containing `date`.
pub fn half_year_start(date: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let month = if date.month() <= 6 { 1 } else { 7 };
    NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date)
}

/// The first day of the half-year after the one containing `date`.
pub fn next_half_year(date: NaiveDate) -> NaiveDate {
    half_year_start(date).checked_add_months(chrono::Months::new(6)).unwrap_or(date)
}

#[derive(Clone, Debug, Default)]
pub struct RateTable {
    rates: Vec<ReferenceRate>,
}

impl RateTable {
    pub fn new(mut rates: Vec<ReferenceRate>) -> RateTable {
        rates.sort_by_key(|r| r.valid_from);
        RateTable { rates }
    }

    /// For estimates only (a payment plan's future interest): the table with the last known rate
    /// assumed to continue, half-year by half-year, until `until`.
    pub fn projected_to(&self, until: NaiveDate) -> RateTable {
        let mut rates = self.rates.clone();
        while let Some(last) = rates.last().cloned() {
            if last.valid_to >= until {
                break;
            }
            let from = last.valid_to + chrono::Duration::days(1);
            let to = from
                .checked_add_months(chrono::Months::new(6))
                .map(|d| d - chrono::Duration::days(1))
                .unwrap_or(until);
            rates.push(ReferenceRate {
                valid_from: from,
                valid_to: to,
                percent: last.percent,
                projected: true,
            });
        }
        RateTable { rates }
    }

    /// Whether a rate is published for the period containing `date`.
    pub fn published(&self, date: NaiveDate) -> bool {
        self.period_of(date).is_some_and(|r| !r.projected)
    }

    /// The half-year whose reference rate staff must enter now, if any: the current one when it
    /// has no published rate, or from seven days before the turn the next one.
    pub fn missing_half_year(&self, today: NaiveDate) -> Option<NaiveDate> {
        let current = half_year_start(today);
        let next = next_half_year(today);
        if !self.published(current) {
            Some(current)
        } else if today + chrono::Duration::days(7) >= next && !self.published(next) {
            Some(next)
        } else {
            None
        }
    }

    /// The published rates, oldest first.
    pub fn published_rates(&self) -> impl Iterator<Item = &ReferenceRate> {
        self.rates.iter().filter(|r| !r.projected)
    }

    /// The rate period containing `date`.
    pub fn period_of(&self, date: NaiveDate) -> Option<&ReferenceRate> {
        let i = self.rates.partition_point(|r| r.valid_from <= date);
        self.rates.get(i.checked_sub(1)?).filter(|r| date <= r.valid_to)
    }

    /// The table of `../shared/data/reference-rates.csv` (2022-H1 to 2026-H2), for tests and
    /// benches; the server loads the table from the database.
    pub fn sweden_2022_2026() -> RateTable {
        let d = |s: &str| s.parse::<NaiveDate>().expect("valid date");
        let rows = [
            ("2022-01-01", "2022-06-30", 0),
            ("2022-07-01", "2022-12-31", 50),
            ("2023-01-01", "2023-06-30", 250),
            ("2023-07-01", "2023-12-31", 350),
            ("2024-01-01", "2024-06-30", 400),
            ("2024-07-01", "2024-12-31", 400),
            ("2025-01-01", "2025-06-30", 300),
            ("2025-07-01", "2025-12-31", 200),
            ("2026-01-01", "2026-06-30", 200),
            ("2026-07-01", "2026-12-31", 200),
        ];
        RateTable::new(
            rows.iter()
                .map(|(f, t, bp)| ReferenceRate {
                    valid_from: d(f),
                    valid_to: d(t),
                    percent: Decimal::new(*bp, 2),
                    projected: false,
                })
                .collect(),
        )
    }
}

/// A reference rate as staff enter it: the half-year it applies to and the rate in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateEntry {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    pub percent: Decimal,
}

/// Checks a rate entered for the half-year starting `from` (text as typed: `2,00` or `2.00`)
/// against the published table on `today`. Errors are Swedish, keyed by field (`from`, `rate`).
pub fn validate_rate_entry(
    published: &RateTable,
    from: NaiveDate,
    rate: &str,
    today: NaiveDate,
) -> Result<RateEntry, Vec<(&'static str, String)>> {
    let mut errors = vec![];
    if half_year_start(from) != from {
        errors.push((
            "from",
            "Referensräntan gäller ett kalenderhalvår: ange 1 januari eller 1 juli.".to_string(),
        ));
    } else if from > next_half_year(today) {
        errors.push((
            "from",
            format!("Riksbanken har inte beslutat räntan för halvåret från {from} ännu."),
        ));
    } else if let Some(first) = published.published_rates().next().map(|r| r.valid_from)
        && from > first
    {
        let previous = half_year_start(from - chrono::Duration::days(1));
        if !published.published(previous) {
            errors
                .push(("from", format!("Ange först referensräntan för halvåret från {previous}.")));
        }
    }
    let text: String = rate.trim().trim_end_matches('%').trim().replace(',', ".");
    let percent = match text.parse::<Decimal>() {
        Ok(p) if p.scale() > 2 => {
            errors.push(("rate", "Ange räntan med högst två decimaler.".to_string()));
            None
        }
        Ok(p) if p < Decimal::from(-10) || p > Decimal::from(30) => {
            errors
                .push(("rate", "Referensräntan ska ligga mellan −10 och 30 procent.".to_string()));
            None
        }
        Ok(p) => Some(p),
        Err(_) => {
            errors.push((
                "rate",
                "Ange räntan i procent med siffror, till exempel 2,00.".to_string(),
            ));
            None
        }
    };
    match percent {
        Some(percent) if errors.is_empty() => Ok(RateEntry {
            valid_from: from,
            valid_to: next_half_year(from) - chrono::Duration::days(1),
            percent,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_set_in_force() {
        let mut old = RuleSet::sweden_2013();
        old.valid_from = NaiveDate::from_ymd_opt(2003, 7, 1).unwrap();
        old.reminder_fee = Sek::kronor(50);
        old.late_payment_compensation = None;
        let book = RuleBook::new(vec![RuleSet::sweden_2013(), old]);
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(2013, 3, 15).unwrap()).reminder_fee,
            Sek::kronor(50)
        );
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(2013, 3, 16).unwrap()).reminder_fee,
            Sek::kronor(60)
        );
        assert_eq!(
            book.in_force(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()).reminder_fee,
            Sek::kronor(50)
        );
    }

    #[test]
    fn rate_lookup() {
        let t = RateTable::sweden_2022_2026();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(t.period_of(d("2025-03-31")).unwrap().percent, Decimal::new(300, 2));
        assert_eq!(t.period_of(d("2025-07-01")).unwrap().percent, Decimal::new(200, 2));
        assert!(t.period_of(d("2021-12-31")).is_none());
        assert!(t.period_of(d("2027-01-01")).is_none());
    }

    #[test]
    fn the_last_rate_is_projected_and_marked() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let t = RateTable::sweden_2022_2026().projected_to(d("2027-12-31"));
        let h1 = t.period_of(d("2027-01-10")).unwrap();
        assert!(h1.projected);
        assert_eq!((h1.valid_from, h1.valid_to), (d("2027-01-01"), d("2027-06-30")));
        assert_eq!(h1.percent, Decimal::new(200, 2));
        assert!(t.period_of(d("2027-07-01")).unwrap().projected);
        assert!(t.published(d("2026-12-31")) && !t.published(d("2027-01-01")));
        assert_eq!(t.published_rates().count(), 10);
    }

    #[test]
    fn rate_entries_are_checked() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let t = RateTable::sweden_2022_2026();
        let ok = validate_rate_entry(&t, d("2027-01-01"), "2,00", d("2026-12-28")).unwrap();
        assert_eq!(ok.valid_to, d("2027-06-30"));
        assert_eq!(ok.percent, Decimal::new(200, 2));
        // A correction of a published half-year.
        assert!(validate_rate_entry(&t, d("2026-07-01"), "2.50", d("2026-12-28")).is_ok());
        // (valid from, rate as typed, today) → the field the refusal names.
        let refused = [
            ("2027-02-01", "2", "2027-02-01", "from"),
            ("2027-07-01", "2", "2026-12-28", "from"),
            ("2027-07-01", "2", "2027-06-30", "from"), // 2027-H1 first
            ("2027-01-01", "två", "2027-01-02", "rate"),
            ("2027-01-01", "2.125", "2027-01-02", "rate"),
            ("2027-01-01", "45", "2027-01-02", "rate"),
        ];
        for (from, rate, today, field) in refused {
            let errors = validate_rate_entry(&t, d(from), rate, d(today)).unwrap_err();
            assert_eq!(errors[0].0, field, "{from} {rate} {today}");
        }
    }

    #[test]
    fn staff_are_asked_for_the_rate_from_seven_days_before_the_turn() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let t = RateTable::sweden_2022_2026().projected_to(d("2030-12-31"));
        assert_eq!(t.missing_half_year(d("2026-12-24")), None);
        assert_eq!(t.missing_half_year(d("2026-12-25")), Some(d("2027-01-01")));
        assert_eq!(t.missing_half_year(d("2027-01-10")), Some(d("2027-01-01")));
        assert_eq!(t.missing_half_year(d("2026-06-30")), None, "2026-H2 is published");
        assert_eq!(half_year_start(d("2026-07-01")), d("2026-07-01"));
        assert_eq!(next_half_year(d("2026-12-31")), d("2027-01-01"));
    }
}

// ---------------------------------------------------------------------------------------------
// Editing: staff change a rule set's values from a date

/// How a parameter is typed and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Kronor and öre, at most this many kronor.
    Money { max: i64 },
    /// A percentage (or percentage points), 0–100, at most two decimals.
    Percent,
    /// A whole number in a range, with its unit.
    Count { min: u32, max: u32, unit: &'static str },
    /// `actual365` or `actual_actual`.
    DayCount,
}

/// One editable parameter: its key in the rule set, its group and label on the form, its kind.
pub struct Field {
    pub key: &'static str,
    pub group: &'static str,
    pub label: &'static str,
    pub kind: FieldKind,
}

const fn money(key: &'static str, group: &'static str, label: &'static str, max: i64) -> Field {
    Field { key, group, label, kind: FieldKind::Money { max } }
}

const fn count(
    key: &'static str,
    group: &'static str,
    label: &'static str,
    (min, max): (u32, u32),
    unit: &'static str,
) -> Field {
    Field { key, group, label, kind: FieldKind::Count { min, max, unit } }
}

/// Every parameter staff may change, in the order the form shows them.
pub const FIELDS: &[Field] = &[
    money("reminder_fee", "Avgifter", "Påminnelseavgift", 1_000),
    money("collection_fee", "Avgifter", "Inkassoavgift", 1_000),
    money("payment_plan_fee", "Avgifter", "Avgift för amorteringsplan", 1_000),
    money("late_payment_compensation", "Avgifter", "Förseningsersättning (näringsidkare)", 10_000),
    Field {
        key: "interest_margin",
        group: "Ränta",
        label: "Räntemarginal över referensräntan (procentenheter)",
        kind: FieldKind::Percent,
    },
    Field { key: "day_count", group: "Ränta", label: "Dagräkning", kind: FieldKind::DayCount },
    count("reminder_deadline_days", "Frister", "Betalningsfrist i påminnelsen", (1, 90), "dagar"),
    count(
        "collection_deadline_days",
        "Frister",
        "Betalningsfrist i inkassokravet",
        (8, 90),
        "dagar",
    ),
    count("collection_min_days", "Frister", "Minsta frist för inkassokrav (lag)", (1, 90), "dagar"),
    count(
        "final_notice_deadline_days",
        "Frister",
        "Betalningsfrist i slutkravet",
        (1, 90),
        "dagar",
    ),
    count("delivery_bank_days", "Frister", "Postgång", (0, 10), "bankdagar"),
    count("receipt_bank_days", "Frister", "Tid för betalningen att nå oss", (0, 10), "bankdagar"),
    count("grace_bank_days", "Frister", "Marginal efter förfallodag", (0, 10), "bankdagar"),
    count("limitation_consumer_years", "Frister", "Preskription, konsument", (1, 10), "år"),
    count("limitation_general_years", "Frister", "Preskription, övriga", (1, 20), "år"),
    money(
        "commission_reminder",
        "Partnerprovision",
        "Provision per betald påminnelseavgift",
        1_000,
    ),
    money("commission_collection", "Partnerprovision", "Provision per betald inkassoavgift", 1_000),
    Field {
        key: "commission_vat_percent",
        group: "Partnerprovision",
        label: "Moms på provision (procent)",
        kind: FieldKind::Percent,
    },
    count(
        "commission_tail_months",
        "Partnerprovision",
        "Provision efter avslutad kundrelation",
        (0, 60),
        "månader",
    ),
    count(
        "partner_term_months",
        "Partnerprovision",
        "Partneravtalets första period",
        (1, 60),
        "månader",
    ),
    count(
        "partner_renewal_months",
        "Partnerprovision",
        "Partneravtalets förlängning",
        (1, 60),
        "månader",
    ),
    count(
        "settlement_interval_days",
        "Utbetalningar",
        "Dagar mellan avräkningar",
        (1, 31),
        "dagar",
    ),
    count(
        "payout_account_delay_bank_days",
        "Utbetalningar",
        "Karens för nytt utbetalningskonto",
        (0, 30),
        "bankdagar",
    ),
    count(
        "unmatched_refund_bank_days",
        "Utbetalningar",
        "Omatchade betalningar listas för återbetalning efter",
        (1, 365),
        "bankdagar",
    ),
    money(
        "payout_dual_approval_over",
        "Utbetalningar",
        "Två administratörer krävs för utbetalningar över",
        100_000_000,
    ),
    count("plan_max_months", "Amorteringsplaner", "Längsta amorteringsplan", (2, 36), "månader"),
    count(
        "plan_break_days_late",
        "Amorteringsplaner",
        "Planen bryts när en delbetalning är sen mer än",
        (1, 60),
        "dagar",
    ),
    count(
        "retention_years",
        "Gallring",
        "Avslutade ärenden sparas (bokföringslagen)",
        (7, 20),
        "år",
    ),
    count("ticket_retention_years", "Gallring", "Stängda kundtjänstärenden sparas", (1, 10), "år"),
    count(
        "inactivity_notice_months",
        "Gallring",
        "Inaktivt borgenärskonto får besked efter",
        (1, 60),
        "månader",
    ),
    count(
        "inactivity_close_days",
        "Gallring",
        "Kontot stängs efter beskedet om ingen loggar in",
        (7, 365),
        "dagar",
    ),
    money("enforcement_application_fee", "Övrigt", "Kronofogdens ansökningsavgift", 10_000),
    money("capital_max", "Övrigt", "Högsta kapitalbelopp per fordran", 1_000_000_000),
    count("referral_valid_days", "Övrigt", "En partners hänvisning gäller", (1, 730), "dagar"),
];

impl RuleSet {
    /// The value of `key` as the form shows it (Swedish decimal comma for amounts).
    pub fn field_text(&self, key: &str) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        match &value[key] {
            serde_json::Value::String(s) => s.replace('.', ","),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        }
    }

    /// A copy of this set from `from` with the typed values (`key` → text) applied; every bad
    /// value is named by its key with a Swedish message. Keys not typed keep their value.
    pub fn edited(
        &self,
        from: NaiveDate,
        typed: &std::collections::BTreeMap<String, String>,
    ) -> Result<RuleSet, Vec<(&'static str, String)>> {
        let mut value =
            serde_json::to_value(self).map_err(|e| vec![("valid_from", e.to_string())])?;
        value["valid_from"] = serde_json::json!(from);
        let mut errors = vec![];
        for f in FIELDS {
            let Some(text) = typed.get(f.key) else { continue };
            let text = text.trim();
            match parse_field(f.kind, text) {
                Ok(v) => value[f.key] = v,
                Err(message) => errors.push((f.key, message)),
            }
        }
        // Checkboxes `refused_industry.<code>`; the form says it carried them.
        if typed.contains_key("refused_industries_present") {
            let codes: Vec<String> = typed
                .keys()
                .filter_map(|k| k.strip_prefix("refused_industry."))
                .map(String::from)
                .collect();
            value["refused_industries"] = serde_json::json!(codes);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let set: RuleSet =
            serde_json::from_value(value).map_err(|e| vec![("valid_from", e.to_string())])?;
        if set.collection_deadline_days < set.collection_min_days {
            errors.push((
                "collection_deadline_days",
                format!(
                    "Fristen i inkassokravet får inte vara kortare än minsta frist ({} dagar).",
                    set.collection_min_days
                ),
            ));
        }
        if errors.is_empty() { Ok(set) } else { Err(errors) }
    }

    /// The keys whose values differ from `other`, with (before, after) as the form shows them.
    pub fn changes_from(&self, other: &RuleSet) -> Vec<(&'static str, String, String)> {
        let mut changes: Vec<_> = FIELDS
            .iter()
            .filter_map(|f| {
                let (before, after) = (other.field_text(f.key), self.field_text(f.key));
                (before != after).then_some((f.key, before, after))
            })
            .collect();
        if self.refused_industries != other.refused_industries {
            let (before, after) =
                (other.refused_industries.join(","), self.refused_industries.join(","));
            changes.push(("refused_industries", before, after));
        }
        changes
    }

    /// Whether Fordra refuses assignments from the industry `code`.
    pub fn refuses_industry(&self, code: &str) -> bool {
        self.refused_industries.iter().any(|c| c == code)
    }
}

fn parse_field(kind: FieldKind, text: &str) -> Result<serde_json::Value, String> {
    match kind {
        FieldKind::Money { max } => {
            let amount = Sek::parse(text).map_err(|e| e.to_string())?;
            if amount.is_negative() || amount > Sek::kronor(max) {
                return Err(format!("Ange ett belopp mellan 0 och {} kr.", Sek::kronor(max)));
            }
            Ok(serde_json::json!(amount.to_plain()))
        }
        FieldKind::Percent => {
            let d: Decimal = text
                .replace(',', ".")
                .parse()
                .map_err(|_| "Ange ett tal, till exempel 8 eller 2,5.".to_string())?;
            if d < Decimal::ZERO || d > Decimal::from(100) || d.scale() > 2 {
                return Err("Ange ett tal mellan 0 och 100 med högst två decimaler.".into());
            }
            Ok(serde_json::json!(d.normalize().to_string()))
        }
        FieldKind::Count { min, max, unit } => match text.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(serde_json::json!(n)),
            _ => Err(format!("Ange ett heltal mellan {min} och {max} {unit}.")),
        },
        FieldKind::DayCount => match text {
            "actual365" | "actual_actual" => Ok(serde_json::json!(text)),
            _ => Err("Välj dagräkning.".into()),
        },
    }
}

#[cfg(test)]
mod edit_tests {
    use super::*;
    use std::collections::BTreeMap;

    fn typed(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_edit_changes_only_what_was_typed_and_takes_the_new_date() {
        let base = RuleSet::sweden_2013();
        let from = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let set = base
            .edited(from, &typed(&[("reminder_fee", "50,00"), ("interest_margin", "7,5")]))
            .unwrap();
        assert_eq!(set.valid_from, from);
        assert_eq!(set.reminder_fee, Sek::kronor(50));
        assert_eq!(set.interest_margin, Decimal::new(75, 1));
        assert_eq!(set.collection_fee, base.collection_fee);
        let changes = set.changes_from(&base);
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0], ("reminder_fee", "60,00".into(), "50,00".into()));
        // Every field round-trips through its form text unchanged.
        let all: BTreeMap<String, String> =
            FIELDS.iter().map(|f| (f.key.to_string(), base.field_text(f.key))).collect();
        let same = base.edited(base.valid_from, &all).unwrap();
        assert_eq!(same, base);
    }

    #[test]
    fn bad_values_are_named_by_field() {
        let base = RuleSet::sweden_2013();
        let from = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let errors = base
            .edited(
                from,
                &typed(&[
                    ("reminder_fee", "-5"),
                    ("interest_margin", "abc"),
                    ("plan_max_months", "99"),
                    ("day_count", "x"),
                    ("collection_deadline_days", "5"),
                ]),
            )
            .unwrap_err();
        let keys: Vec<&str> = errors.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "reminder_fee",
                "interest_margin",
                "day_count",
                "collection_deadline_days",
                "plan_max_months"
            ]
        );
        assert!(errors[4].1.contains("mellan 2 och 36 månader"));
        // The law's minimum for an inkassokrav's deadline holds against the other fields.
        let errors = base
            .edited(
                from,
                &typed(&[("collection_deadline_days", "8"), ("collection_min_days", "9")]),
            )
            .unwrap_err();
        assert_eq!(errors[0].0, "collection_deadline_days");
    }
}
