//! API keys in the portals: a creditor's users (`/borgenar/api-nycklar`) and a partner's
//! (`/partner/api-nycklar`) create, name and revoke keys. A new key is shown once; the list
//! shows name, prefix, scopes, created and last used. Both are audited.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    Ctx, Role,
    api_key::{self, Owner, Scope},
};
use crate::{
    state::AppState,
    web::{Form, path_id, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar/api-nycklar", get(page).post(create))
        .route("/borgenar/api-nycklar/{id}/sparra", post(revoke))
        .route("/partner/api-nycklar", get(page).post(create))
        .route("/partner/api-nycklar/{id}/sparra", post(revoke))
}

/// The logged-in user, whose keys these are, and where the page lives.
fn owner_of(ctx: &Ctx) -> Result<(&super::User, Owner, &'static str), AppError> {
    let user = ctx.require_portal_user()?;
    match (user.role, user.creditor_id, user.partner_id) {
        // Only the company's owner manages its keys.
        (Role::Creditor, Some(c), _) if user.creditor_owner => {
            Ok((user, Owner::Creditor(c), "/borgenar/api-nycklar"))
        }
        (Role::Partner, _, Some(p)) => Ok((user, Owner::Partner(p), "/partner/api-nycklar")),
        _ => Err(AppError::Forbidden),
    }
}

/// The form: a name and a checkbox per scope.
#[derive(Deserialize, Default)]
#[serde(default)]
struct KeyForm {
    name: String,
    claims_read: Option<String>,
    claims_write: Option<String>,
    webhooks: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/api_keys.html")]
struct KeysPage {
    layout: Layout,
    base: &'static str,
    keys: Vec<api_key::Listed>,
    /// A key just made: shown this once.
    new_key: Option<String>,
    key_name: String,
    errors: FieldErrors,
    scopes: [Scope; 3],
    partner: bool,
}

async fn view(state: &AppState, ctx: &Ctx) -> Result<KeysPage, AppError> {
    let (_, owner, base) = owner_of(ctx)?;
    let keys = api_key::list(&mut *state.db.acquire().await?, owner).await?;
    Ok(KeysPage {
        layout: ctx.layout(),
        base,
        keys,
        new_key: None,
        key_name: String::new(),
        errors: FieldErrors::default(),
        scopes: Scope::ALL,
        partner: matches!(owner, Owner::Partner(_)),
    })
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    Ok(render(&view(&state, &ctx).await?))
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<KeyForm>,
) -> Result<Response, AppError> {
    let (user, owner, _) = owner_of(&ctx)?;
    let name = form.name.trim().to_string();
    let checked = [
        (Scope::ClaimsRead, &form.claims_read),
        (Scope::ClaimsWrite, &form.claims_write),
        (Scope::Webhooks, &form.webhooks),
    ];
    let scopes: Vec<Scope> =
        checked.iter().filter(|(_, on)| on.is_some()).map(|(s, _)| *s).collect();
    let mut errors = FieldErrors::default();
    if name.is_empty() || name.chars().count() > 80 {
        errors.add("name", "Ge nyckeln ett namn (högst 80 tecken), till exempel affärssystemets.");
    }
    if scopes.is_empty() {
        errors.add("scope", "Välj minst en behörighet.");
    }
    if !errors.is_empty() {
        let page = KeysPage { key_name: name, errors, ..view(&state, &ctx).await? };
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let key = api_key::create_by(&mut conn, owner, (&name, &scopes), &by).await?;
    drop(conn);
    // Shown once, on this answer only (not in a redirect the browser could replay).
    let page = KeysPage { new_key: Some(key), ..view(&state, &ctx).await? };
    Ok(render_status(StatusCode::CREATED, &page))
}

async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, owner, base) = owner_of(&ctx)?;
    let id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    if !api_key::revoke_by(&mut conn, owner, id, &by).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash_redirect(base, FlashKind::Success, "Nyckeln är spärrad och fungerar inte längre."))
}
