//! Login (password, then TOTP for staff), logout, TOTP enrolment and password reset.

use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use askama::Template;
use axum::{
    Router,
    extract::State,
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use chrono::Duration;
use serde::Deserialize;
use sqlx::FromRow;
use uuid::Uuid;

use crate::crypto::{random_token, sha256};

use super::{
    Role, audit, password,
    rate_limit::{self, Check},
    session,
    session::Stage,
    totp,
};
use crate::{
    clock,
    state::AppState,
    web::{
        AppError, FlashKind, Layout, cookies, flash_redirect, forms::FieldErrors, render,
        render_status, safe_next, see_other,
    },
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

#[derive(FromRow)]
pub struct DemoAccount {
    pub email: String,
    pub password: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: Option<String>,
    demo_accounts: Vec<DemoAccount>,
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
    Ok(
        sqlx::query_as("select email, password, label from demo_account order by position")
            .fetch_all(conn)
            .await?,
    )
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

#[derive(FromRow)]
struct LoginUser {
    user_id: Uuid,
    password_hash: String,
    role: String,
    totp_enabled_at: Option<chrono::DateTime<chrono::Utc>>,
    email_verified_at: Option<chrono::DateTime<chrono::Utc>>,
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
    let user: Option<LoginUser> = sqlx::query_as(
        "select user_id, password_hash, role, totp_enabled_at, email_verified_at from app_user
         where lower(email) = lower($1) and disabled_at is null",
    )
    .bind(&email)
    .fetch_optional(&mut *conn)
    .await?;
    // The slow hash is checked without holding a pool connection.
    drop(conn);
    let ok = password::verify(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;
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
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if let Some(old) = &ctx.session {
        session::delete(&mut tx, &old.hash).await?;
    }
    let token = session::create(&mut tx, user.user_id, stage, Some(&next), now).await?;
    if stage == Stage::Full {
        audit(
            &mut tx,
            now,
            Some(user.user_id),
            "login",
            None,
            serde_json::json!({}),
            Some(&ctx.ip),
        )
        .await?;
    }
    tx.commit().await?;
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

#[derive(Template)]
#[template(path = "auth/totp.html")]
struct TotpPage {
    layout: Layout,
    error: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn totp_form(ctx: Ctx) -> Result<Response, AppError> {
    match &ctx.session {
        Some(s) if s.stage == Stage::Totp => Ok(render(&TotpPage {
            layout: ctx.layout(),
            error: None,
        })),
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
            &TotpPage {
                layout: ctx.layout(),
                error: Some(error),
            },
        ));
    };
    drop(conn);
    let mut tx = state.db.begin().await?;
    // Guarded so two racing submissions of one code cannot both succeed.
    let updated = sqlx::query!("update app_user set totp_last_step = $2 where user_id = $1 and (totp_last_step is null or totp_last_step < $2)", s.user.id, step)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(see_other("/logga-in/tvastegs"));
    }
    rate_limit::record(&mut tx, &s.user.email, &ctx.ip, true, now).await?;
    let resp = promote(&state, &mut tx, s, &ctx.ip).await?;
    tx.commit().await?;
    Ok(resp)
}

/// Replaces a half-logged-in session by a full one under a new id.
async fn promote(
    state: &AppState,
    tx: &mut sqlx::PgConnection,
    s: &session::Session,
    ip: &str,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let next = s
        .next_path
        .clone()
        .unwrap_or_else(|| s.user.role.home().to_string());
    session::delete(tx, &s.hash).await?;
    let token = session::create(tx, s.user.id, Stage::Full, None, now).await?;
    audit(
        tx,
        now,
        Some(s.user.id),
        "login",
        None,
        serde_json::json!({"totp": true}),
        Some(ip),
    )
    .await?;
    let mut resp = see_other(&next);
    cookies::set_session(&mut resp, &token, state.config.secure_cookies());
    Ok(resp)
}

#[derive(Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    layout: Layout,
    email: String,
    role: &'static str,
    totp_enabled: bool,
    staff: bool,
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

#[derive(Template)]
#[template(path = "auth/totp_enroll.html")]
struct EnrollPage {
    layout: Layout,
    qr_svg: String,
    secret: String,
    error: Option<String>,
}

async fn enroll_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let Some(s) = ctx
        .session
        .as_ref()
        .filter(|s| matches!(s.stage, Stage::Full | Stage::TotpEnroll))
    else {
        return Err(AppError::LoginRequired(ctx.path.clone()));
    };
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
    let Some(s) = ctx
        .session
        .as_ref()
        .filter(|s| matches!(s.stage, Stage::Full | Stage::TotpEnroll))
    else {
        return Err(AppError::LoginRequired(ctx.path.clone()));
    };
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
    let mut tx = state.db.begin().await?;
    sqlx::query!("update app_user set totp_secret = $2, totp_enabled_at = $3, totp_last_step = $4 where user_id = $1 and totp_enabled_at is null", s.user.id, &secret, now, step)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        now,
        Some(s.user.id),
        "totp_enrolled",
        None,
        serde_json::json!({}),
        Some(&ctx.ip),
    )
    .await?;
    let mut resp = promote(&state, &mut tx, s, &ctx.ip).await?;
    tx.commit().await?;
    cookies::set_flash(
        &mut resp,
        FlashKind::Success,
        "Tvåstegsverifiering är aktiverad.",
    );
    Ok(resp)
}

#[derive(Template)]
#[template(path = "auth/forgot.html")]
struct ForgotPage {
    layout: Layout,
    email: String,
    error: Option<String>,
}

async fn forgot_form(ctx: Ctx) -> Response {
    render(&ForgotPage {
        layout: ctx.layout(),
        email: String::new(),
        error: None,
    })
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
        if let Err(e) = send_reset(&state2, &email).await {
            tracing::error!(error = format!("{e:#}"), "password reset mail failed");
        }
    });
    Ok(flash_redirect("/logga-in", FlashKind::Info, RESET_SENT))
}

