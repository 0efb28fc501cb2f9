//! A partner's registration: the form (pure validation, law firms refused), the text the
//! signatory signs with BankID (the agreement's version shown, its SHA-256 signed), and the
//! transactions that hold the registration while BankID runs and turn a verified signature into
//! a pending partner with its first user.

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::{audit, password, service::LinkPurpose},
    bankid::{self, orders::OrderRow},
    domain::{bank_account::Payout, ids::IdNumber},
    mail::looks_like_email,
    terms::Terms,
    web::forms::FieldErrors,
};

/// What kind of business the applicant runs. Law firms do not qualify (product rule): an
/// advokat may not take a commission for sending clients elsewhere (god advokatsed), and a
/// law firm collecting debts competes with Fordra for the same mandates.
pub const BUSINESSES: &[(&str, &str)] = &[
    ("redovisning", "Redovisningsbyrå eller revisionsbyrå"),
    ("affarssystem", "Affärssystem eller ekonomisystem"),
    ("aterforsaljare", "Återförsäljare av affärssystem"),
    ("radgivning", "Annan ekonomisk rådgivning"),
    ("advokatbyra", "Advokatbyrå"),
];

pub const LAW_FIRM_REFUSED: &str = "Advokatbyråer kan inte bli partner till Fordra. Enligt god \
    advokatsed får en advokat inte ta emot ersättning för att hänvisa klienter till någon annan, \
    och en advokatbyrå som driver in fordringar gör samma sak som Fordra. Kontakta oss på \
    partner@fordra.se om ni har frågor.";

/// The longest payout reference: what fits the remittance line of a payout.
pub const REFERENCE_MAX: usize = 35;

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct Form {
    pub org_nr: String,
    pub company_name: String,
    pub business: String,
    pub contact_name: String,
    pub email: String,
    pub password: String,
    pub password_repeat: String,
    /// `bankgiro` or `account`.
    pub payout_type: String,
    pub bankgiro: String,
    pub clearing: String,
    pub account: String,
    pub payout_reference: String,
    pub confirm: Option<String>,
    pub terms_version: String,
}

#[derive(Debug, Clone)]
pub struct Registration {
    pub org_nr: IdNumber,
    pub company_name: String,
    pub contact_name: String,
    pub email: String,
    pub password: String,
    pub payout: Payout,
    pub payout_reference: String,
    pub terms_version: String,
}

/// Validates the form against the agreement version currently offered.
pub fn validate(
    f: &Form,
    today: NaiveDate,
    current_terms: &str,
) -> Result<Registration, FieldErrors> {
    let mut e = FieldErrors::default();
    let org_nr =
        IdNumber::parse(&f.org_nr, today).map_err(|err| e.add("org_nr", err.to_string())).ok();
    let company_name = f.company_name.trim().to_string();
    if company_name.is_empty() {
        e.add("company_name", "Ange företagets namn.");
    }
    let law_firm_name = company_name.to_lowercase().contains("advokat");
    match f.business.as_str() {
        "advokatbyra" => e.add("business", LAW_FIRM_REFUSED),
        _ if law_firm_name => e.add("company_name", LAW_FIRM_REFUSED),
        b if BUSINESSES.iter().any(|(code, _)| *code == b) => {}
        _ => e.add("business", "Välj vilken sorts verksamhet företaget har."),
    }
    let contact_name = f.contact_name.trim().to_string();
    if contact_name.is_empty() {
        e.add("contact_name", "Ange kontaktpersonens namn.");
    }
    let email = f.email.trim().to_string();
    if !looks_like_email(&email) {
        e.add("email", "Ange en giltig e-postadress, till exempel namn@byran.se.");
    }
    if let Some(msg) = password::check_new(&f.password, &f.password_repeat) {
        e.add("password", msg);
    }
    let unchosen = "Välj om provisionen ska betalas till bankgiro eller bankkonto.";
    let payout =
        Payout::from_form(&f.payout_type, &f.bankgiro, (&f.clearing, &f.account), unchosen)
            .map_err(|(field, message)| e.add(field, message))
            .ok();
    let payout_reference = f.payout_reference.split_whitespace().collect::<Vec<_>>().join(" ");
    if payout_reference.is_empty() {
        e.add("payout_reference", "Ange vilken referens utbetalningarna ska ha, till exempel ert kundnummer hos oss eller ”Provision Fordra”.");
    } else if payout_reference.chars().count() > REFERENCE_MAX {
        e.add("payout_reference", format!("Referensen får vara högst {REFERENCE_MAX} tecken."));
    }
    if f.confirm.is_none() {
        e.add("confirm", "Bekräfta att uppgifterna stämmer.");
    } else if f.terms_version != current_terms {
        e.add(
            "confirm",
            "Partneravtalet har uppdaterats medan ni fyllde i formuläret. Läs det och bekräfta igen.",
        );
    }
    match (org_nr, payout) {
        (Some(org_nr), Some(payout)) if e.is_empty() => Ok(Registration {
            org_nr,
            company_name,
            contact_name,
            email,
            password: f.password.clone(),
            payout,
            payout_reference,
            terms_version: current_terms.to_string(),
        }),
        _ => Err(e),
    }
}

