//! The creditor's actions on a claim (withdraw, pause, resume, direct payments and credits), from
//! the claim page or the API, each in one transaction that owns the claim's row lock: the state
//! is read again under the lock, so an action never acts on a claim that was paid, withdrawn or
//! changed by a concurrent request or the engine.

use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::{
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

/// Who acts on a claim: a creditor's user on the claim page, or an API key (whose creator, if a
/// person made it in the portal, is named); where from, and when.
pub struct Actor<'a> {
    pub user: Option<uuid::Uuid>,
    pub api_key: Option<uuid::Uuid>,
    pub ip: &'a str,
    pub now: chrono::DateTime<chrono::Utc>,
    pub today: chrono::NaiveDate,
}

impl<'a> From<&crate::auth::Acting<'a>> for Actor<'a> {
    fn from(by: &crate::auth::Acting<'a>) -> Actor<'a> {
        Actor { user: Some(by.user_id), api_key: None, ip: by.ip, now: by.now, today: by.today }
    }
}

/// Performs a creditor's action on their claim; `Err(NotFound)` for anyone else's.
pub async fn creditor_action(
    conn: &mut PgConnection,
    params: &Cache,
    identity: &Identity,
    (claim_id, creditor): (uuid::Uuid, Option<uuid::Uuid>),
    actor: &Actor<'_>,
    input: &ActionInput<'_>,
) -> Result<Outcome, AppError> {
    let note = input.note.trim();
    let mut errors = FieldErrors::default();
    if note.chars().count() > 500 {
        errors.add("note", "Kommentaren får vara högst 500 tecken.");
    }
    // Read under the row lock: the engine and other requests wait, and what we check is current.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let rec = claims::lock(&mut tx, claim_id, creditor).await?.ok_or(AppError::NotFound)?;
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
            claims::reduce_capital(&mut tx, rec.claim_id, kind, amount, on, now, actor.user)
                .await?;
            // Payments already allocated may now split differently (less interest ran).
            let report = crate::payments::ledger::sync_claims(
                &mut tx,
                &[rec.claim_id],
                &params,
                today,
                now,
                actor.user,
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
    let detail = match actor.api_key {
        Some(key) => {
            let mut d = detail;
            d["api_key"] = json!(key);
            d
        }
        None => detail,
    };
    record_change(&mut tx, &rec, actor.user, actor.ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(Outcome::Done(message))
}
