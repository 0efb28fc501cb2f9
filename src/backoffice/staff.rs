//! `/admin/personal`: admins create staff accounts (admin or support), lock and unlock them, and
//! force a TOTP reset.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;

use crate::{
    auth::{Ctx, Role, password, staff},
    crypto::random_token,
    mail::looks_like_email,
    state::AppState,
    web::{Form, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/personal", get(page).post(create))
        .route("/admin/personal/{id}/las", post(lock))
        .route("/admin/personal/{id}/totp", post(reset_totp))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewStaff {
    name: String,
    email: String,
    role: String,
}

#[derive(Template)]
#[template(path = "backoffice/staff.html")]
struct StaffPage {
    layout: Layout,
    rows: Vec<staff::StaffRow>,
    me: uuid::Uuid,
    form: NewStaff,
    errors: FieldErrors,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    form: NewStaff,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let me = ctx.require(&[Role::Admin])?.id;
    let rows = staff::list(&mut *state.db.acquire().await?).await?;
    let status = errors.status();
    Ok(render_status(status, &StaffPage { layout: ctx.layout(), rows, me, form, errors }))
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let form = NewStaff { role: "support".into(), ..Default::default() };
    view(&state, &ctx, form, FieldErrors::default()).await
}

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<NewStaff>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let mut errors = FieldErrors::default();
    let name = form.name.trim().to_string();
    let email = form.email.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "Ange namnet (högst 100 tecken).");
    }
    if !looks_like_email(&email) {
        errors.add("email", "Ange en giltig e-postadress.");
    }
    let role = match Role::parse(&form.role) {
        Some(r) if r.is_staff() => Some(r),
        _ => {
            errors.add("role", "Välj administratör eller support.");
            None
        }
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return view(&state, &ctx, form, errors).await;
    };
    let placeholder = password::hash(random_token(32)).await?;
    let by = ctx.acting(user, &state.clock);
    let created = staff::create(
        &mut *state.db.acquire().await?,
        (&name, &email, role),
        &placeholder,
        &user.display_name,
        &by,
        &state.config.public_url,
    )
    .await?;
    match created {
        Ok(_) => {
            state.wake_mail();
            Ok(flash_redirect(
                "/admin/personal",
                FlashKind::Success,
                &format!("{name} har fått en inbjudan till {email}."),
            ))
        }
        Err(message) => {
            errors.add("email", message);
            view(&state, &ctx, form, errors).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LockForm {
    locked: String,
}

async fn lock(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<LockForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    let outcome =
        staff::set_locked(&mut *state.db.acquire().await?, id, form.locked == "1", &by).await?;
    Ok(flash_outcome("/admin/personal", outcome))
}

async fn reset_totp(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    if !staff::reset_totp(&mut *state.db.acquire().await?, id, &by).await? {
        return Err(AppError::NotFound);
    }
    Ok(flash_redirect(
        "/admin/personal",
        FlashKind::Success,
        "Tvåstegsverifieringen är nollställd. Vid nästa inloggning kopplas en ny app.",
    ))
}
