//! Login (password, then TOTP for staff), logout, TOTP enrolment and password reset.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use chrono::Duration;
use serde::Deserialize;

use super::{
    Role, password,
    rate_limit::{self, Check},
    service::{self, DemoAccount},
    session,
    session::Stage,
    totp,
};
use crate::{
    clock,
    state::AppState,
    web::{cookies, prelude::*, safe_next},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/logga-in", get(login_form).post(login))
        .route("/logga-ut", post(logout))
        .route("/logga-in/tvastegs", get(totp_form).post(totp_submit))
        .route("/konto", get(account))
        .route("/konto/tvastegs", get(enroll_form).post(enroll_submit))
        .route("/losenord/glomt", get(forgot_form).post(forgot))
        .route("/losenord/ny", get(reset_form).post(reset))
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

async fn demo_accounts(
    state: &AppState,
    conn: &mut sqlx::PgConnection,
) -> Result<Vec<DemoAccount>, AppError> {
    if !state.config.demo {
        return Ok(vec![]);
    }
    Ok(service::demo_accounts(conn).await?)
}

async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    if let Some(user) = ctx.user() {
        return Ok(see_other(user.role.home()));
    }
    let mut conn = state.db.acquire().await?;
    Ok(render(&LoginPage {
        layout: ctx.layout(),
        email: String::new(),
        next: safe_next(q.next.as_deref()).unwrap_or_default(),
        error: None,
        demo_accounts: demo_accounts(&state, &mut conn).await?,
    }))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn login_limits(state: &AppState) -> rate_limit::Limits {
    rate_limit::Limits {
        per_account: state.config.login_max_failures,
        per_address: state.config.login_max_failures_per_address,
        window: Duration::from_std(state.config.login_window).unwrap_or(Duration::minutes(15)),
    }
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let email = form.email.trim().to_string();
    let next = safe_next(form.next.as_deref());
    let page = |error: String, demo_accounts| LoginPage {
        layout: ctx.layout(),
        email: email.clone(),
        next: next.clone().unwrap_or_default(),
        error: Some(error),
        demo_accounts,
    };
    let mut conn = state.db.acquire().await?;
    if email.is_empty() || form.password.is_empty() {
        let accounts = demo_accounts(&state, &mut conn).await?;
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page("Fyll i e-postadress och lösenord.".into(), accounts),
        ));
    }
    if let Check::Blocked { retry_at } =
        rate_limit::check(&mut conn, &email, &ctx.ip, now, login_limits(&state)).await?
    {
        let at = clock::stockholm_local(retry_at).format("%H:%M");
        let accounts = demo_accounts(&state, &mut conn).await?;
        return Ok(render_status(
            StatusCode::TOO_MANY_REQUESTS,
            &page(
                format!("För många misslyckade inloggningsförsök. Försök igen efter kl. {at}."),
                accounts,
            ),
        ));
    }
    let user = service::login_user(&mut conn, &email).await?;
    // The slow hash is checked without holding a pool connection.
    drop(conn);
    let ok =
        password::verify(form.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let mut conn = state.db.acquire().await?;
    rate_limit::record(&mut conn, &email, &ctx.ip, ok, now).await?;
    let Some(user) = user.filter(|_| ok) else {
        let accounts = demo_accounts(&state, &mut conn).await?;
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page("Fel e-postadress eller lösenord.".into(), accounts),
        ));
    };
    if user.email_verified_at.is_none() {
        let accounts = demo_accounts(&state, &mut conn).await?;
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                "Bekräfta först din e-postadress med länken vi skickade när kontot skapades. Har du inte kvar meddelandet, välj Glömt lösenord så får du en ny länk.".into(),
                accounts,
            ),
        ));
    }
    let role = Role::parse(&user.role).ok_or_else(|| anyhow::anyhow!("unknown role"))?;
    let stage = if !role.is_staff() {
        Stage::Full
    } else if user.totp_enabled_at.is_some() {
        Stage::Totp
    } else if state.config.require_totp {
        Stage::TotpEnroll
    } else {
        // Demo mode only: staff without TOTP get in, under a visible banner.
        Stage::Full
    };
    let next = next.unwrap_or_else(|| role.home().to_string());
    let old = ctx.session.as_ref().map(|s| s.hash.as_slice());
    let token =
        service::start_session(&mut conn, old, user.user_id, stage, &next, &ctx.ip, now).await?;
    let to = match stage {
        Stage::Full => next.as_str(),
        Stage::Totp => "/logga-in/tvastegs",
        Stage::TotpEnroll => "/konto/tvastegs",
    };
    let mut resp = see_other(to);
    cookies::set_session(&mut resp, &token, state.config.secure_cookies());
    Ok(resp)
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if let Some(s) = &ctx.session {
        let mut conn = state.db.acquire().await?;
        session::delete(&mut conn, &s.hash).await?;
    }
    let mut resp = flash_redirect("/logga-in", FlashKind::Success, "Du är nu utloggad.");
    cookies::clear_session(&mut resp);
    Ok(resp)
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn totp_form(ctx: Ctx) -> Result<Response, AppError> {
    match &ctx.session {
        Some(s) if s.stage == Stage::Totp => {
            Ok(render(&TotpPage { layout: ctx.layout(), error: None }))
        }
        _ => Ok(see_other("/logga-in")),
    }
}

