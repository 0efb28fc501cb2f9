//! Kundbedömning at sign-up: which industries Fordra serves, and validation of the sign-up form
//! into a creditor that cannot be invalid. Pure; the web handler stores the result.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::{
    auth::password,
    domain::{company::CompanyForm, ids::IdNumber},
    mail::looks_like_email,
    web::forms::FieldErrors,
};

/// (code, label, refused by default). Which industries are refused is a rule parameter
/// (`RuleSet::refused_industries`, product.md §5 by default) that staff change from a date.
pub const INDUSTRIES: &[(&str, &str, bool)] = &[
    ("bygg", "Bygg och hantverk", false),
    ("konsult", "Konsulter och företagstjänster", false),
    ("handel", "Butikshandel", false),
    ("ehandel", "E-handel", false),
    ("it", "IT och telekom", false),
    ("fastighet", "Fastigheter och uthyrning", false),
    ("transport", "Transport och logistik", false),
    ("restaurang", "Restaurang och livsmedel", false),
    ("vard", "Vård, hälsa och skönhet", false),
    ("utbildning", "Utbildning", false),
    ("forening", "Föreningar och idrott", false),
    ("ovrigt", "Annan bransch", false),
    ("tobak_natet", "Tobak som säljs på nätet", true),
    ("pornografi", "Pornografi", true),
    ("timeshare", "Tidsdelat boende (timeshare)", true),
    ("receptlakemedel", "Receptbelagda läkemedel på distans", true),
    ("dejting", "Dejtingtjänster", true),
    ("vapen", "Vapen", true),
    ("spel_utan_licens", "Spel utan svensk licens", true),
    ("anonymitet", "Anonymitetstjänster", true),
    ("presentkort_36", "Presentkort eller värdebevis som gäller mer än 36 månader", true),
    ("virtuell_valuta", "Virtuell valuta", true),
    ("taxi", "Taxi", true),
    ("erotisk_dans", "Erotisk dans", true),
];