/// Reset mails per address and hour: enough for a lost mail, too few to flood an inbox.
const RESETS_PER_HOUR: i64 = 3;

async fn send_reset(state: &AppState, email: &str) -> anyhow::Result<()> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let bucket = format!("reset:{}", email.to_lowercase());
    if let Check::Blocked { .. } =
        rate_limit::hit(&mut conn, &bucket, now, RESETS_PER_HOUR, Duration::hours(1)).await?
    {
        tracing::info!("password reset mail not sent: throttled for the address");
        return Ok(());
    }
    let user: Option<(Uuid, String)> = sqlx::query_as(
        "select user_id, email from app_user where lower(email) = lower($1) and disabled_at is null",
    )
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((user_id, address)) = user else {
        return Ok(());
    };
    let link = one_time_link(
        &mut conn,
        state,
        user_id,
        LinkPurpose::Password,
        now,
        Duration::hours(1),
    )
    .await?;
    let text = ResetMail { link: &link }.render()?;
    crate::mail::queue(
        &mut conn,
        &address,
        "Välj ett nytt lösenord till Fordra",
        &text,
        None,
        now,
    )
    .await?;
    state.wake_mail();
    Ok(())
}

/// What a single-use link lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Choose a password (a reset, or an invitation).
    Password,
    /// Confirm the e-mail address given at sign-up, and log in.
    ConfirmEmail,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Password => "password",
            LinkPurpose::ConfirmEmail => "confirm_email",
        }
    }

    fn path(self) -> &'static str {
        match self {
            LinkPurpose::Password => "/losenord/ny",
            LinkPurpose::ConfirmEmail => "/bli-kund/bekrafta",
        }
    }
}

/// A single-use link for `purpose`, valid for `valid_for`; only the token's hash is stored.
pub async fn one_time_link(
    conn: &mut sqlx::PgConnection,
    state: &AppState,
    user_id: Uuid,
    purpose: LinkPurpose,
    now: chrono::DateTime<chrono::Utc>,
    valid_for: Duration,
) -> sqlx::Result<String> {
    let token = random_token(32);
    sqlx::query!("insert into password_reset (token_hash, user_id, created_at, expires_at, purpose) values ($1, $2, $3, $4, $5)", sha256(&token), user_id, now, now + valid_for, purpose.as_str())
        .execute(conn)
        .await?;
    Ok(format!(
        "{}{}?token={token}",
        state.config.public_url,
        purpose.path()
    ))
}

/// Uses a single-use link: marks it used and returns its user, if it is valid for `purpose`.
pub async fn use_link(
    conn: &mut sqlx::PgConnection,
    token: &str,
    purpose: LinkPurpose,
    now: chrono::DateTime<chrono::Utc>,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "update password_reset set used_at = $2
         where token_hash = $1 and purpose = $3 and used_at is null and expires_at > $2 returning user_id",
    )
    .bind(sha256(token))
    .bind(now)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

#[derive(Template)]
#[template(path = "emails/password_reset.txt")]
struct ResetMail<'a> {
    link: &'a str,
}

#[derive(Template)]
#[template(path = "auth/reset.html")]
struct ResetPage {
    layout: Layout,
    token: String,
    valid: bool,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

async fn reset_user(state: &AppState, token: &str) -> Result<Option<Uuid>, AppError> {
    let mut conn = state.db.acquire().await?;
    Ok(sqlx::query_scalar(
        "select user_id from password_reset
         where token_hash = $1 and purpose = 'password' and used_at is null and expires_at > $2",
    )
    .bind(sha256(token))
    .bind(state.clock.now())
    .fetch_optional(&mut *conn)
    .await?)
}

async fn reset_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenQuery>,
) -> Result<Response, AppError> {
    let valid = reset_user(&state, &q.token).await?.is_some();
    let status = if valid {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    Ok(render_status(
        status,
        &ResetPage {
            layout: ctx.layout(),
            token: q.token,
            valid,
            errors: FieldErrors::default(),
        },
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
        let valid = reset_user(&state, &form.token).await?.is_some();
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ResetPage {
                layout: ctx.layout(),
                token: form.token,
                valid,
                errors,
            },
        ));
    }
    let hash = password::hash(form.password).await?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    // Single use: only the request that marks the token used may change the password.
    let user_id = use_link(&mut tx, &form.token, LinkPurpose::Password, now).await?;
    let Some(user_id) = user_id else {
        return Ok(render_status(
            StatusCode::NOT_FOUND,
            &ResetPage {
                layout: ctx.layout(),
                token: String::new(),
                valid: false,
                errors: FieldErrors::default(),
            },
        ));
    };
    // The link came by mail, so the address is the user's.
    sqlx::query!("update app_user set password_hash = $2, email_verified_at = coalesce(email_verified_at, $3)
         where user_id = $1", user_id, hash, now)
    .execute(&mut *tx)
    .await?;
    session::delete_for_user(&mut tx, user_id).await?;
    audit(
        &mut tx,
        now,
        Some(user_id),
        "password_reset",
        None,
        serde_json::json!({}),
        Some(&ctx.ip),
    )
    .await?;
    tx.commit().await?;
    let mut resp = flash_redirect(
        "/logga-in",
        FlashKind::Success,
        "Ditt lösenord är bytt. Logga in med det nya lösenordet.",
    );
    cookies::clear_session(&mut resp);
    Ok(resp)
}
