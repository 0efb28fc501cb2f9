//! Contact details, refund account, address changes and messages to support.
//!
//! E-mail and phone apply at once to the person's open cases (letters go by e-mail from then
//! on). An address change is checked by staff first (C9: letters go to the registered address),
//! on the staff view of the claim. A refund account is stored per claim in `refund_account`,
//! where staff's refund flow reads it. Messages become support tickets.

use crate::auth::Ctx;
use crate::web::extract::Form;
use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::{refuse_on_case, service};
use crate::claims::web::{visible_claim, visible_claims};
use crate::{
    auth::STAFF, domain::bank_account, mail::looks_like_email, state::AppState, web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/kontakt", get(contact_page).post(contact_save))
        .route("/mina-sidor/adress", post(address_request))
        .route(
            "/mina-sidor/arenden/{id}/aterbetalning",
            post(refund_account),
        )
        .route(
            "/mina-sidor/meddelanden",
            get(messages_page).post(message_send),
        )
        .route("/admin/adressandringar/{id}", post(staff_address_decide))
}

#[derive(Template)]
#[template(path = "debtors/contact.html")]
struct ContactPage {
    layout: Layout,
    email: String,
    phone: String,
    street: String,
    postal_code: String,
    city: String,
    current_address: Option<(String, String, String)>,
    pending: Option<(String, String, String, DateTime<Utc>)>,
    errors: FieldErrors,
}

async fn contact_view(
    state: &AppState,
    ctx: &Ctx,
    pnr: &str,
    errors: FieldErrors,
) -> Result<ContactPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let (email, phone) = service::contact(&mut conn, pnr).await?;
    let cases = visible_claims(&mut conn, pnr).await?;
    let own = cases.iter().find(|c| c.debtor_id_number == pnr);
    let pending = service::pending_address(&mut conn, pnr).await?;
    Ok(ContactPage {
        layout: ctx.layout(),
        email: email
            .or_else(|| own.and_then(|c| c.debtor_email.clone()))
            .unwrap_or_default(),
        phone: phone
            .or_else(|| own.and_then(|c| c.debtor_phone.clone()))
            .unwrap_or_default(),
        street: String::new(),
        postal_code: String::new(),
        city: String::new(),
        current_address: own.map(|c| {
            (
                c.debtor_street.clone(),
                c.debtor_postal_code.clone(),
                c.debtor_city.clone(),
            )
        }),
        pending,
        errors,
    })
}

