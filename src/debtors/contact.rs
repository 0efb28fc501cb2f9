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
use serde_json::json;
use sqlx::FromRow;
use uuid::Uuid;

use super::refuse_on_case;
use crate::claims::web::{visible_claim, visible_claims};
use crate::{
    auth::STAFF, auth::audit, claims, domain::bank_account, mail::looks_like_email,
    state::AppState, web::prelude::*,
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
    let (email, phone): (Option<String>, Option<String>) =
        sqlx::query_as("select email, phone from person where personal_number = $1")
            .bind(pnr)
            .fetch_one(&mut *conn)
            .await?;
    let cases = visible_claims(&mut conn, pnr).await?;
    let own = cases.iter().find(|c| c.debtor_id_number == pnr);
    let pending: Option<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
        "select street, postal_code, city, created_at from address_change
         where personal_number = $1 and status = 'pending' order by created_at desc limit 1",
    )
    .bind(pnr)
    .fetch_optional(&mut *conn)
    .await?;
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
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query("update person set email = $2, phone = $3 where personal_number = $1")
        .bind(&me.personal_number)
        .bind(&email)
        .bind(&phone)
        .execute(&mut *tx)
        .await?;
    // The person's own open cases use the new details from now on (letters by e-mail).
    let updated = sqlx::query(
        "update claim set debtor_email = $2, debtor_phone = $3
         where debtor_id_number = $1 and state not in ('paid', 'withdrawn', 'written_off')",
    )
    .bind(&me.personal_number)
    .bind(&email)
    .bind(&phone)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        now,
        None,
        "debtor_contact_changed",
        Some(&format!("person:{}", me.personal_number)),
        json!({"email": email.is_some(), "phone": phone.is_some(), "claims": updated.rows_affected()}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
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
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // A newer request replaces one not yet checked.
    sqlx::query!("update address_change set status = 'rejected', decided_at = $2 where personal_number = $1 and status = 'pending'", &me.personal_number, now)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("insert into address_change (address_change_id, personal_number, street, postal_code, city, created_at)
         values ($1, $2, $3, $4, $5, $6)", Uuid::new_v4(), &me.personal_number, &street, &postal, &city, now)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        now,
        None,
        "debtor_address_requested",
        Some(&format!("person:{}", me.personal_number)),
        json!({}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
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
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    sqlx::query!("insert into refund_account (claim_id, clearing, account, given_at, given_by) values ($1, $2, $3, $4, null)
         on conflict (claim_id) do update set clearing = $2, account = $3, given_at = $4, given_by = null", c.claim_id, &acc.clearing, &acc.account, now)
    .execute(&mut *tx)
    .await?;
    claims::add_event(
        &mut tx,
        c.claim_id,
        now,
        state.clock.today(),
        "refund_account_given",
        None,
        json!({"bank": acc.bank}),
        None,
    )
    .await?;
    audit(
        &mut tx,
        now,
        None,
        "debtor_refund_account",
        Some(&c.claim_id.to_string()),
        json!({"by": format!("person:{}", me.personal_number)}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
    Ok(flash_redirect(
        &format!("/mina-sidor/arenden/{}", c.claim_id),
        FlashKind::Success,
        &format!("Tack! Vi betalar tillbaka till ditt konto i {}.", acc.bank),
    ))
}

#[derive(FromRow)]
struct TicketRow {
    subject: String,
    body: String,
    status: String,
    created_at: DateTime<Utc>,
    invoice_number: Option<String>,
}

#[derive(Template)]
#[template(path = "debtors/messages.html")]
struct MessagesPage {
    layout: Layout,
    tickets: Vec<TicketRow>,
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
    let tickets = sqlx::query_as(
        "select t.subject, (select m.body from ticket_message m where m.ticket_id = t.ticket_id order by m.ticket_message_id limit 1) as body,
                t.status, t.created_at, c.invoice_number
         from ticket t left join claim c using (claim_id) where t.personal_number = $1 order by t.created_at desc",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
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
    let now = state.clock.now();
    let ticket_id = Uuid::new_v4();
    let mut tx = state.db.begin().await?;
    sqlx::query!("insert into ticket (ticket_id, personal_number, claim_id, subject, created_at) values ($1, $2, $3, $4, $5)", ticket_id, &me.personal_number, claim_id, &subject, now)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into ticket_message (ticket_id, author, body, at) values ($1, 'debtor', $2, $3)",
        ticket_id,
        &body,
        now
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
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
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let back = crate::web::safe_next(Some(&form.back)).unwrap_or_else(|| "/admin/krav".into());
    let now = state.clock.now();
    let today = state.clock.today();
    let mut tx = state.db.begin().await?;
    let row: Option<(String, String, String, String)> = sqlx::query_as(
        "select personal_number, street, postal_code, city from address_change
         where address_change_id = $1 and status = 'pending' for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((pnr, street, postal, city)) = row else {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Adressändringen är redan hanterad.",
        ));
    };
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(AppError::BadRequest("okänt beslut".into())),
    };
    sqlx::query!("update address_change set status = $2, decided_at = $3, decided_by = $4 where address_change_id = $1", id, if approve { "approved" } else { "rejected" }, now, user.id)
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
                Some(user.id),
                json!({}),
                None,
            )
            .await?;
            claims::wake(&mut tx, claim_id, today).await?;
        }
    }
    audit(
        &mut tx,
        now,
        Some(user.id),
        "debtor_address_decided",
        Some(&format!("person:{pnr}")),
        json!({"approved": approve}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
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
