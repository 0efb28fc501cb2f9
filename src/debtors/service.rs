//! The debtor's own transactions and SQL on Mina sidor: contact details, address change
//! requests (and the staff's decision on them), refund accounts and messages to support.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    auth::{
        audit,
        rate_limit::{self, Check},
    },
    claims, clock,
    domain::bank_account::BankAccount,
    mail::looks_like_email,
    web::prelude::FieldErrors,
};

/// Records in the audit log that the person `pnr` did `action` on Mina sidor.
async fn audit_person(
    conn: &mut PgConnection,
    (now, ip): (DateTime<Utc>, &str),
    pnr: &str,
    action: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    crate::auth::audit_debtor(conn, now, pnr, action, None, detail, Some(ip)).await
}

/// E-mail and phone as typed on Mina sidor, checked and trimmed; empty means none.
pub fn check_contact(
    email: &str,
    phone: &str,
) -> Result<(Option<String>, Option<String>), FieldErrors> {
    let (email, phone) = (email.trim(), phone.trim());
    let mut errors = FieldErrors::default();
    if !email.is_empty() && !looks_like_email(email) {
        errors.add("email", "Ange en e-postadress som namn@exempel.se.");
    }
    if !phone.is_empty() && !valid_phone(phone) {
        errors.add("phone", "Ange ett telefonnummer med 7–15 siffror, till exempel 070-123 45 67.");
    }
    errors.into_result(())?;
    let given = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok((given(email), given(phone)))
}

/// A Swedish or international phone number: digits with optional `+`, spaces and dashes.
fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && p.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0))
}

/// A postal address as typed: street, postal code as "111 22", city.
pub fn check_address(
    street: &str,
    postal_code: &str,
    city: &str,
) -> Result<(String, String, String), FieldErrors> {
    let (street, city) = (street.trim(), city.trim());
    let postal: String = postal_code.chars().filter(char::is_ascii_digit).collect();
    let mut errors = FieldErrors::default();
    if street.is_empty() || street.chars().count() > 100 {
        errors.add("street", "Ange gatuadress eller box (högst 100 tecken).");
    }
    if postal.len() != 5 {
        errors.add("postal_code", "Postnumret har fem siffror, till exempel 111 22.");
    }
    if city.is_empty() || city.chars().count() > 60 {
        errors.add("city", "Ange postort.");
    }
    errors.into_result(())?;
    let postal = format!("{} {}", &postal[..3], &postal[3..]);
    Ok((street.to_string(), postal, city.to_string()))
}

/// The person's own e-mail and phone, as they gave them on Mina sidor.
pub async fn contact(
    conn: &mut PgConnection,
    personal_number: &str,
) -> sqlx::Result<(Option<String>, Option<String>)> {
    sqlx::query_as("select email, phone from person where personal_number = $1")
        .bind(personal_number)
        .fetch_one(conn)
        .await
}

/// The address change waiting for staff: street, postal code, city, when asked.
pub async fn pending_address(
    conn: &mut PgConnection,
    personal_number: &str,
) -> sqlx::Result<Option<(String, String, String, DateTime<Utc>)>> {
    sqlx::query_as(
        "select street, postal_code, city, created_at from address_change
         where personal_number = $1 and status = 'pending' order by created_at desc limit 1",
    )
    .bind(personal_number)
    .fetch_optional(conn)
    .await
}

/// Saves e-mail and phone; the person's own open cases use them from now on (letters by
/// e-mail). Audited.
pub async fn save_contact(
    conn: &mut PgConnection,
    personal_number: &str,
    (email, phone): (Option<String>, Option<String>),
    ip: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query("update person set email = $2, phone = $3 where personal_number = $1")
        .bind(personal_number)
        .bind(&email)
        .bind(&phone)
        .execute(&mut *tx)
        .await?;
    let updated = sqlx::query(
        "update claim set debtor_email = $2, debtor_phone = $3
         where debtor_id_number = $1 and state not in ('paid', 'withdrawn', 'written_off')",
    )
    .bind(personal_number)
    .bind(&email)
    .bind(&phone)
    .execute(&mut *tx)
    .await?;
    audit_person(&mut tx, (now, ip), personal_number, "debtor_contact_changed", json!({"email": email.is_some(), "phone": phone.is_some(), "claims": updated.rows_affected()}))
    .await?;
    tx.commit().await
}

