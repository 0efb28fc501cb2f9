//! `/admin/texter`: the versioned texts — the creditor terms, the partner agreement and the
//! lifecycle letters' wording. Staff see every version (in force, coming, earlier); admins
//! publish a new one from a date. A published version is never changed: customers keep the
//! version they accepted, letters the text they were written with.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use chrono::NaiveDate;

use crate::{
    auth::{Ctx, Role, STAFF},
    domain::wording::PLACEHOLDERS,
    state::AppState,
    web::{Form, prelude::*},
};

/// Every kind of text: (kind, name, what it is).
pub const KINDS: &[(&str, &str, &str)] = &[
    (
        "creditor",
        "Villkor för borgenärer",
        "Godkänns av nya borgenärer innan de kan registrera fordringar.",
    ),
    ("partner", "Partneravtal", "Skrivs under med BankID av nya partner."),
    (
        "letter_reminder",
        "Betalningspåminnelse",
        "Brevets tre stycken: inledning, vad som händer sedan, hur man invänder.",
    ),
    (
        "letter_collection",
        "Inkassokrav",
        "Brevets tre stycken: inledning, vad som händer sedan, hur man invänder.",
    ),
    (
        "letter_final_notice",
        "Slutkrav",
        "Brevets tre stycken: inledning, vad som händer sedan, hur man invänder.",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/texter", get(index))
        .route("/admin/texter/{kind}", get(versions).post(publish))
}

#[derive(Template)]
#[template(path = "backoffice/texts_index.html")]
struct IndexPage {
    layout: Layout,
    kinds: Vec<(&'static str, &'static str, &'static str, String)>,
}

async fn index(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let mut kinds = vec![];
    for (kind, name, what) in KINDS {
        let current = crate::terms::current(&mut conn, kind, today).await?;
        kinds.push((*kind, *name, *what, current.version));
    }
    Ok(render(&IndexPage { layout: ctx.layout(), kinds }))
}

#[derive(serde::Deserialize, Default, Clone)]
#[serde(default)]
struct PublishForm {
    version: String,
    title: String,
    body: String,
    published_on: String,
}

#[derive(Template)]
#[template(path = "backoffice/texts.html")]
struct VersionsPage {
    layout: Layout,
    kind: &'static str,
    name: &'static str,
    letter: bool,
    placeholders: &'static [(&'static str, &'static str)],
    versions: Vec<(String, String, NaiveDate)>,
    current: String,
    today: NaiveDate,
    can_publish: bool,
    form: PublishForm,
    errors: FieldErrors,
}

fn kind_of(kind: &str) -> Result<(&'static str, &'static str), AppError> {
    KINDS.iter().find(|(k, _, _)| *k == kind).map(|(k, n, _)| (*k, *n)).ok_or(AppError::NotFound)
}

async fn versions_page(
    state: &AppState,
    ctx: &Ctx,
    (kind, name): (&'static str, &'static str),
    form: PublishForm,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let current = crate::terms::current(&mut conn, kind, today).await?;
    let form = if form.body.is_empty() {
        PublishForm { title: current.title.clone(), body: current.body.clone(), ..form }
    } else {
        form
    };
    let status = errors.status();
    Ok(render_status(
        status,
        &VersionsPage {
            layout: ctx.layout(),
            kind,
            name,
            letter: kind.starts_with("letter_"),
            placeholders: PLACEHOLDERS,
            versions: crate::terms::versions(&mut conn, kind).await?,
            current: current.version,
            today,
            can_publish: user.role == Role::Admin,
            form,
            errors,
        },
    ))
}

async fn versions(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let kind = kind_of(&kind)?;
    versions_page(&state, &ctx, kind, PublishForm::default(), FieldErrors::default()).await
}

async fn publish(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(kind): Path<String>,
    Form(form): Form<PublishForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let (kind, name) = kind_of(&kind)?;
    let by = ctx.acting(user, &state.clock);
    let refuse = |field: &'static str, why: String, form: PublishForm| {
        let mut errors = FieldErrors::default();
        errors.add(field, why);
        (form, errors)
    };
    let Some(from) = crate::web::forms::parse_date(&form.published_on) else {
        let (form, errors) = refuse("published_on", "Ange datumet som ÅÅÅÅ-MM-DD.".into(), form);
        return versions_page(&state, &ctx, (kind, name), form, errors).await;
    };
    let mut conn = state.db.acquire().await?;
    let text = (form.version.as_str(), form.title.as_str(), form.body.as_str(), from);
    match crate::terms::publish(&mut conn, kind, text, &by).await? {
        Ok(()) => {
            state.params.invalidate();
            Ok(flash_redirect(
                &format!("/admin/texter/{kind}"),
                FlashKind::Success,
                &format!(
                    "{name} version {} gäller från {from}. Det som redan godkänts eller skickats behåller sin version.",
                    form.version.trim()
                ),
            ))
        }
        Err((field, why)) => {
            drop(conn);
            let (form, errors) = refuse(field, why, form);
            versions_page(&state, &ctx, (kind, name), form, errors).await
        }
    }
}
