//! The creditor's pages: sign-up, confirmation, terms, colleagues, home; and the staff's list
//! and decision. Handlers extract, call one service function, and render or redirect.

use super::views::*;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    CreditorRow, Terms,
    onboarding::{self, INDUSTRIES, SignupForm},
    service::{self, INVITATION_HOURS, Registered, current_terms},
};
use crate::{
    auth::{Ctx, Role, STAFF, password},
    crypto::random_token,
    mail::looks_like_email,
    state::AppState,
    web::{
        cookies,
        extract::{Form, Query},
        prelude::*,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar", get(home))
        .route("/bli-kund", get(signup_form).post(signup))
        .route("/bli-kund/skickat", get(signup_sent))
        .route("/bli-kund/bekrafta", get(confirm_form).post(confirm))
        .route("/villkor/borgenar", get(terms_page))
        .route("/borgenar/villkor", post(accept_terms))
        .route("/borgenar/anvandare", get(users).post(invite))
        .route("/borgenar/anvandare/{id}/ta-bort", axum::routing::post(remove_user))
        .route("/admin/borgenarer", get(admin_list))
        .route("/admin/borgenarer/{id}", get(admin_show))
        .route("/admin/borgenarer/{id}/beslut", post(admin_decide))
}

#[derive(Deserialize)]
struct RefQuery {
    #[serde(default)]
    ref_code: Option<String>,
}

async fn signup_form(
    State(state): State<AppState>,
    ctx: Ctx,
    crate::web::Query(q): crate::web::Query<RefQuery>,
) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor", state.clock.today()).await?;
    let form = SignupForm {
        payout_type: "bankgiro".into(),
        referral_code: q.ref_code.unwrap_or_default(),
        terms_version: terms.version.clone(),
        ..Default::default()
    };
    Ok(render(&SignupPage {
        layout: ctx.layout(),
        form,
        errors: FieldErrors::default(),
        terms,
        industries: INDUSTRIES,
        company_forms: crate::domain::company::CompanyForm::ALL,
    }))
}

/// How long the link that confirms a sign-up's e-mail address stays valid.
async fn signup(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SignupForm>,
) -> Result<Response, AppError> {
    let today = state.clock.today();
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor", state.clock.today()).await?;
    let refuse = |mut form: SignupForm, errors: FieldErrors, terms: Terms, ctx: &Ctx| {
        form.password.clear();
        form.password_repeat.clear();
        form.terms_version = terms.version.clone();
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage {
                layout: ctx.layout(),
                form,
                errors,
                terms,
                industries: INDUSTRIES,
                company_forms: crate::domain::company::CompanyForm::ALL,
            },
        )
    };
    let rules = state.parameters(&mut conn).await?.book.in_force(today).clone();
    let s = match onboarding::validate(&form, today, &terms.version, &rules) {
        Ok(s) => s,
        Err(errors) => return Ok(refuse(form, errors, terms, &ctx)),
    };
    if let Some(code) = &s.referral_code
        && crate::partners::service::find(&mut conn, code).await?.is_none()
    {
        let mut errors = FieldErrors::default();
        errors.add(
            "referral_code",
            format!("Det finns ingen partner med numret {code}. Kontrollera numret, eller lämna fältet tomt."),
        );
        return Ok(refuse(form, errors, terms, &ctx));
    }
    // The slow hash is done whether or not the address has an account (timing says nothing),
    // and without holding a pool connection.
    drop(conn);
    let hash = password::hash(s.password.clone()).await?;
    let mut conn = state.db.acquire().await?;
    let url = &state.config.public_url;
    let registered = service::register(&mut conn, &s, &hash, &ctx.ip, url, now, today).await?;
    if let Registered::OrgTaken = registered {
        let mut errors = FieldErrors::default();
        errors.add(
            "org_nr",
            "Det finns redan ett konto för organisationsnumret. Logga in, eller be en kollega bjuda in er.",
        );
        return Ok(refuse(form, errors, terms, &ctx));
    }
    state.wake_mail();
    Ok(see_other(&format!(
        "/bli-kund/skickat?{}",
        serde_urlencoded::to_string([("till", s.email.as_str())]).unwrap_or_default()
    )))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SentQuery {
    till: String,
}

