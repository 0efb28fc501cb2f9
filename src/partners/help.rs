//! `/partner/hjalp`: the partner asks Fordra for help, about one of its customers' claims (by
//! OCR or invoice number) or in general; the question becomes a support ticket, listed here
//! with its state.

use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use serde::Deserialize;

use crate::{
    auth::Ctx,
    state::AppState,
    tickets,
    web::{Form, Query, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/partner/hjalp", get(page).post(ask))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct AskForm {
    claim: String,
    subject: String,
    body: String,
}

#[derive(Template)]
#[template(path = "partners/help.html")]
struct HelpPage {
    layout: Layout,
    form: AskForm,
    errors: FieldErrors,
    tickets: Vec<tickets::Row>,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    form: AskForm,
    errors: FieldErrors,
) -> Result<HelpPage, AppError> {
    let (_, partner_id) = super::routes::partner_of(ctx)?;
    let tickets =
        tickets::of_owner(&mut *state.db.acquire().await?, &tickets::Owner::Partner(partner_id))
            .await?;
    Ok(HelpPage { layout: ctx.layout(), form, errors, tickets })
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(form): Query<AskForm>,
) -> Result<Response, AppError> {
    let form = AskForm { subject: String::new(), body: String::new(), ..form };
    Ok(render(&view(&state, &ctx, form, FieldErrors::default()).await?))
}

async fn ask(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AskForm>,
) -> Result<Response, AppError> {
    let (user, partner_id) = super::routes::partner_of(&ctx)?;
    let mut errors = FieldErrors::default();
    let mut conn = state.db.acquire().await?;
    let claim = match form.claim.trim() {
        "" => None,
        reference => {
            let found =
                super::service::claim_of_customers(&mut conn, partner_id, reference).await?;
            if found.is_none() {
                errors.add(
                    "claim",
                    "Ingen av era kunders fordringar har det OCR- eller fakturanumret.",
                );
            }
            found
        }
    };
    let message = match tickets::check_message(&form.subject, &form.body, errors) {
        Ok(m) => m,
        Err(errors) => {
            drop(conn);
            let page = view(&state, &ctx, form, errors).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let from = tickets::From::Partner { partner_id, user_id: user.id };
    let id = tickets::open(&mut conn, from, claim, message, state.clock.now()).await?;
    Ok(flash_redirect(
        &format!("/partner/hjalp/{id}"),
        FlashKind::Success,
        "Tack! Vi har tagit emot er fråga och svarar så snart vi kan, oftast inom en bankdag.",
    ))
}

fn status_label(status: &str) -> &'static str {
    tickets::sender_status_label(status)
}
