//! The creditor's actions on a claim, each in one transaction that owns the claim's row lock:
//! the state is read again under the lock, so an action never acts on a claim that was paid,
//! withdrawn or changed by a concurrent request or the engine.

use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::claims::OnClaim;
use crate::{
    auth::Acting,
    claims::{self, web::record_change},
    config::Identity,
    domain::money::Sek,
    parameters::Cache,
    web::{AppError, forms::FieldErrors},
};

/// What a creditor asked for on the claim page (the form's fields, unparsed).
pub struct ActionInput<'a> {
    pub action: &'a str,
    pub amount: &'a str,
    pub on_date: &'a str,
    pub note: &'a str,
}

pub enum Outcome {
    /// Done and committed; the message tells the creditor what happened.
    Done(String),
    /// The claim is closed (paid, withdrawn or written off), perhaps since the page was shown.
    Closed,
    /// The action does not apply in the claim's state (e.g. resume a claim that is not paused).
    NotAllowed,
    /// The input is wrong; nothing was stored.
    Invalid(FieldErrors),
}

const CLOSED: &str = "Fordran är avslutad och kan inte ändras.";

impl Outcome {
    pub fn closed_message() -> &'static str {
        CLOSED
    }
}

/// Performs a creditor's action on their claim; `Err(NotFound)` for anyone else's.
pub async fn creditor_action(
    conn: &mut PgConnection,
    params: &Cache,
    identity: &Identity,
    on: &OnClaim<'_>,
    input: &ActionInput<'_>,
) -> Result<Outcome, AppError> {
    let actor = &on.by;
    let note = input.note.trim();
    let mut errors = FieldErrors::default();
    if note.chars().count() > 500 {
        errors.add("note", "Kommentaren får vara högst 500 tecken.");
    }
    // Read under the row lock: the engine and other requests wait, and what we check is current.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let rec = claims::lock(&mut tx, on.claim_id, on.creditor).await?.ok_or(AppError::NotFound)?;
    if rec.state().is_terminal() {
        return Ok(Outcome::Closed);
    }
    let (today, now) = (actor.today, actor.now);
    let (event, detail, message): (&str, Value, String) = match input.action {
        _ if !errors.is_empty() => return Ok(Outcome::Invalid(errors)),
        "withdraw" => {
            match claims::withdraw(&mut tx, &rec, identity, now, today).await {
                Ok(()) => {}
                Err(claims::StateError::Conflict) => return Ok(Outcome::Closed),
                Err(claims::StateError::Db(e)) => return Err(e.into()),
                Err(claims::StateError::Other(e)) => return Err(e.into()),
            }
            (
                "withdrawn",
                json!({"note": note}),
                "Fordran är återkallad. Inga fler brev skickas.".into(),
            )
        }
        "pause" if !rec.paused => {
            claims::set_paused(&mut tx, rec.claim_id, true).await?;
            (
                "paused",
                json!({"note": note}),
                "Fordran är pausad. Inga brev skickas förrän ni återupptar den.".into(),
            )
        }
        "resume" if rec.paused => {
            claims::set_paused(&mut tx, rec.claim_id, false).await?;
            ("resumed", json!({}), "Fordran är återupptagen.".into())
        }
        kind @ ("direct_payment" | "credit") => {
            let params = params.get(&mut tx).await?;
            let s = claims::load_statement(&mut tx, &rec, &params, today).await?;
            let amount = match Sek::parse(input.amount) {
                Ok(a) if !a.is_positive() => {
                    errors.add("amount", "Beloppet måste vara större än noll.");
                    None
                }
                Ok(a) if a > s.capital => {
                    errors.add(
                        "amount",
                        format!(
                            "Beloppet kan inte vara större än kvarvarande kapital, {}.",
                            s.capital
                        ),
                    );
                    None
                }
                Ok(a) => Some(a),
                Err(e) => {
                    errors.add("amount", e.to_string());
                    None
                }
            };
            let on = crate::web::forms::parse_date(input.on_date);
            match on {
                None => errors.add("on_date", "Ange datumet som ÅÅÅÅ-MM-DD."),
                Some(d) if d > today => {
                    errors.add("on_date", "Datumet kan inte ligga i framtiden.")
                }
                Some(d) if d < rec.invoice_date => {
                    errors.add("on_date", "Datumet kan inte vara före fakturadatumet.")
                }
                _ => {}
            }
            let (Some(amount), Some(on), true) = (amount, on, errors.is_empty()) else {
                return Ok(Outcome::Invalid(errors));
            };
            claims::reduce_capital(&mut tx, rec.claim_id, kind, amount, on, now, actor.user_id)
                .await?;
            // Payments already allocated may now split differently (less interest ran).
            let report = crate::payments::ledger::sync_claims(
                &mut tx,
                &[rec.claim_id],
                &params,
                today,
                now,
                Some(actor.user_id),
            )
            .await?;
            let label = if kind == "credit" { "Krediteringen" } else { "Direktbetalningen" };
            let mut message = format!("{label} på {amount} är registrerad.");
            if !report.paid.is_empty() {
                message.push_str(" Fordran är nu helt betald.");
            }
            (kind, json!({"amount": amount.to_plain(), "on_date": on, "note": note}), message)
        }
        _ => return Ok(Outcome::NotAllowed),
    };
    record_change(&mut tx, &rec, actor.user_id, actor.ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(Outcome::Done(message))
}

/// Staff set or clear a blocking flag on a claim (`deceased`, `returned_mail`, `on_hold`) or
/// mark its address as checked (`address_verified`); the timeline and the audit log say who.
/// Returns the message for staff.
pub async fn set_flag(
    conn: &mut PgConnection,
    rec: &claims::ClaimRecord,
    flag: &str,
    on: bool,
    by: &Acting<'_>,
) -> Result<String, AppError> {
    let (user_id, ip, now, today) = (by.user_id, by.ip, by.now, by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let (event, detail, message) = match flag {
        "address_verified" => {
            sqlx::query!("update claim set address_verified_at = $2, returned_mail = false where claim_id = $1", rec.claim_id, now)
                .execute(&mut *tx)
                .await?;
            ("address_verified", json!({}), "Adressen är markerad som kontrollerad.".to_string())
        }
        flag @ ("deceased" | "returned_mail" | "on_hold") => {
            sqlx::query!(
                "update claim set
                    deceased = case when $3 = 'deceased' then $2 else deceased end,
                    returned_mail = case when $3 = 'returned_mail' then $2 else returned_mail end,
                    on_hold = case when $3 = 'on_hold' then $2 else on_hold end
                 where claim_id = $1",
                rec.claim_id,
                on,
                flag
            )
            .execute(&mut *tx)
            .await?;
            let verb = if on { "satt" } else { "borttagen" };
            (
                if on { "flag_set" } else { "flag_cleared" },
                json!({"flag": flag}),
                format!("Markeringen ”{}” är {verb}.", super::flag_label(flag)),
            )
        }
        _ => return Err(AppError::BadRequest("okänd markering".into())),
    };
    record_change(&mut tx, rec, user_id, ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(message)
}

/// An address change the debtor asked for, waiting for staff.
#[derive(sqlx::FromRow)]
pub struct AddressChange {
    pub address_change_id: uuid::Uuid,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The address changes waiting for staff for the person or company `id_number`, oldest first.
pub async fn pending_address_changes(
    conn: &mut PgConnection,
    id_number: &str,
) -> sqlx::Result<Vec<AddressChange>> {
    sqlx::query_as!(
        AddressChange,
        "select address_change_id, street, postal_code, city, created_at from address_change
         where personal_number = $1 and status = 'pending' order by created_at",
        id_number
    )
    .fetch_all(conn)
    .await
}
