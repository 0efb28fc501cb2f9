//! Contact details, refund account, address changes and messages to support.
//!
//! E-mail and phone apply at once to the person's open cases (letters go by e-mail from then
//! on). An address change is checked by staff first (C9: letters go to the registered address),
//! on the staff view of the claim. A refund account is stored per claim in `refund_account`,
//! where staff's refund flow reads it. Messages become support tickets.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::Form;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use super::{refuse_on_case, service};
use crate::claims::web::{visible_claim, visible_claims};
use crate::{auth::STAFF, domain::bank_account, state::AppState, web::prelude::*};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/kontakt", get(contact_page).post(contact_save))
        .route("/mina-sidor/adress", post(address_request))
        .route("/mina-sidor/arenden/{id}/aterbetalning", post(refund_account))
        .route("/mina-sidor/meddelanden", get(messages_page).post(message_send))
        .route("/admin/adressandringar/{id}", post(staff_address_decide))
}

/// The contact page; `contact` as submitted (else the stored details), `address` as submitted.
async fn contact_view(
    state: &AppState,
    ctx: &Ctx,
    pnr: &str,
    (contact, address): (Option<ContactForm>, AddressForm),
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let (email, phone) = service::contact(&mut conn, pnr).await?;
    let cases = visible_claims(&mut conn, pnr).await?;
    let own = cases.iter().find(|c| c.debtor_id_number == pnr);
    let pending = service::pending_address(&mut conn, pnr).await?;
    let contact = contact.unwrap_or_else(|| ContactForm {
        email: email.or_else(|| own.and_then(|c| c.debtor_email.clone())).unwrap_or_default(),
        phone: phone.or_else(|| own.and_then(|c| c.debtor_phone.clone())).unwrap_or_default(),
    });
    let current_address = own.map(|c| {
        let street = c.debtor_street.clone();
        (street, c.debtor_postal_code.clone(), c.debtor_city.clone())
    });
    let status = errors.status();
    let page =
        ContactPage { layout: ctx.layout(), contact, address, current_address, pending, errors };
    Ok(render_status(status, &page))
}

async fn contact_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let pnr = &ctx.require_debtor()?.personal_number;
    contact_view(&state, &ctx, pnr, (None, Default::default()), Default::default()).await
}

async fn contact_save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let details = match service::check_contact(&form.email, &form.phone) {
        Ok(details) => details,
        Err(errors) => {
            let filled = (Some(form), AddressForm::default());
            return contact_view(&state, &ctx, &me.personal_number, filled, errors).await;
        }
    };
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    service::save_contact(&mut conn, &me.personal_number, details, &ctx.ip, now).await?;
    let done = "Dina kontaktuppgifter är sparade.";
    Ok(flash_redirect("/mina-sidor/kontakt", FlashKind::Success, done))
}

async fn address_request(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AddressForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let address = match service::check_address(&form.street, &form.postal_code, &form.city) {
        Ok(address) => address,
        Err(errors) => {
            let filled = (None, form);
            return contact_view(&state, &ctx, &me.personal_number, filled, errors).await;
        }
    };
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    service::request_address(&mut conn, &me.personal_number, address, &ctx.ip, now).await?;
    let done = "Tack! Vi kontrollerar den nya adressen innan brev skickas dit.";
    Ok(flash_redirect("/mina-sidor/kontakt", FlashKind::Success, done))
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
        errors.add("clearing", "Det finns inget att betala tillbaka i det här ärendet.");
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
    service::save_refund_account(&mut conn, c.claim_id, &acc, &me.personal_number, &ctx.ip, when)
        .await?;
    Ok(flash_redirect(
        &format!("/mina-sidor/arenden/{}", c.claim_id),
        FlashKind::Success,
        &format!("Tack! Vi betalar tillbaka till ditt konto i {}.", acc.bank),
    ))
}

async fn messages_view(
    state: &AppState,
    ctx: &Ctx,
    pnr: &str,
    form: MessageForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let tickets =
        crate::tickets::of_owner(&mut conn, &crate::tickets::Owner::Debtor(pnr.to_string()))
            .await?;
    let cases = visible_claims(&mut conn, pnr).await?;
    let cases = cases
        .into_iter()
        .map(|c| {
            let label = format!("{} – faktura {}", c.creditor_name, c.invoice_number);
            (c.claim_id, label)
        })
        .collect();
    let status = errors.status();
    let page = MessagesPage { layout: ctx.layout(), tickets, cases, form, errors };
    Ok(render_status(status, &page))
}

async fn messages_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let pnr = &ctx.require_debtor()?.personal_number;
    messages_view(&state, &ctx, pnr, Default::default(), Default::default()).await
}

async fn message_send(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<MessageForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut errors = FieldErrors::default();
    let mut conn = state.db.acquire().await?;
    let claim_id = match form.claim.as_str() {
        "" => None,
        id => match visible_claim(&mut conn, &me.personal_number, id).await {
            Ok(c) => Some(c.claim_id),
            Err(_) => {
                errors.add("claim", "Välj ett av dina ärenden.");
                None
            }
        },
    };
    let message = match crate::tickets::check_message(&form.subject, &form.body, errors) {
        Ok(message) => message,
        Err(errors) => {
            drop(conn);
            return messages_view(&state, &ctx, &me.personal_number, form, errors).await;
        }
    };
    let now = state.clock.now();
    let from = crate::tickets::From::Debtor { personal_number: &me.personal_number };
    crate::tickets::open(&mut conn, from, claim_id, message, now).await?;
    let done = "Ditt meddelande är skickat. Vi svarar så snart vi kan.";
    Ok(flash_redirect("/mina-sidor/meddelanden", FlashKind::Success, done))
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
        return Ok(flash_redirect(&back, FlashKind::Error, "Adressändringen är redan hanterad."));
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