async fn contact_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    Ok(render(
        &contact_view(&state, &ctx, &me.personal_number, FieldErrors::default()).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ContactForm {
    email: String,
    phone: String,
}

/// A Swedish or international phone number: digits with optional `+`, spaces and dashes.
fn valid_phone(p: &str) -> bool {
    let digits = p.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && p.chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == ' ' || c == '-' || (c == '+' && i == 0))
}

async fn contact_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let email = form.email.trim().to_string();
    let phone = form.phone.trim().to_string();
    let mut errors = FieldErrors::default();
    if !email.is_empty() && !looks_like_email(&email) {
        errors.add("email", "Ange en e-postadress som namn@exempel.se.");
    }
    if !phone.is_empty() && !valid_phone(&phone) {
        errors.add(
            "phone",
            "Ange ett telefonnummer med 7–15 siffror, till exempel 070-123 45 67.",
        );
    }
    if !errors.is_empty() {
        let mut page = contact_view(&state, &ctx, &me.personal_number, errors).await?;
        page.email = email;
        page.phone = phone;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let email = (!email.is_empty()).then_some(email);
    let phone = (!phone.is_empty()).then_some(phone);
    let mut conn = state.db.acquire().await?;
    let details = (email.as_deref(), phone.as_deref());
    service::save_contact(
        &mut conn,
        &me.personal_number,
        details,
        &ctx.ip,
        state.clock.now(),
    )
    .await?;
    Ok(flash_redirect(
        "/mina-sidor/kontakt",
        FlashKind::Success,
        "Dina kontaktuppgifter är sparade.",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AddressForm {
    street: String,
    postal_code: String,
    city: String,
}

async fn address_request(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AddressForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let street = form.street.trim().to_string();
    let postal: String = form
        .postal_code
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let city = form.city.trim().to_string();
    let mut errors = FieldErrors::default();
    if street.is_empty() || street.chars().count() > 100 {
        errors.add("street", "Ange gatuadress eller box (högst 100 tecken).");
    }
    if postal.len() != 5 {
        errors.add(
            "postal_code",
            "Postnumret har fem siffror, till exempel 111 22.",
        );
    }
    if city.is_empty() || city.chars().count() > 60 {
        errors.add("city", "Ange postort.");
    }
    if !errors.is_empty() {
        let mut page = contact_view(&state, &ctx, &me.personal_number, errors).await?;
        page.street = form.street;
        page.postal_code = form.postal_code;
        page.city = form.city;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let postal = format!("{} {}", &postal[..3], &postal[3..]);
    let mut conn = state.db.acquire().await?;
    let address = (street.as_str(), postal.as_str(), city.as_str());
    service::request_address(
        &mut conn,
        &me.personal_number,
        address,
        &ctx.ip,
        state.clock.now(),
    )
    .await?;
    Ok(flash_redirect(
        "/mina-sidor/kontakt",
        FlashKind::Success,
        "Tack! Vi kontrollerar den nya adressen innan brev skickas dit.",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RefundForm {
    clearing: String,
    account: String,
}

async fn refund_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let c = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let books = crate::payments::ledger::claim_books(&mut conn, &[c.claim_id])
        .await?
        .remove(&c.claim_id)
        .unwrap_or_default();
    drop(conn);
    let mut errors = FieldErrors::default();
    if !(books.overpaid - books.refunded).is_positive() {
        errors.add(
            "clearing",
            "Det finns inget att betala tillbaka i det här ärendet.",
        );
        return refuse_on_case(&state, &ctx, me, &id, errors).await;
    }
    let acc = match bank_account::validate(&form.clearing, &form.account) {
        Ok(a) => a,
        Err(e) => {
            errors.add(e.field(), e.to_string());
            return refuse_on_case(&state, &ctx, me, &id, errors).await;
        }
    };
    let mut conn = state.db.acquire().await?;
    let when = (state.clock.now(), state.clock.today());
    service::save_refund_account(
        &mut conn,
        c.claim_id,
        &acc,
        &me.personal_number,
        &ctx.ip,
        when,
    )
    .await?;
    Ok(flash_redirect(
        &format!("/mina-sidor/arenden/{}", c.claim_id),
        FlashKind::Success,
        &format!("Tack! Vi betalar tillbaka till ditt konto i {}.", acc.bank),
    ))
}

#[derive(Template)]
#[template(path = "debtors/messages.html")]
struct MessagesPage {
    layout: Layout,
    tickets: Vec<service::TicketRow>,
    cases: Vec<(Uuid, String)>,
    claim: String,
    subject: String,
    body: String,
    errors: FieldErrors,
}

async fn messages_view(
    state: &AppState,
    ctx: &Ctx,
    pnr: &str,
    errors: FieldErrors,
) -> Result<MessagesPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let tickets = service::tickets(&mut conn, pnr).await?;
    let cases = visible_claims(&mut conn, pnr)
        .await?
        .into_iter()
        .map(|c| {
            (
                c.claim_id,
                format!("{} – faktura {}", c.creditor_name, c.invoice_number),
            )
        })
        .collect();
    Ok(MessagesPage {
        layout: ctx.layout(),
        tickets,
        cases,
        claim: String::new(),
        subject: String::new(),
        body: String::new(),
        errors,
    })
}

async fn messages_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    Ok(render(
        &messages_view(&state, &ctx, &me.personal_number, FieldErrors::default()).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MessageForm {
    claim: String,
    subject: String,
    body: String,
}

async fn message_send(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<MessageForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let subject = form.subject.trim().to_string();
    let body = form.body.trim().to_string();
    let mut errors = FieldErrors::default();
    let mut conn = state.db.acquire().await?;
    let claim_id = if form.claim.is_empty() {
        None
    } else {
        match visible_claim(&mut conn, &me.personal_number, &form.claim).await {
            Ok(c) => Some(c.claim_id),
            Err(_) => {
                errors.add("claim", "Välj ett av dina ärenden.");
                None
            }
        }
    };
    drop(conn);
    if subject.is_empty() || subject.chars().count() > 120 {
        errors.add("subject", "Skriv en rubrik (högst 120 tecken).");
    }
    if body.chars().count() < 2 || body.chars().count() > 4000 {
        errors.add("body", "Skriv ditt meddelande (högst 4 000 tecken).");
    }
    if !errors.is_empty() {
        let mut page = messages_view(&state, &ctx, &me.personal_number, errors).await?;
        page.claim = form.claim;
        page.subject = subject;
        page.body = body;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let mut conn = state.db.acquire().await?;
    let message = (subject.as_str(), body.as_str());
    service::send_message(
        &mut conn,
        &me.personal_number,
        claim_id,
        message,
        state.clock.now(),
    )
    .await?;
    Ok(flash_redirect(
        "/mina-sidor/meddelanden",
        FlashKind::Success,
        "Ditt meddelande är skickat. Vi svarar så snart vi kan.",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecideForm {
    decision: String,
    back: String,
}

/// Staff approve (the address becomes the person's address on every open case, marked
/// verified) or reject a requested address change.
async fn staff_address_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let back = crate::web::safe_next(Some(&form.back)).unwrap_or_else(|| "/admin/krav".into());
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::BadRequest("okänt beslut".into())),
    };
    let mut conn = state.db.acquire().await?;
    let when = (state.clock.now(), state.clock.today());
    if !service::decide_address(&mut conn, id, approve, user.id, &ctx.ip, when).await? {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Adressändringen är redan hanterad.",
        ));
    }
    Ok(flash_redirect(
        &back,
        FlashKind::Success,
        if approve {
            "Den nya adressen gäller nu för gäldenärens öppna ärenden."
        } else {
            "Adressändringen är avslagen."
        },
    ))
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