async fn totp_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some(s) = ctx.session.as_ref().filter(|s| s.stage == Stage::Totp) else {
        return Ok(see_other("/logga-in"));
    };
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let blocked =
        rate_limit::check(&mut conn, &s.user.email, &ctx.ip, now, login_limits(&state)).await?;
    let secret = s.totp_secret.clone().unwrap_or_default();
    let step = match blocked {
        Check::Allowed => totp::verify(&secret, &form.code, now.timestamp(), s.totp_last_step),
        Check::Blocked { .. } => None,
    };
    let Some(step) = step else {
        rate_limit::record(&mut conn, &s.user.email, &ctx.ip, false, now).await?;
        let error = match blocked {
            Check::Blocked { retry_at } => format!(
                "För många misslyckade försök. Försök igen efter kl. {}.",
                clock::stockholm_local(retry_at).format("%H:%M")
            ),
            Check::Allowed => {
                "Koden stämmer inte. Ange den sexsiffriga koden från din autentiseringsapp.".into()
            }
        };
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &TotpPage { layout: ctx.layout(), error: Some(error) },
        ));
    };
    let Some(promoted) = service::complete_totp_login(&mut conn, s, step, &ctx.ip, now).await?
    else {
        return Ok(see_other("/logga-in/tvastegs"));
    };
    Ok(promoted_response(&state, promoted))
}

/// The browser's answer to a completed login: the new session cookie, on to where it was going.
fn promoted_response(state: &AppState, p: service::Promoted) -> Response {
    let mut resp = see_other(&p.next);
    cookies::set_session(&mut resp, &p.token, state.config.secure_cookies());
    resp
}

async fn account(ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Creditor, Role::Partner, Role::Admin, Role::Support])?;
    Ok(render(&AccountPage {
        layout: ctx.layout(),
        email: user.email.clone(),
        role: user.role.label(),
        totp_enabled: user.totp_enabled,
        staff: user.role.is_staff(),
    }))
}

async fn enroll_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let s = enrolling(&ctx)?;
    if s.user.totp_enabled {
        return Ok(flash_redirect(
            "/konto",
            FlashKind::Info,
            "Tvåstegsverifiering är redan aktiverad.",
        ));
    }
    let secret = match &s.pending_totp_secret {
        Some(secret) => secret.clone(),
        None => {
            let secret = totp::new_secret();
            let mut conn = state.db.acquire().await?;
            session::set_pending_totp_secret(&mut conn, &s.hash, &secret).await?;
            secret
        }
    };
    Ok(render(&enroll_page(&ctx, &s.user.email, &secret, None)))
}