pub fn industry_label(code: &str) -> &str {
    INDUSTRIES.iter().find(|(c, _, _)| *c == code).map(|(_, l, _)| *l).unwrap_or(code)
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct SignupForm {
    pub org_nr: String,
    pub company_form: String,
    pub company_name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub industry: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    pub password_repeat: String,
    /// `bankgiro` or `account`.
    pub payout_type: String,
    pub bankgiro: String,
    pub clearing: String,
    pub account: String,
    pub referral_code: String,
    pub accept_terms: Option<String>,
    pub terms_version: String,
}

pub use crate::domain::bank_account::Payout;

#[derive(Debug, Clone)]
pub struct Signup {
    pub org_nr: IdNumber,
    pub company_form: CompanyForm,
    pub company_name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub industry: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub password: String,
    pub payout: Payout,
    pub referral_code: Option<String>,
    pub terms_version: String,
}

/// Validates the sign-up form against the terms version currently offered.
pub fn validate(
    f: &SignupForm,
    today: NaiveDate,
    current_terms: &str,
    rules: &crate::domain::rules::RuleSet,
) -> Result<Signup, FieldErrors> {
    let mut e = FieldErrors::default();
    // A sole trader's organisation number is the owner's personnummer.
    let org_nr =
        IdNumber::parse(&f.org_nr, today).map_err(|err| e.add("org_nr", err.to_string())).ok();
    let company_form = CompanyForm::parse(&f.company_form);
    match (&org_nr, company_form) {
        (_, None) => e.add("company_form", "Välj företagsform."),
        (Some(id), Some(form)) => {
            if let Some(msg) = form.mismatch(id) {
                e.add("org_nr", msg);
            }
        }
        _ => {}
    }
    let company_name = f.company_name.trim().to_string();
    if company_name.is_empty() {
        e.add("company_name", "Ange företagets namn.");
    }
    let street = f.street.trim().to_string();
    if street.is_empty() {
        e.add("street", "Ange gatuadress.");
    }
    let postal_code = crate::claims::input::postal_code(&f.postal_code);
    if postal_code.is_none() {
        e.add("postal_code", "Ange ett postnummer med fem siffror, till exempel 123 45.");
    }
    let city = f.city.trim().to_string();
    if city.is_empty() {
        e.add("city", "Ange postort.");
    }
    match INDUSTRIES.iter().find(|(c, _, _)| *c == f.industry) {
        None => e.add("industry", "Välj bransch."),
        Some((code, label, _)) if rules.refuses_industry(code) => e.add(
            "industry",
            format!(
                "Fordra tar inte emot uppdrag inom branschen ”{label}”. Det följer av våra regler för \
                 kundkännedom och god inkassosed. Kontakta oss på support@fordra.se om ni har frågor."
            ),
        ),
        Some(_) => {}
    }
    let contact_name = f.contact_name.trim().to_string();
    if contact_name.is_empty() {
        e.add("contact_name", "Ange kontaktpersonens namn.");
    }
    let email = f.email.trim().to_string();
    if !looks_like_email(&email) {
        e.add("email", "Ange en giltig e-postadress, till exempel namn@foretag.se.");
    }
    let phone = f.phone.trim().to_string();
    if !phone.is_empty() && phone.chars().filter(char::is_ascii_digit).count() < 7 {
        e.add("phone", "Ange ett telefonnummer med siffror, till exempel 08-123 456 78.");
    }
    if let Some(msg) = password::check_new(&f.password, &f.password_repeat) {
        e.add("password", msg);
    }
    let unchosen = "Välj om utbetalningar ska gå till bankgiro eller bankkonto.";
    let payout =
        Payout::from_form(&f.payout_type, &f.bankgiro, (&f.clearing, &f.account), unchosen)
            .map_err(|(field, message)| e.add(field, message))
            .ok();
    // The partner's number, as in its link; whether such a partner exists is asked later.
    let referral_code = match f.referral_code.trim() {
        "" => None,
        code => match crate::domain::partner::parse_number(code) {
            Ok(serial) => Some(crate::domain::partner::number(serial)),
            Err(err) => {
                e.add("referral_code", err.to_string());
                None
            }
        },
    };
    if f.accept_terms.is_none() {
        e.add("accept_terms", "Ni behöver godkänna villkoren för att bli kund.");
    } else if f.terms_version != current_terms {
        e.add(
            "accept_terms",
            "Villkoren har uppdaterats medan ni fyllde i formuläret. Läs dem och godkänn igen.",
        );
    }
    match (org_nr, company_form, postal_code, payout) {
        (Some(org_nr), Some(company_form), Some(postal_code), Some(payout)) if e.is_empty() => {
            Ok(Signup {
                org_nr,
                company_form,
                company_name,
                street,
                postal_code,
                city,
                industry: f.industry.clone(),
                contact_name,
                email,
                phone,
                password: f.password.clone(),
                payout,
                referral_code,
                terms_version: current_terms.to_string(),
            })
        }
        _ => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> SignupForm {
        SignupForm {
            org_nr: "556036-0793".into(),
            company_form: "aktiebolag".into(),
            company_name: "Exempelbolaget AB".into(),
            street: "Storgatan 1".into(),
            postal_code: "11122".into(),
            city: "Stockholm".into(),
            industry: "bygg".into(),
            contact_name: "Eva Exempel".into(),
            email: "eva@exempel.se".into(),
            password: "ett långt lösenord".into(),
            password_repeat: "ett långt lösenord".into(),
            payout_type: "bankgiro".into(),
            bankgiro: "991-2346".into(),
            accept_terms: Some("on".into()),
            terms_version: "2026-1".into(),
            ..Default::default()
        }
    }

    fn today() -> NaiveDate {
        "2026-11-22".parse().unwrap()
    }

    #[test]
    fn accepts_a_complete_form() {
        let s = validate(&good(), today(), "2026-1", &rules()).unwrap();
        assert_eq!(s.org_nr.as_str(), "165560360793");
        assert_eq!(s.postal_code, "111 22");
        assert_eq!(s.payout, Payout::Bankgiro("991-2346".into()));
    }

    #[test]
    fn every_error_lands_on_its_field() {
        let mut f = good();
        f.org_nr = "556036-0794".into();
        f.industry = "taxi".into();
        f.payout_type = "account".into();
        f.clearing = "9999".into();
        f.account = "1234567".into();
        f.accept_terms = None;
        f.password_repeat = "annat".into();
        let e = validate(&f, today(), "2026-1", &rules()).unwrap_err();
        for field in ["org_nr", "industry", "clearing", "accept_terms", "password"] {
            assert!(e.get(field).is_some(), "{field}: {e:?}");
        }
        assert!(e.get("industry").unwrap().contains("Taxi"));
    }

    #[test]
    fn a_sole_trader_signs_up_with_the_owners_personnummer() {
        let mut f = good();
        f.org_nr = "811218-9876".into();
        f.company_form = "enskild_firma".into();
        let s = validate(&f, today(), "2026-1", &rules()).unwrap();
        assert_eq!(s.org_nr.as_str(), "198112189876");
        assert_eq!(s.company_form, CompanyForm::EnskildFirma);
        // A personnummer with another form, or an org.nr as a sole trader, is refused on org_nr.
        f.company_form = "aktiebolag".into();
        let e = validate(&f, today(), "2026-1", &rules()).unwrap_err();
        assert!(e.get("org_nr").unwrap().contains("enskild firma"));
        let mut f = good();
        f.company_form = "enskild_firma".into();
        assert!(validate(&f, today(), "2026-1", &rules()).unwrap_err().get("org_nr").is_some());
        f.company_form = String::new();
        assert!(
            validate(&f, today(), "2026-1", &rules()).unwrap_err().get("company_form").is_some()
        );
    }

    #[test]
    fn stale_terms_must_be_accepted_again() {
        let e = validate(&good(), today(), "2027-1", &rules()).unwrap_err();
        assert!(e.get("accept_terms").unwrap().contains("uppdaterats"));
    }

    fn rules() -> crate::domain::rules::RuleSet {
        crate::domain::rules::RuleSet::sweden_2013()
    }

    #[test]
    fn a_refused_industry_is_rule_data() {
        let mut r = rules();
        r.refused_industries.retain(|c| c != "taxi");
        let f = SignupForm { industry: "taxi".into(), ..good() };
        assert!(validate(&f, today(), "2026-1", &r).is_ok(), "taxi allowed from a new rule set");
        r.refused_industries.push("bygg".into());
        let f = SignupForm { industry: "bygg".into(), ..good() };
        assert!(validate(&f, today(), "2026-1", &r).is_err());
    }

    #[test]
    fn every_prohibited_industry_of_product_section_5_is_refused() {
        let refused = INDUSTRIES.iter().filter(|i| i.2).count();
        assert_eq!(refused, 12);
        for (code, _, is_refused) in INDUSTRIES {
            let mut f = good();
            f.industry = code.to_string();
            assert_eq!(validate(&f, today(), "2026-1", &rules()).is_err(), *is_refused, "{code}");
        }
    }
}