async fn signup_sent(ctx: Ctx, Query(q): Query<SentQuery>) -> Response {
    render(&SentPage { layout: ctx.layout(), email: q.till, hours: service::CONFIRM_HOURS })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenForm {
    token: String,
}

/// The link from the mail shows a button: a link scanner that opens it uses nothing up.
async fn confirm_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<TokenForm>,
) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let valid = service::confirmation_valid(&mut conn, &q.token, state.clock.now()).await?;
    let page = ConfirmPage { layout: ctx.layout(), token: q.token, valid };
    Ok(if valid { render(&page) } else { render_status(StatusCode::NOT_FOUND, &page) })
}

/// Confirms the address and logs the user in.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let old = ctx.session.as_ref().map(|s| s.hash.as_slice());
    let now = state.clock.now();
    let Some((token, role)) =
        service::confirm_email(&mut conn, &form.token, old, &ctx.ip, now).await?
    else {
        return Ok(render_status(
            StatusCode::NOT_FOUND,
            &ConfirmPage { layout: ctx.layout(), token: String::new(), valid: false },
        ));
    };
    let welcome = match role {
        crate::auth::Role::Partner => {
            "Välkommen som partner till Fordra! Vi går igenom registreringen, oftast inom en bankdag."
        }
        _ => {
            "Välkommen till Fordra! Vi gör en kundbedömning, oftast inom en bankdag. Ni kan registrera fordringar redan nu; inga brev skickas förrän ni är godkända."
        }
    };
    let mut resp = flash_redirect(role.home(), FlashKind::Success, welcome);
    cookies::set_session(&mut resp, &token, state.config.secure_cookies());
    Ok(resp)
}

async fn terms_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor", state.clock.today()).await?;
    Ok(render(&TermsPage { layout: ctx.layout(), terms }))
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    terms_version: String,
    #[serde(default)]
    accept: Option<String>,
}

/// A creditor's user accepts the terms in force (a customer created by a partner does this at
/// its first login).
async fn accept_terms(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AcceptForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor", state.clock.today()).await?;
    if form.accept.is_none() || form.terms_version != terms.version {
        return Ok(flash_redirect(
            "/borgenar",
            FlashKind::Error,
            "Kryssa i att ni godkänner villkoren i den version som visas.",
        ));
    }
    let by = ctx.acting(user, &state.clock);
    service::accept_terms(&mut conn, creditor_id, &terms.version, &by).await?;
    Ok(flash_redirect(
        "/borgenar",
        FlashKind::Success,
        &format!("Tack! Ni har godkänt villkoren (version {}).", terms.version),
    ))
}

async fn users(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    Ok(render(&UsersPage {
        layout: ctx.layout(),
        users: service::user_rows(&mut conn, creditor_id).await?,
        invite_name: String::new(),
        invite_email: String::new(),
        is_owner: user.creditor_owner,
        me: user.id,
        errors: FieldErrors::default(),
    }))
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor_owner()?;
    let name = form.name.trim().to_string();
    let email = form.email.trim().to_string();
    let mut errors = FieldErrors::default();
    if name.is_empty() {
        errors.add("name", "Ange kollegans namn.");
    }
    if !looks_like_email(&email) {
        errors.add("email", "Ange en giltig e-postadress.");
    }
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    if !errors.is_empty() {
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &UsersPage {
                layout: ctx.layout(),
                users: service::user_rows(&mut conn, creditor_id).await?,
                invite_name: name,
                invite_email: email,
                is_owner: true,
                me: user.id,
                errors,
            },
        ));
    }
    // An unusable password until the invitee chooses one through the link.
    drop(conn);
    let placeholder = password::hash(random_token(32)).await?;
    let by = service::Inviter { user_id: user.id, name: &user.display_name, ip: &ctx.ip, now };
    let mut conn = state.db.acquire().await?;
    let url = &state.config.public_url;
    let owner = form.role == "owner";
    service::invite(&mut conn, creditor_id, &by, (&name, &email, owner), &placeholder, url).await?;
    state.wake_mail();
    Ok(flash_redirect(
        "/borgenar/anvandare",
        FlashKind::Success,
        &format!("Inbjudan skickad till {email}. Länken gäller i {INVITATION_HOURS} timmar."),
    ))
}