/// Asks for a new postal address, for staff to check; a newer request replaces one not yet
/// checked. Audited.
pub async fn request_address(
    conn: &mut PgConnection,
    personal_number: &str,
    (street, postal, city): (String, String, String),
    ip: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!("update address_change set status = 'rejected', decided_at = $2 where personal_number = $1 and status = 'pending'", personal_number, now)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("insert into address_change (address_change_id, personal_number, street, postal_code, city, created_at)
         values ($1, $2, $3, $4, $5, $6)", Uuid::new_v4(), personal_number, street, postal, city, now)
    .execute(&mut *tx)
    .await?;
    audit_person(&mut tx, (now, ip), personal_number, "debtor_address_requested", json!({}))
        .await?;
    tx.commit().await
}

/// Keeps the account the debtor wants an overpayment of claim `claim_id` paid back to.
pub async fn save_refund_account(
    conn: &mut PgConnection,
    claim_id: Uuid,
    acc: &BankAccount,
    personal_number: &str,
    ip: &str,
    (now, today): (DateTime<Utc>, NaiveDate),
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::query!("insert into refund_account (claim_id, clearing, account, given_at, given_by) values ($1, $2, $3, $4, null)
         on conflict (claim_id) do update set clearing = $2, account = $3, given_at = $4, given_by = null", claim_id, &acc.clearing, &acc.account, now)
    .execute(&mut *tx)
    .await?;
    claims::add_event(
        &mut tx,
        claim_id,
        now,
        today,
        "refund_account_given",
        None,
        json!({"bank": acc.bank}),
        None,
    )
    .await?;
    let subject = claim_id.to_string();
    let (action, detail) = ("debtor_refund_account", json!({}));
    crate::auth::audit_debtor(
        &mut tx,
        now,
        personal_number,
        action,
        Some(&subject),
        detail,
        Some(ip),
    )
    .await?;
    tx.commit().await
}

/// Staff approve (the address becomes the person's address on every open case, marked
/// verified, and the engine looks at those cases again) or reject an address change. False
/// when it was already decided.
pub async fn decide_address(
    conn: &mut PgConnection,
    id: Uuid,
    approve: bool,
    user_id: Uuid,
    ip: &str,
    (now, today): (DateTime<Utc>, NaiveDate),
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "select personal_number, street, postal_code, city from address_change
         where address_change_id = $1 and status = 'pending' for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((pnr, street, postal, city)) = row else {
        return Ok(false);
    };
    sqlx::query!("update address_change set status = $2, decided_at = $3, decided_by = $4 where address_change_id = $1", id, if approve { "approved" } else { "rejected" }, now, user_id)
        .execute(&mut *tx)
        .await?;
    if approve {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "update claim set debtor_street = $2, debtor_postal_code = $3, debtor_city = $4,
                address_verified_at = $5, returned_mail = false
             where debtor_id_number = $1 and state not in ('paid', 'withdrawn', 'written_off') returning claim_id",
        )
        .bind(&pnr)
        .bind(&street)
        .bind(&postal)
        .bind(&city)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for claim_id in ids {
            claims::add_event(
                &mut tx,
                claim_id,
                now,
                today,
                "address_changed",
                Some(user_id),
                json!({}),
                None,
            )
            .await?;
            claims::wake(&mut tx, claim_id, today).await?;
        }
    }
    let person = crate::auth::person_ref(&mut tx, &pnr).await?;
    audit(
        &mut tx,
        now,
        Some(user_id),
        "debtor_address_decided",
        Some(&person),
        json!({"approved": approve}),
        Some(ip),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The companies the person represents on Mina sidor: identity number and name.
pub async fn companies(
    conn: &mut PgConnection,
    personal_number: &str,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select r.company_id_number, coalesce((select c.debtor_name from claim c where c.claim_id = r.via_claim_id), '')
         from representation r where r.personal_number = $1 order by r.added_at",
    )
    .bind(personal_number)
    .fetch_all(conn)
    .await
}

/// A company's representative adds its case with the OCR and the case code printed on the
/// letter (proof of possession): rate-limited per person (the attempt counts even when it
/// fails), audited. The claim, or why not (said on the OCR field).
pub async fn add_company(
    conn: &mut PgConnection,
    personal_number: &str,
    ocr: &str,
    code: &str,
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<Uuid, String>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let bucket = format!("representation:{personal_number}");
    if let Check::Blocked { retry_at } =
        rate_limit::hit(&mut tx, &bucket, now, 10, chrono::Duration::hours(1)).await?
    {
        tx.commit().await?;
        let at = clock::stockholm_local(retry_at).format("%H:%M");
        return Ok(Err(format!("För många försök. Försök igen efter kl. {at}.")));
    }
    let found: Option<(Uuid, String, String)> = sqlx::query_as(
        "select claim_id, debtor_kind, debtor_id_number from claim where ocr = $1 and case_code = $2",
    )
    .bind(ocr)
    .bind(code)
    .fetch_optional(&mut *tx)
    .await?;
    let refused = match found {
        Some((claim_id, kind, company)) if kind == "company" => {
            sqlx::query!("insert into representation (personal_number, company_id_number, via_claim_id, added_at)
                 values ($1, $2, $3, $4) on conflict do nothing", personal_number, &company, claim_id, now)
            .execute(&mut *tx)
            .await?;
            audit_person(
                &mut tx,
                (now, ip),
                personal_number,
                "debtor_representation_added",
                json!({"company": company, "claim_id": claim_id}),
            )
            .await?;
            tx.commit().await?;
            return Ok(Ok(claim_id));
        }
        Some(_) => {
            "Ärendet gäller en privatperson. Den som kravet gäller loggar in med sitt eget BankID."
        }
        None => {
            "Vi hittar inget ärende med det OCR-numret och den kontrollkoden. Kontrollera uppgifterna i brevet."
        }
    };
    // The rate-limit hit is kept even though nothing else is stored.
    tx.commit().await?;
    Ok(Err(refused.to_string()))
}

/// Uses a completed order once: the person (`pnr`, given name and surname from BankID) is
/// stored or updated, a debtor session starts, and the login is audited. `None` when the
/// order was used already.
pub async fn sign_in(
    conn: &mut PgConnection,
    order: &crate::bankid::orders::OrderRow,
    pnr: &str,
    (given_name, surname): (String, String),
    ip: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let consumed = sqlx::query!("update bankid_order set consumed_at = $2 where bankid_order_id = $1 and consumed_at is null", order.bankid_order_id, now)
    .execute(&mut *tx)
    .await?;
    if consumed.rows_affected() == 0 {
        return Ok(None);
    }
    sqlx::query!("insert into person (personal_number, given_name, surname, first_login_at, last_login_at)
         values ($1, $2, $3, $4, $4)
         on conflict (personal_number) do update set given_name = $2, surname = $3, last_login_at = $4", pnr, given_name, surname, now)
    .execute(&mut *tx)
    .await?;
    let token =
        crate::auth::session::create_debtor(&mut tx, pnr, order.bankid_order_id, now).await?;
    audit_person(&mut tx, (now, ip), pnr, "debtor_login", json!({"order_ref": order.order_ref}))
        .await?;
    tx.commit().await?;
    Ok(Some(token))
}

#[cfg(test)]
mod tests {
    use super::valid_phone;

    #[test]
    fn phone_numbers() {
        assert!(valid_phone("070-123 45 67"));
        assert!(valid_phone("+46701234567"));
        assert!(!valid_phone("12"));
        assert!(!valid_phone("070+1234567"));
        assert!(!valid_phone("ring mig"));
    }
}