/// What the signatory sees in the BankID app (names the agreement version), and what is signed
/// without being shown (the agreement's SHA-256).
pub fn texts(r: &Registration, terms: &Terms, sha256: &str) -> (String, String) {
    let visible = format!(
        "# Partneravtal med Fordra\n\nJag skriver under Fordras partneravtal version {} för {} ({}) \
         och intygar att jag får företräda företaget.",
        terms.version,
        r.company_name,
        r.org_nr.display()
    );
    let hidden = format!("fordra-partneravtal;version={};sha256={sha256}", terms.version);
    (visible, hidden)
}

/// Whether `org_nr` is a partner already.
pub async fn org_taken(conn: &mut PgConnection, org_nr: &IdNumber) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        "select exists (select 1 from partner where org_nr = $1) as \"taken!\"",
        org_nr.as_str()
    )
    .fetch_one(conn)
    .await
}

/// Stores the BankID order this browser started and, with it, the registration (password as
/// its hash) until the order completes.
pub async fn hold(
    conn: &mut PgConnection,
    (order_id, order, started): (Uuid, &bankid::OrderResponse, bankid::orders::Started<'_>),
    r: &Registration,
    password_hash: &str,
    (visible, sha256): (&str, &str),
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (kind, bankgiro, clearing, account) = payout_columns(&r.payout);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let purpose = bankid::orders::Purpose::PartnerSign;
    bankid::orders::store(&mut tx, order_id, purpose, order, started, now).await?;
    sqlx::query!(
        "insert into partner_application (bankid_order_id, org_nr, name, contact_name, email, password_hash,
            payout_kind, payout_bankgiro, payout_clearing, payout_account, payout_reference, terms_version,
            visible_text, agreement_sha256, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        order_id,
        r.org_nr.as_str(),
        r.company_name,
        r.contact_name,
        r.email,
        password_hash,
        kind,
        bankgiro,
        clearing,
        account,
        r.payout_reference,
        r.terms_version,
        visible,
        sha256,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

fn payout_columns(p: &Payout) -> (&'static str, Option<String>, Option<String>, Option<String>) {
    match p {
        Payout::Bankgiro(bg) => ("bankgiro", Some(bg.clone()), None, None),
        Payout::Account { clearing, account } => {
            ("bank_account", None, Some(clearing.clone()), Some(account.clone()))
        }
    }
}

#[derive(Template)]
#[template(path = "emails/partner_registered.txt")]
struct RegisteredMail<'a> {
    name: &'a str,
    company: &'a str,
    number: &'a str,
    version: &'a str,
    link: &'a str,
    hours: i64,
}

/// Why a signed registration did not become a partner; nothing is stored.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("Registreringen är redan slutförd eller har gått ut. Börja om.")]
    Used,
    #[error(
        "Underskriften gäller inte det avtal vi bad om att få underskrivet. Ingenting har sparats. Börja om."
    )]
    WrongSignature,
    #[error("Företaget är redan partner hos Fordra. Logga in i stället.")]
    OrgTaken,
    #[error(
        "Det finns redan ett konto med den e-postadressen. Registrera med en annan adress, eller logga in med kontot."
    )]
    EmailTaken,
    #[error(transparent)]
    Db(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Refused {
    fn from(e: sqlx::Error) -> Self {
        Refused::Db(e.into())
    }
}

/// Turns the completed BankID order into a pending partner: checks that the signature covers
/// the text and agreement digest that were sent, stores the signature (completion data,
/// version, time, IP) as the partner's acceptance of the agreement, creates the contact's user
/// (the e-mail address to be confirmed) and mails the confirmation link. Once per order.
pub async fn complete(
    conn: &mut PgConnection,
    order: &OrderRow,
    (pnr, completion): (&str, &serde_json::Value),
    (ip, public_url): (&str, &str),
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<String, Refused> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let consumed = sqlx::query!("update bankid_order set consumed_at = $2 where bankid_order_id = $1 and consumed_at is null", order.bankid_order_id, now)
        .execute(&mut *tx)
        .await?;
    let app = sqlx::query!(
        "select org_nr, name, contact_name, email, password_hash, payout_kind, payout_bankgiro, payout_clearing,
                payout_account, payout_reference, terms_version, visible_text, agreement_sha256
         from partner_application where bankid_order_id = $1",
        order.bankid_order_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(app) = app.filter(|_| consumed.rows_affected() == 1) else {
        return Err(Refused::Used);
    };
    let hidden = format!(
        "fordra-partneravtal;version={};sha256={}",
        app.terms_version, app.agreement_sha256
    );
    let signed = completion.get("signature").and_then(|s| s.as_str()).and_then(bankid::signed_data);
    let matches = signed.as_ref().is_some_and(|s| {
        s.visible == app.visible_text && s.non_visible.as_deref() == Some(hidden.as_str())
    });
    if !matches {
        tracing::warn!(order = %order.order_ref, "partner agreement signature does not cover what was sent");
        return Err(Refused::WrongSignature);
    }
    let partner_id = Uuid::new_v4();
    let number = sqlx::query_scalar!(
        "insert into partner (partner_id, org_nr, name, status, created_at, agreement_signed_on, contact_name,
            contact_email, payout_kind, payout_bankgiro, payout_clearing, payout_account, payout_reference)
         values ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12)
         on conflict (org_nr) do nothing returning partner_number",
        partner_id,
        app.org_nr,
        app.name,
        now,
        today,
        app.contact_name,
        app.email,
        app.payout_kind,
        app.payout_bankgiro,
        app.payout_clearing,
        app.payout_account,
        app.payout_reference
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Refused::OrgTaken)?;
    let user = completion.get("user");
    let signer = user.and_then(|u| u.get("name")).and_then(|v| v.as_str()).unwrap_or_default();
    sqlx::query!(
        "insert into partner_agreement (partner_id, terms_version, agreement_sha256, via, signed_at, signed_on,
            ip, personal_number, signer_name, order_ref, completion)
         values ($1, $2, $3, 'bankid', $4, $5, $6, $7, $8, $9, $10)",
        partner_id,
        app.terms_version,
        app.agreement_sha256,
        now,
        today,
        ip,
        pnr,
        signer,
        order.order_ref,
        completion
    )
    .execute(&mut *tx)
    .await?;
    let user_id = sqlx::query_scalar!(
        "insert into app_user (user_id, email, password_hash, role, display_name, partner_id, email_verified_at)
         values ($1, $2, $3, 'partner', $4, $5, null)
         on conflict (lower(email)) do nothing returning user_id",
        Uuid::new_v4(),
        app.email,
        app.password_hash,
        app.contact_name,
        partner_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Refused::EmailTaken)?;
    let hours = crate::auth::service::CONFIRM_HOURS;
    let link = crate::auth::service::one_time_link(
        &mut tx,
        public_url,
        user_id,
        LinkPurpose::ConfirmEmail,
        now,
        chrono::Duration::hours(hours),
    )
    .await?;
    let text = RegisteredMail {
        name: &app.contact_name,
        company: &app.name,
        number: &number,
        version: &app.terms_version,
        link: &link,
        hours,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let subject = "Välkommen som partner till Fordra – bekräfta din e-postadress";
    crate::mail::queue(&mut tx, &app.email, subject, &text, None, now).await?;
    let detail = serde_json::json!({"org_nr": app.org_nr, "partner_number": number,
        "terms_version": app.terms_version, "agreement_sha256": app.agreement_sha256, "order_ref": order.order_ref});
    audit(
        &mut tx,
        now,
        Some(user_id),
        "partner_registered",
        Some(&partner_id.to_string()),
        detail,
        Some(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form {
            org_nr: "556036-0793".into(),
            company_name: "Siffror & Co Redovisning AB".into(),
            business: "redovisning".into(),
            contact_name: "Karin Berg".into(),
            email: "karin@siffror.test".into(),
            password: "ett långt lösenord".into(),
            password_repeat: "ett långt lösenord".into(),
            payout_type: "bankgiro".into(),
            bankgiro: "991-2346".into(),
            payout_reference: "Provision Fordra".into(),
            confirm: Some("on".into()),
            terms_version: "2026-1".into(),
            ..Form::default()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn a_complete_registration_is_accepted() {
        let r = validate(&form(), today(), "2026-1").unwrap();
        assert_eq!(r.org_nr.as_str(), "165560360793");
        assert_eq!(r.payout, Payout::Bankgiro("991-2346".into()));
        assert_eq!(r.terms_version, "2026-1");
    }

    #[test]
    fn law_firms_are_refused_by_business_and_by_name() {
        let f = Form { business: "advokatbyra".into(), ..form() };
        assert_eq!(
            validate(&f, today(), "2026-1").unwrap_err().get("business"),
            Some(LAW_FIRM_REFUSED)
        );
        let f = Form { company_name: "Advokatfirman Lind KB".into(), ..form() };
        assert_eq!(
            validate(&f, today(), "2026-1").unwrap_err().get("company_name"),
            Some(LAW_FIRM_REFUSED)
        );
    }

    #[test]
    fn each_field_gets_its_own_message() {
        let f = Form {
            org_nr: "556036-0794".into(),
            email: "karin".into(),
            password_repeat: "annat".into(),
            bankgiro: "991-2345".into(),
            payout_reference: "x".repeat(36),
            confirm: None,
            business: String::new(),
            ..form()
        };
        let e = validate(&f, today(), "2026-1").unwrap_err();
        for field in
            ["org_nr", "email", "password", "bankgiro", "payout_reference", "confirm", "business"]
        {
            assert!(e.get(field).is_some(), "{field}");
        }
        let stale = validate(&form(), today(), "2026-2").unwrap_err();
        assert!(stale.get("confirm").unwrap().contains("uppdaterats"));
    }

    #[test]
    fn the_signed_texts_name_the_version_and_carry_the_digest() {
        let r = validate(&form(), today(), "2026-1").unwrap();
        let terms =
            Terms { version: "2026-1".into(), title: "Partneravtal".into(), body: "abc".into() };
        let sha = terms.sha256();
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let (visible, hidden) = texts(&r, &terms, &sha);
        assert!(visible.contains("version 2026-1") && visible.contains("556036-0793"));
        assert_eq!(hidden, format!("fordra-partneravtal;version=2026-1;sha256={sha}"));
    }
}