/// The session that may enrol TOTP: a full login, or a staff login that must enrol first.
fn enrolling(ctx: &Ctx) -> Result<&session::Session, AppError> {
    ctx.session
        .as_ref()
        .filter(|s| matches!(s.stage, Stage::Full | Stage::TotpEnroll))
        .ok_or_else(|| AppError::LoginRequired(ctx.path.clone()))
}

fn enroll_page(ctx: &Ctx, email: &str, secret: &[u8], error: Option<String>) -> EnrollPage {
    EnrollPage {
        layout: ctx.layout(),
        qr_svg: crate::web::qr::svg(&totp::otpauth_uri(secret, email)),
        secret: totp::base32(secret),
        error,
    }
}

async fn enroll_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CodeForm>,
) -> Result<Response, AppError> {
    let s = enrolling(&ctx)?;
    let Some(secret) = s.pending_totp_secret.clone() else {
        return Ok(see_other("/konto/tvastegs"));
    };
    let now = state.clock.now();
    let Some(step) = totp::verify(&secret, &form.code, now.timestamp(), None) else {
        let page = enroll_page(
            &ctx,
            &s.user.email,
            &secret,
            Some(
                "Koden stämmer inte. Kontrollera att telefonens klocka går rätt och försök igen."
                    .into(),
            ),
        );
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let promoted =
        service::enroll_totp(&mut *state.db.acquire().await?, s, &secret, step, &ctx.ip, now)
            .await?;
    let mut resp = promoted_response(&state, promoted);
    cookies::set_flash(&mut resp, FlashKind::Success, "Tvåstegsverifiering är aktiverad.");
    Ok(resp)
}

async fn forgot_form(ctx: Ctx) -> Response {
    render(&ForgotPage { layout: ctx.layout(), email: String::new(), error: None })
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub const RESET_SENT: &str = "Om adressen finns hos oss har vi skickat en länk för att välja nytt lösenord. Länken gäller i en timme.";

async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ForgotForm>,
) -> Result<Response, AppError> {
    let email = form.email.trim().to_string();
    if !crate::mail::looks_like_email(&email) {
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                layout: ctx.layout(),
                email,
                error: Some("Ange en giltig e-postadress.".into()),
            },
        ));
    }
    // The same answer, as fast, whether or not the address exists: the work happens in the background.
    let state2 = state.clone();
    tokio::spawn(async move {
        let queued = match state2.db.acquire().await {
            Ok(mut conn) => {
                let url = &state2.config.public_url;
                service::queue_reset_mail(&mut conn, url, &email, state2.clock.now()).await
            }
            Err(e) => Err(e.into()),
        };
        match queued {
            Ok(true) => state2.wake_mail(),
            Ok(false) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "password reset mail failed"),
        }
    });
    Ok(flash_redirect("/logga-in", FlashKind::Info, RESET_SENT))
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn link_valid(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(service::password_link_valid(&mut conn, token, state.clock.now()).await?)
}

async fn reset_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let valid = link_valid(&state, &q.token).await?;
    let status = if valid { StatusCode::OK } else { StatusCode::NOT_FOUND };
    Ok(render_status(
        status,
        &ResetPage { layout: ctx.layout(), token: q.token, valid, errors: FieldErrors::default() },
    ))
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_repeat: String,
}

async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    if let Some(msg) = password::check_new(&form.password, &form.password_repeat) {
        let mut errors = FieldErrors::default();
        errors.add("password", msg);
        let valid = link_valid(&state, &form.token).await?;
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage { layout: ctx.layout(), token: form.token, valid, errors },
        ));
    }
    let hash = password::hash(form.password).await?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    if !service::reset_password(&mut conn, &form.token, &hash, &ctx.ip, now).await? {
        return Ok(render_status(
            StatusCode::NOT_FOUND,
            &ResetPage {
                layout: ctx.layout(),
                token: String::new(),
                valid: false,
                errors: FieldErrors::default(),
            },
        ));
    }
    let mut resp = flash_redirect(
        "/logga-in",
        FlashKind::Success,
        "Ditt lösenord är bytt. Logga in med det nya lösenordet.",
    );
    cookies::clear_session(&mut resp);
    Ok(resp)
}