async fn remove_user(
    State(state): State<AppState>,
    ctx: Ctx,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor_owner()?;
    let id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    let outcome =
        service::remove_user(&mut *state.db.acquire().await?, creditor_id, id, &by).await?;
    Ok(flash_outcome("/borgenar/anvandare", outcome))
}

async fn admin_list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let creditors = service::list(&mut *state.db.acquire().await?).await?;
    Ok(render(&AdminListPage { layout: ctx.layout(), creditors }))
}

async fn load_creditor(state: &AppState, id: &str) -> Result<CreditorRow, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    service::find(&mut *state.db.acquire().await?, id).await?.ok_or(AppError::NotFound)
}

async fn admin_show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let c = load_creditor(&state, &id).await?;
    Ok(render(&AdminShowPage {
        layout: ctx.layout(),
        can_decide: user.role == Role::Admin && c.status == "pending",
        c,
        reason: String::new(),
        errors: FieldErrors::default(),
    }))
}

#[derive(Deserialize)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

/// Approve or reject a creditor (admins only). Approval wakes the claims registered while
/// pending, so the engine sends their first letters on its next pass.
async fn admin_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let c = load_creditor(&state, &id).await?;
    if c.status != "pending" {
        return Ok(flash_redirect(
            &format!("/admin/borgenarer/{}", c.creditor_id),
            FlashKind::Error,
            "Kunden är redan bedömd.",
        ));
    }
    if form.decision == "approve" && c.terms_version.is_none() {
        return Ok(flash_redirect(
            &format!("/admin/borgenarer/{}", c.creditor_id),
            FlashKind::Error,
            "Kunden har inte godkänt villkoren ännu. Godkänn när kontaktpersonen har loggat in och godkänt dem.",
        ));
    }
    let reason = form.reason.trim().to_string();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" if !reason.is_empty() => false,
        _ => {
            let mut errors = FieldErrors::default();
            errors.add("reason", "Ange skälet till avslaget; det skickas till kunden.");
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AdminShowPage { layout: ctx.layout(), c, reason, errors, can_decide: true },
            ));
        }
    };
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let url = &state.config.public_url;
    if !service::decide(&mut conn, &c, approve, &reason, &by, url).await? {
        return Ok(flash_redirect(
            &format!("/admin/borgenarer/{}", c.creditor_id),
            FlashKind::Error,
            "Kunden är redan bedömd.",
        ));
    }
    state.wake_mail();
    let to = format!("/admin/borgenarer/{}", c.creditor_id);
    let message = if approve {
        format!("{} är godkänd. Kunden får e-post om beslutet.", c.name)
    } else {
        format!("{} är avslagen. Kunden får e-post med skälet.", c.name)
    };
    Ok(flash_redirect(&to, FlashKind::Success, &message))
}

/// The creditor's start page: the company's status and its open claims in brief.
async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let (company, org_nr, status) = service::company(&mut conn, creditor_id).await?;
    let (open, open_capital, blocked) = crate::claims::open_summary(&mut conn, creditor_id).await?;
    let partner = crate::partners::service::current_partner(&mut conn, creditor_id).await?;
    let terms = match service::terms_version(&mut conn, creditor_id).await? {
        Some(_) => None,
        None => Some(current_terms(&mut conn, "creditor", state.clock.today()).await?),
    };
    Ok(render(&CreditorHome {
        partner,
        terms,
        layout: ctx.layout(),
        org_nr: crate::domain::ids::IdNumber::from_stored(&org_nr).display(),
        company,
        status,
        open,
        open_capital,
        blocked,
    }))
}
