//! The ticket pages: the thread and reply in each sender's portal (Mina sidor, the partner's
//! Hjälp, the creditor's Kontakta oss, where a creditor also answers questions forwarded to it),
//! and the staff inbox with answers, notes, forwarding, assignment and closing.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{InboxRow, Owner, Row, Thread, View};
use crate::{
    auth::{Ctx, STAFF},
    state::AppState,
    web::{Form, Query, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/mina-sidor/meddelanden/{id}", get(thread).post(reply))
        .route("/partner/hjalp/{id}", get(thread).post(reply))
        .route("/borgenar/kontakt", get(contact_page).post(contact_send))
        .route("/borgenar/kontakt/{id}", get(thread).post(reply))
        .route("/admin/arenden", get(inbox))
        .route("/admin/arenden/{id}", get(staff_thread))
        .route("/admin/arenden/{id}/skriv", post(staff_write))
        .route("/admin/arenden/{id}/tilldela", post(staff_assign))
        .route("/admin/arenden/{id}/status", post(staff_status))
}

/// Whose tickets this request may see, by the portal its path belongs to, and the portal user.
fn owner(ctx: &Ctx) -> Result<(Owner, Option<Uuid>), AppError> {
    if ctx.path.starts_with("/mina-sidor/") {
        let me = ctx.require_debtor()?;
        return Ok((Owner::Debtor(me.personal_number.clone()), None));
    }
    if ctx.path.starts_with("/partner/") {
        let user = ctx.require(&[crate::auth::Role::Partner])?;
        let partner_id = user.partner_id.ok_or(AppError::Forbidden)?;
        return Ok((Owner::Partner(partner_id), Some(user.id)));
    }
    let (user, creditor_id) = ctx.require_creditor()?;
    Ok((Owner::Creditor(creditor_id), Some(user.id)))
}

#[derive(Template)]
#[template(path = "tickets/thread.html")]
struct ThreadPage {
    layout: Layout,
    thread: Thread,
    view: View,
    base: &'static str,
    body: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

async fn thread_view(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    body: String,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let (owner, _) = owner(ctx)?;
    let id = path_id(id)?;
    let mut conn = state.db.acquire().await?;
    let (thread, view) =
        super::for_owner(&mut conn, &owner, id).await?.ok_or(AppError::NotFound)?;
    let status = errors.status();
    let page = ThreadPage { layout: ctx.layout(), thread, view, base: owner.base(), body, errors };
    Ok(render_status(status, &page))
}

async fn thread(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    thread_view(&state, &ctx, &id, String::new(), FieldErrors::default()).await
}

async fn reply(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let (owner, user) = owner(&ctx)?;
    let ticket_id = path_id(&id)?;
    let mut conn = state.db.acquire().await?;
    let (_, view) =
        super::for_owner(&mut conn, &owner, ticket_id).await?.ok_or(AppError::NotFound)?;
    let body = match super::check_body(&form.body) {
        Ok(body) => body,
        Err(message) => {
            drop(conn);
            let mut errors = FieldErrors::default();
            errors.add("body", message);
            return thread_view(&state, &ctx, &id, form.body, errors).await;
        }
    };
    super::reply(&mut conn, &owner, view, ticket_id, user, &body, state.clock.now()).await?;
    Ok(flash_redirect(
        &format!("{}/{ticket_id}", owner.base()),
        FlashKind::Success,
        "Ditt svar är skickat till Fordra.",
    ))
}

// ---------------------------------------------------------------------------------------------
// The creditor's "Kontakta oss"

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ContactForm {
    claim: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "tickets/contact.html")]
struct ContactPage {
    layout: Layout,
    form: ContactForm,
    errors: FieldErrors,
    tickets: Vec<Row>,
    forwarded: Vec<Row>,
}

async fn contact_view(
    state: &AppState,
    ctx: &Ctx,
    form: ContactForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let tickets = super::of_owner(&mut conn, &Owner::Creditor(creditor_id)).await?;
    let forwarded = super::forwarded_to(&mut conn, creditor_id).await?;
    let status = errors.status();
    Ok(render_status(
        status,
        &ContactPage { layout: ctx.layout(), form, errors, tickets, forwarded },
    ))
}

async fn contact_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    contact_view(&state, &ctx, ContactForm::default(), FieldErrors::default()).await
}

