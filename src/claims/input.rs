//! Claim input as it arrives (API JSON, web form, CSV row), and its validation into a claim that
//! cannot be invalid. Every error is a Swedish message keyed by a dotted field name.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::{
    domain::{
        fees::Capacity,
        ids::{IdKind, IdNumber},
        lifecycle::StartWith,
        limitation,
        money::Sek,
    },
    mail::looks_like_email,
    parameters::Parameters,
    web::forms::FieldErrors,
};

#[derive(Debug, Default, Deserialize)]
pub struct AddressInput {
    pub street: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DebtorInput {
    pub kind: Option<String>,
    pub id_number: Option<String>,
    pub name: Option<String>,
    pub capacity: Option<String>,
    pub address: Option<AddressInput>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ClaimInput {
    pub invoice_number: Option<String>,
    pub description: Option<String>,
    /// A decimal string (`"2500.00"`, `"2 500,00"`); a JSON number is accepted too.
    pub capital: Option<serde_json::Value>,
    pub invoice_date: Option<String>,
    pub due_date: Option<String>,
    pub claim_arose_date: Option<String>,
    pub reminder_fee_agreed: Option<bool>,
    pub start_with: Option<String>,
    pub debtor: Option<DebtorInput>,
    /// Over the API with a partner's key: the customer the claim is for.
    pub creditor_org_nr: Option<String>,
}

#[derive(Clone, Debug)]
pub struct NewClaim {
    pub invoice_number: String,
    pub description: String,
    pub capital: Sek,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub claim_arose_date: NaiveDate,
    pub reminder_fee_agreed: bool,
    pub start_with: StartWith,
    pub debtor_kind: &'static str,
    pub debtor_id: IdNumber,
    pub debtor_name: String,
    pub capacity: Capacity,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// Why a claim was refused: field errors (422), or time-barred (422, its own code).
#[derive(Debug)]
pub enum Invalid {
    Fields(FieldErrors),
    /// The limitation period ran out; `field` is the date it runs from (`claim_arose_date` when
    /// given, otherwise `invoice_date`).
    TimeBarred {
        limitation_date: NaiveDate,
        field: &'static str,
    },
}

impl Invalid {
    /// The refusal as Swedish messages by field, for forms and CSV lines alike.
    pub fn into_errors(self) -> FieldErrors {
        match self {
            Invalid::Fields(e) => e,
            Invalid::TimeBarred { limitation_date, field } => {
                let mut e = FieldErrors::default();
                e.add(field, time_barred_message(limitation_date));
                e
            }
        }
    }
}

pub fn time_barred_message(limitation_date: NaiveDate) -> String {
    format!("Fordran är preskriberad sedan {limitation_date} och kan inte drivas in.")
}

/// Longest street and city accepted: what fits the address window of a letter.
pub const MAX_STREET: usize = 100;
pub const MAX_CITY: usize = 50;

fn text(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

fn date(
    errors: &mut FieldErrors,
    field: &str,
    v: &Option<String>,
    required: bool,
) -> Option<NaiveDate> {
    let s = text(v);
    if s.is_empty() {
        if required {
            errors.add(field, "Ange ett datum (ÅÅÅÅ-MM-DD).");
        }
        return None;
    }
    let parsed = crate::web::forms::parse_date(&s);
    if parsed.is_none() {
        errors.add(field, crate::web::forms::DATE_FORMAT);
    }
    parsed
}

/// Swedish postal code: five digits, written `123 45`.
pub fn postal_code(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0'))
        .then(|| format!("{} {}", &digits[..3], &digits[3..]))
}

/// Validates a claim as registered on `today`: every field, the limitation date, and that the
/// reference rates needed for its interest are known.
pub fn validate(
    input: &ClaimInput,
    today: NaiveDate,
    params: &Parameters,
) -> Result<NewClaim, Invalid> {
    let rules = params.book.in_force(today);
    let mut e = FieldErrors::default();
    let invoice_number = text(&input.invoice_number);
    if invoice_number.is_empty() {
        e.add("invoice_number", "Ange fakturanummer.");
    } else if invoice_number.chars().count() > 50 {
        e.add("invoice_number", "Fakturanumret får vara högst 50 tecken.");
    }
    let description = text(&input.description);
    if description.chars().count() > 500 {
        e.add("description", "Beskrivningen får vara högst 500 tecken.");
    }
    let capital = match &input.capital {
        None | Some(serde_json::Value::Null) => {
            e.add("capital", "Ange kapitalbeloppet.");
            None
        }
        Some(v) => {
            let s = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match Sek::parse(&s) {
                Ok(c) if c > rules.capital_max => {
                    e.add(
                        "capital",
                        format!(
                            "Kapitalbeloppet får vara högst {}. Kontakta oss om fordran är större.",
                            rules.capital_max
                        ),
                    );
                    None
                }
                Ok(c) if c.is_positive() => Some(c),
                Ok(_) => {
                    e.add("capital", "Kapitalbeloppet måste vara större än noll.");
                    None
                }
                Err(err) => {
                    e.add("capital", err.to_string());
                    None
                }
            }
        }
    };
    let invoice_date = date(&mut e, "invoice_date", &input.invoice_date, true);
    let due_date = date(&mut e, "due_date", &input.due_date, true);
    let arose = date(&mut e, "claim_arose_date", &input.claim_arose_date, false).or(invoice_date);
    if let (Some(i), Some(d)) = (invoice_date, due_date)
        && d < i
    {
        e.add("due_date", "Förfallodagen kan inte vara före fakturadatumet.");
    }
    if invoice_date.is_some_and(|i| i > today) {
        e.add("invoice_date", "Fakturadatumet kan inte ligga i framtiden.");
    }
    let start_with = match text(&input.start_with).as_str() {
        "" | "reminder" => StartWith::Reminder,
        "collection" => StartWith::Collection,
        _ => {
            e.add("start_with", "Välj att börja med betalningspåminnelse (reminder) eller inkassokrav (collection).");
            StartWith::Reminder
        }
    };
    let empty = DebtorInput::default();
    let debtor = input.debtor.as_ref().unwrap_or(&empty);
    let kind = match text(&debtor.kind).as_str() {
        "person" => Some("person"),
        "company" => Some("company"),
        _ => {
            e.add(
                "debtor.kind",
                "Ange om gäldenären är en person (person) eller ett företag (company).",
            );
            None
        }
    };
    let id = match IdNumber::parse(&text(&debtor.id_number), today) {
        Ok(id) => Some(id),
        Err(err) => {
            e.add("debtor.id_number", err.to_string());
            None
        }
    };
    if let (Some("person"), Some(id)) = (kind, &id)
        && id.kind() == IdKind::Organisation
    {
        e.add(
            "debtor.id_number",
            "En person har personnummer eller samordningsnummer, inte organisationsnummer.",
        );
    }
    let name = text(&debtor.name);
    if name.is_empty() {
        e.add("debtor.name", "Ange gäldenärens namn.");
    } else if name.chars().count() > 200 {
        e.add("debtor.name", "Namnet får vara högst 200 tecken.");
    }
    let capacity = match text(&debtor.capacity).as_str() {
        "consumer" => Some(Capacity::Consumer),
        "business" => Some(Capacity::Business),
        _ => {
            e.add(
                "debtor.capacity",
                "Ange om gäldenären är konsument (consumer) eller näringsidkare (business).",
            );
            None
        }
    };
    if let (Some(Capacity::Consumer), Some(id)) = (capacity, &id)
        && id.kind() == IdKind::Organisation
    {
        e.add("debtor.capacity", "Ett företag med organisationsnummer kan inte vara konsument.");
    }
    let no_address = AddressInput::default();
    let address = debtor.address.as_ref();
    if address.is_none() {
        e.add("debtor.address", "Ange gäldenärens adress.");
    }
    let address = address.unwrap_or(&no_address);
    let street = text(&address.street);
    if street.is_empty() {
        e.add("debtor.address.street", "Ange gatuadress.");
    } else if street.chars().count() > MAX_STREET {
        e.add("debtor.address.street", format!("Gatuadressen får vara högst {MAX_STREET} tecken."));
    }
    let postal = postal_code(&text(&address.postal_code));
    if postal.is_none() {
        e.add(
            "debtor.address.postal_code",
            "Ange ett postnummer med fem siffror, till exempel 123 45.",
        );
    }
    let city = text(&address.city);
    if city.is_empty() {
        e.add("debtor.address.city", "Ange postort.");
    } else if city.chars().count() > MAX_CITY {
        e.add("debtor.address.city", format!("Postorten får vara högst {MAX_CITY} tecken."));
    }
    let email = Some(text(&debtor.email)).filter(|s| !s.is_empty());
    if email.as_deref().is_some_and(|m| !looks_like_email(m) || m.len() > 254) {
        e.add("debtor.email", "Ange en giltig e-postadress, till exempel namn@exempel.se.");
    }
    let phone = Some(text(&debtor.phone)).filter(|s| !s.is_empty());
    if phone.as_deref().is_some_and(|p| {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        !(7..=15).contains(&digits)
            || p.chars().any(|c| !(c.is_ascii_digit() || " +-()".contains(c)))
    }) {
        e.add("debtor.phone", "Ange ett telefonnummer med siffror, till exempel 070-123 45 67.");
    }
    let (
        Some(capital),
        Some(invoice_date),
        Some(due_date),
        Some(arose),
        Some(kind),
        Some(id),
        Some(capacity),
        Some(postal),
    ) = (capital, invoice_date, due_date, arose, kind, id, capacity, postal)
    else {
        return Err(Invalid::Fields(e));
    };
    let interest_from = crate::domain::lifecycle::first_action_date(due_date);
    if interest_from <= today && params.rates.period_of(interest_from).is_none() {
        e.add(
            "due_date",
            format!("Referensränta saknas för {interest_from}; räntan kan inte beräknas för så gamla förfallodagar."),
        );
    }
    if !e.is_empty() {
        return Err(Invalid::Fields(e));
    }
    let lapses = limitation::limitation_date(arose, capacity, &[], rules);
    if lapses <= today {
        return Err(Invalid::TimeBarred {
            limitation_date: lapses,
            field: if text(&input.claim_arose_date).is_empty() {
                "invoice_date"
            } else {
                "claim_arose_date"
            },
        });
    }
    Ok(NewClaim {
        invoice_number,
        description,
        capital,
        invoice_date,
        due_date,
        claim_arose_date: arose,
        reminder_fee_agreed: input.reminder_fee_agreed.unwrap_or(false),
        start_with,
        debtor_kind: kind,
        debtor_id: id,
        debtor_name: name,
        capacity,
        street,
        postal_code: postal,
        city,
        email,
        phone,
    })
}