async fn contact_send(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContactForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut errors = FieldErrors::default();
    let mut conn = state.db.acquire().await?;
    let claim = match form.claim.trim() {
        "" => None,
        reference => {
            let found =
                crate::claims::repo::of_creditor_by_reference(&mut conn, creditor_id, reference)
                    .await?;
            if found.is_none() {
                errors.add("claim", "Ni har ingen fordran med det OCR- eller fakturanumret.");
            }
            found
        }
    };
    let message = match super::check_message(&form.subject, &form.body, errors) {
        Ok(m) => m,
        Err(errors) => {
            drop(conn);
            return contact_view(&state, &ctx, form, errors).await;
        }
    };
    let from = super::From::Creditor { creditor_id, user_id: user.id };
    let id = super::open(&mut conn, from, claim, message, state.clock.now()).await?;
    Ok(flash_redirect(
        &format!("/borgenar/kontakt/{id}"),
        FlashKind::Success,
        "Tack! Vi har tagit emot ert meddelande och svarar så snart vi kan, oftast inom en bankdag.",
    ))
}

// ---------------------------------------------------------------------------------------------
// Staff

#[derive(Deserialize, Default)]
#[serde(default)]
struct InboxQuery {
    status: String,
    mine: String,
}

#[derive(Template)]
#[template(path = "tickets/inbox.html")]
struct InboxPage {
    layout: Layout,
    rows: Vec<InboxRow>,
    status: String,
    mine: bool,
}

async fn inbox(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<InboxQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let status = match q.status.as_str() {
        s @ ("open" | "waiting" | "closed") => s.to_string(),
        _ => String::new(),
    };
    let mine = q.mine == "1";
    let filter = super::Filter { status: status.clone(), assigned_to: mine.then_some(user.id) };
    let rows = super::inbox(&mut *state.db.acquire().await?, &filter).await?;
    Ok(render(&InboxPage { layout: ctx.layout(), rows, status, mine }))
}

#[derive(Template)]
#[template(path = "tickets/staff.html")]
struct StaffPage {
    layout: Layout,
    thread: Thread,
    staff: Vec<(Uuid, String)>,
    form: WriteForm,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WriteForm {
    kind: String,
    body: String,
    minutes: String,
    close: String,
}

async fn staff_view(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    form: WriteForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let thread = super::for_staff(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    // Who can be assigned: the active staff accounts.
    let staff = crate::auth::staff::list(&mut conn)
        .await?
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .map(|u| (u.user_id, u.display_name))
        .collect();
    let status = errors.status();
    Ok(render_status(status, &StaffPage { layout: ctx.layout(), thread, staff, form, errors }))
}

async fn staff_thread(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let form = WriteForm { kind: "answer".into(), ..Default::default() };
    staff_view(&state, &ctx, path_id(&id)?, form, FieldErrors::default()).await
}

async fn staff_write(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<WriteForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let mut errors = FieldErrors::default();
    let what = super::StaffWrites::parse(&form.kind);
    if what.is_none() {
        errors.add("kind", "Välj om du svarar, antecknar eller frågar borgenären.");
    }
    let body = super::check_body(&form.body).map_err(|m| errors.add("body", m)).ok();
    let minutes = match form.minutes.trim() {
        "" => None,
        m => match m.parse::<i32>() {
            Ok(m) if (0..=1440).contains(&m) => Some(m),
            _ => {
                errors.add("minutes", "Ange minuter som ett heltal mellan 0 och 1 440.");
                None
            }
        },
    };
    let (Some(what), Some(body), true) = (what, body, errors.is_empty()) else {
        return staff_view(&state, &ctx, id, form, errors).await;
    };
    let by = ctx.acting(user, &state.clock);
    let sender = &state.config.identity.name;
    let writing = super::Writing { what, body: &body, minutes, close: form.close == "1" };
    let urls = (state.config.public_url.as_str(), sender.as_str());
    let outcome =
        super::staff_write(&mut *state.db.acquire().await?, id, &writing, &by, urls).await?;
    state.wake_mail();
    Ok(flash_outcome(&format!("/admin/arenden/{id}"), outcome))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AssignForm {
    user: String,
}

async fn staff_assign(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let to = match form.user.as_str() {
        "" => None,
        "me" => Some(user.id),
        other => Some(Uuid::parse_str(other).map_err(|_| AppError::BadRequest("user".into()))?),
    };
    let by = ctx.acting(user, &state.clock);
    let done = super::assign(&mut *state.db.acquire().await?, id, to, &by).await?;
    let outcome = if done { Ok("Ärendet är tilldelat.") } else { Err("Välj en i personalen.") };
    Ok(flash_outcome(&format!("/admin/arenden/{id}"), outcome))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    closed: String,
}

async fn staff_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let closed = form.closed == "1";
    let by = ctx.acting(user, &state.clock);
    if !super::set_closed(&mut *state.db.acquire().await?, id, closed, &by).await? {
        return Err(AppError::NotFound);
    }
    let message = if closed { "Ärendet är stängt." } else { "Ärendet är öppnat igen." };
    Ok(flash_redirect(&format!("/admin/arenden/{id}"), FlashKind::Success, message))
}
