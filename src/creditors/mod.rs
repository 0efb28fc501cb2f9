//! Creditors: self-service sign-up with kundbedömning, the versioned terms, colleagues invited
//! by a creditor user, and the staff decision (approve / reject) on a new creditor.

pub mod onboarding;

use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use crate::web::see_other;
use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    auth::STAFF,
    auth::{Role, audit, password, service::LinkPurpose, session},
    crypto::random_token,
    mail::looks_like_email,
    state::AppState,
    web::{cookies, prelude::*},
};
use onboarding::{INDUSTRIES, Payout, SignupForm};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar", get(home))
        .route("/bli-kund", get(signup_form).post(signup))
        .route("/bli-kund/skickat", get(signup_sent))
        .route("/bli-kund/bekrafta", get(confirm_form).post(confirm))
        .route("/villkor/borgenar", get(terms_page))
        .route("/borgenar/anvandare", get(users).post(invite))
        .route("/admin/borgenarer", get(admin_list))
        .route("/admin/borgenarer/{id}", get(admin_show))
        .route("/admin/borgenarer/{id}/beslut", post(admin_decide))
}

pub struct Terms {
    pub version: String,
    pub title: String,
    pub body: String,
}

pub async fn current_terms(conn: &mut PgConnection, kind: &str) -> sqlx::Result<Terms> {
    let (version, title, body): (String, String, String) = sqlx::query_as(
        "select version, title, body from terms where kind = $1 order by published_on desc, version desc limit 1",
    )
    .bind(kind)
    .fetch_one(conn)
    .await?;
    Ok(Terms {
        version,
        title,
        body,
    })
}

#[derive(Template)]
#[template(path = "creditors/signup.html")]
struct SignupPage {
    layout: Layout,
    form: SignupForm,
    errors: FieldErrors,
    terms: Terms,
    industries: &'static [(&'static str, &'static str, bool)],
    company_forms: [crate::domain::company::CompanyForm; 6],
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
    let terms = current_terms(&mut conn, "creditor").await?;
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
const CONFIRM_HOURS: i64 = 24;

#[derive(Template)]
#[template(path = "emails/signup_confirm.txt")]
struct ConfirmMail<'a> {
    name: &'a str,
    company: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(Template)]
#[template(path = "emails/signup_existing.txt")]
struct ExistingAccountMail<'a> {
    company: &'a str,
    login: &'a str,
}

/// A sign-up is stored as a pending creditor whose user confirms the e-mail address through a
/// link before logging in. The answer is the same whether or not the address already has an
/// account: if it has, nothing is created and its owner is told by mail instead.
async fn signup(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<SignupForm>,
) -> Result<Response, AppError> {
    let today = state.clock.today();
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor").await?;
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
    let s = match onboarding::validate(&form, today, &terms.version) {
        Ok(s) => s,
        Err(errors) => return Ok(refuse(form, errors, terms, &ctx)),
    };
    // The slow hash is done whether or not the address has an account (timing says nothing),
    // and without holding a pool connection.
    drop(conn);
    let hash = password::hash(s.password.clone()).await?;
    let (bankgiro, clearing, account) = match &s.payout {
        Payout::Bankgiro(bg) => (Some(bg.clone()), None, None),
        Payout::Account { clearing, account } => {
            (None, Some(clearing.clone()), Some(account.clone()))
        }
    };
    let mut conn = state.db.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let org_taken: bool =
        sqlx::query_scalar("select exists (select 1 from creditor where org_nr = $1)")
            .bind(s.org_nr.as_str())
            .fetch_one(&mut *tx)
            .await?;
    if org_taken {
        drop(tx);
        let mut errors = FieldErrors::default();
        errors.add(
            "org_nr",
            "Det finns redan ett konto för organisationsnumret. Logga in, eller be en kollega bjuda in er.",
        );
        return Ok(refuse(form, errors, terms, &ctx));
    }
    let creditor_id = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status, address_street, address_postal, address_city,
            industry, contact_name, contact_email, payout_bankgiro, payout_clearing, payout_account,
            terms_version, terms_accepted_at, terms_accepted_ip, referral_code, created_at, company_form)
         values ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $14, $17)").bind(creditor_id).bind(s.org_nr.as_str()).bind(&s.company_name).bind(&s.street).bind(&s.postal_code).bind(&s.city).bind(&s.industry).bind(&s.contact_name).bind(&s.email).bind(bankgiro).bind(clearing).bind(account).bind(&s.terms_version).bind(now).bind(&ctx.ip).bind(&s.referral_code).bind(s.company_form.as_str())
    .execute(&mut *tx)
    .await?;
    match create_user(
        &mut tx,
        &s.email,
        &hash,
        &s.contact_name,
        creditor_id,
        false,
    )
    .await?
    {
        Some(user_id) => {
            let link = crate::auth::service::one_time_link(
                &mut tx,
                &state.config.public_url,
                user_id,
                LinkPurpose::ConfirmEmail,
                now,
                Duration::hours(CONFIRM_HOURS),
            )
            .await?;
            let text = ConfirmMail {
                name: &s.contact_name,
                company: &s.company_name,
                link: &link,
                hours: CONFIRM_HOURS,
            }
            .render()
            .map_err(anyhow::Error::from)?;
            crate::mail::queue(
                &mut tx,
                &s.email,
                "Bekräfta din e-postadress hos Fordra",
                &text,
                None,
                now,
            )
            .await?;
            audit(
                &mut tx,
                now,
                Some(user_id),
                "creditor_signup",
                Some(&creditor_id.to_string()),
                serde_json::json!({"org_nr": s.org_nr.as_str(), "terms_version": s.terms_version, "industry": s.industry}),
                Some(&ctx.ip),
            )
            .await?;
            tx.commit().await?;
        }
        None => {
            // The address has an account: nothing is stored, and its owner hears about it.
            tx.rollback().await?;
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let text = ExistingAccountMail {
                company: &s.company_name,
                login: &format!("{}/logga-in", state.config.public_url),
            }
            .render()
            .map_err(anyhow::Error::from)?;
            crate::mail::queue(
                &mut tx,
                &s.email,
                "Försök att skapa ett konto med din e-postadress",
                &text,
                None,
                now,
            )
            .await?;
            tx.commit().await?;
        }
    }
    state.wake_mail();
    Ok(see_other(&format!(
        "/bli-kund/skickat?{}",
        serde_urlencoded::to_string([("till", s.email.as_str())]).unwrap_or_default()
    )))
}

#[derive(Template)]
#[template(path = "creditors/signup_sent.html")]
struct SentPage {
    layout: Layout,
    email: String,
    hours: i64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SentQuery {
    till: String,
}

async fn signup_sent(ctx: Ctx, Query(q): Query<SentQuery>) -> Response {
    render(&SentPage {
        layout: ctx.layout(),
        email: q.till,
        hours: CONFIRM_HOURS,
    })
}

#[derive(Template)]
#[template(path = "creditors/confirm.html")]
struct ConfirmPage {
    layout: Layout,
    token: String,
    valid: bool,
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
    let valid: bool = sqlx::query_scalar(
        "select exists (select 1 from password_reset
         where token_hash = $1 and purpose = 'confirm_email' and used_at is null and expires_at > $2)",
    )
    .bind(crate::crypto::sha256(&q.token))
    .bind(state.clock.now())
    .fetch_one(&mut *conn)
    .await?;
    let page = ConfirmPage {
        layout: ctx.layout(),
        token: q.token,
        valid,
    };
    Ok(if valid {
        render(&page)
    } else {
        render_status(StatusCode::NOT_FOUND, &page)
    })
}

/// Confirms the address and logs the user in.
async fn confirm(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let Some(user_id) =
        crate::auth::service::use_link(&mut tx, &form.token, LinkPurpose::ConfirmEmail, now)
            .await?
    else {
        drop(tx);
        return Ok(render_status(
            StatusCode::NOT_FOUND,
            &ConfirmPage {
                layout: ctx.layout(),
                token: String::new(),
                valid: false,
            },
        ));
    };
    sqlx::query!(
        "update app_user set email_verified_at = $2 where user_id = $1",
        user_id,
        now
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        now,
        Some(user_id),
        "email_confirmed",
        None,
        serde_json::json!({}),
        Some(&ctx.ip),
    )
    .await?;
    if let Some(old) = &ctx.session {
        session::delete(&mut tx, &old.hash).await?;
    }
    let token = session::create(&mut tx, user_id, session::Stage::Full, None, now).await?;
    tx.commit().await?;
    let mut resp = flash_redirect(
        "/borgenar",
        FlashKind::Success,
        "Välkommen till Fordra! Vi gör en kundbedömning, oftast inom en bankdag. Ni kan registrera fordringar redan nu; inga brev skickas förrän ni är godkända.",
    );
    cookies::set_session(&mut resp, &token, state.config.secure_cookies());
    Ok(resp)
}

/// A creditor user; `None` when the address already has an account. `verified`: whether the
/// address is known to be the user's (not yet at sign-up).
async fn create_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
    name: &str,
    creditor_id: Uuid,
    verified: bool,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar(
        "insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, email_verified_at)
         values ($1, $2, $3, 'creditor', $4, $5, case when $6 then now() end)
         on conflict (lower(email)) do nothing returning user_id",
    )
    .bind(Uuid::new_v4())
    .bind(email)
    .bind(password_hash)
    .bind(name)
    .bind(creditor_id)
    .bind(verified)
    .fetch_optional(conn)
    .await
}

#[derive(Template)]
#[template(path = "creditors/terms.html")]
struct TermsPage {
    layout: Layout,
    terms: Terms,
}

async fn terms_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let mut conn = state.db.acquire().await?;
    let terms = current_terms(&mut conn, "creditor").await?;
    Ok(render(&TermsPage {
        layout: ctx.layout(),
        terms,
    }))
}

#[derive(FromRow)]
struct UserRow {
    display_name: String,
    email: String,
    created_at: DateTime<Utc>,
    has_logged_in: bool,
}

#[derive(Template)]
#[template(path = "creditors/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    invite_name: String,
    invite_email: String,
    errors: FieldErrors,
}

async fn user_rows(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(
        "select u.display_name, u.email, u.created_at,
                exists (select 1 from audit_event a where a.actor_user_id = u.user_id and a.action = 'login') as has_logged_in
         from app_user u where u.creditor_id = $1 and u.disabled_at is null order by u.created_at",
    )
    .bind(creditor_id)
    .fetch_all(conn)
    .await
}

async fn users(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    Ok(render(&UsersPage {
        layout: ctx.layout(),
        users: user_rows(&mut conn, creditor_id).await?,
        invite_name: String::new(),
        invite_email: String::new(),
        errors: FieldErrors::default(),
    }))
}

#[derive(Deserialize)]
struct InviteForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
}

/// How long an invitation link stays valid.
const INVITATION_HOURS: i64 = 72;

async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
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
                users: user_rows(&mut conn, creditor_id).await?,
                invite_name: name,
                invite_email: email,
                errors,
            },
        ));
    }
    // An unusable password until the invitee chooses one through the link.
    drop(conn);
    let placeholder = password::hash(random_token(32)).await?;
    let mut conn = state.db.acquire().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let company: String = sqlx::query_scalar("select name from creditor where creditor_id = $1")
        .bind(creditor_id)
        .fetch_one(&mut *tx)
        .await?;
    // The answer is the same whether or not the address has an account; if it has, its owner
    // is told by mail and nothing else happens.
    match create_user(&mut tx, &email, &placeholder, &name, creditor_id, false).await? {
        Some(new_user) => {
            let link = crate::auth::service::one_time_link(
                &mut tx,
                &state.config.public_url,
                new_user,
                LinkPurpose::Password,
                now,
                Duration::hours(INVITATION_HOURS),
            )
            .await?;
            audit(
                &mut tx,
                now,
                Some(user.id),
                "user_invited",
                Some(&new_user.to_string()),
                serde_json::json!({"email": email}),
                Some(&ctx.ip),
            )
            .await?;
            let text = InvitationMail {
                inviter: &user.display_name,
                company: &company,
                link: &link,
                hours: INVITATION_HOURS,
            }
            .render()
            .map_err(anyhow::Error::from)?;
            let subject = format!("Inbjudan till Fordra från {company}");
            crate::mail::queue(&mut tx, &email, &subject, &text, None, now).await?;
        }
        None => {
            let text = ExistingInviteeMail {
                inviter: &user.display_name,
                company: &company,
                login: &format!("{}/logga-in", state.config.public_url),
            }
            .render()
            .map_err(anyhow::Error::from)?;
            let subject = format!("{company} ville bjuda in dig till Fordra");
            crate::mail::queue(&mut tx, &email, &subject, &text, None, now).await?;
        }
    }
    tx.commit().await?;
    state.wake_mail();
    Ok(flash_redirect(
        "/borgenar/anvandare",
        FlashKind::Success,
        &format!("Inbjudan skickad till {email}. Länken gäller i {INVITATION_HOURS} timmar."),
    ))
}

#[derive(Template)]
#[template(path = "emails/invitation_existing.txt")]
struct ExistingInviteeMail<'a> {
    inviter: &'a str,
    company: &'a str,
    login: &'a str,
}

#[derive(Template)]
#[template(path = "emails/invitation.txt")]
struct InvitationMail<'a> {
    inviter: &'a str,
    company: &'a str,
    link: &'a str,
    hours: i64,
}

#[derive(FromRow)]
pub struct CreditorRow {
    creditor_id: Uuid,
    org_nr: String,
    company_form: String,
    name: String,
    status: String,
    address_street: String,
    address_postal: String,
    address_city: String,
    industry: String,
    contact_name: String,
    contact_email: String,
    payout_bankgiro: Option<String>,
    payout_clearing: Option<String>,
    payout_account: Option<String>,
    terms_version: Option<String>,
    terms_accepted_at: Option<DateTime<Utc>>,
    terms_accepted_ip: Option<String>,
    referral_code: Option<String>,
    rejected_reason: Option<String>,
    created_at: DateTime<Utc>,
    claims: i64,
}

impl CreditorRow {
    fn org_display(&self) -> String {
        crate::domain::ids::IdNumber::from_stored(&self.org_nr).display()
    }

    fn company_form_label(&self) -> &'static str {
        crate::domain::company::CompanyForm::parse(&self.company_form).map_or("", |f| f.label())
    }

    fn industry_label(&self) -> &str {
        onboarding::industry_label(&self.industry)
    }

    fn status_label(&self) -> &'static str {
        status_label(&self.status)
    }
}

pub fn status_label(status: &str) -> &'static str {
    match status {
        "approved" => "Godkänd",
        "pending" => "Väntar på kundbedömning",
        _ => "Avslagen",
    }
}

const CREDITOR_SELECT: &str = "select cr.creditor_id, cr.org_nr, cr.company_form, cr.name, cr.status, cr.address_street, cr.address_postal,
        cr.address_city, cr.industry, cr.contact_name, cr.contact_email, cr.payout_bankgiro, cr.payout_clearing,
        cr.payout_account, cr.terms_version, cr.terms_accepted_at, cr.terms_accepted_ip, cr.referral_code,
        cr.rejected_reason, cr.created_at, (select count(*) from claim c where c.creditor_id = cr.creditor_id) as claims
    from creditor cr";

#[derive(Template)]
#[template(path = "backoffice/creditors.html")]
struct AdminListPage {
    layout: Layout,
    creditors: Vec<CreditorRow>,
}

async fn admin_list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let creditors: Vec<CreditorRow> = sqlx::query_as(&format!(
        "{CREDITOR_SELECT} order by cr.status = 'pending' desc, cr.created_at desc limit 500"
    ))
    .fetch_all(&state.db)
    .await?;
    Ok(render(&AdminListPage {
        layout: ctx.layout(),
        creditors,
    }))
}

#[derive(Template)]
#[template(path = "backoffice/creditor.html")]
struct AdminShowPage {
    layout: Layout,
    c: CreditorRow,
    reason: String,
    errors: FieldErrors,
    can_decide: bool,
}

async fn load_creditor(state: &AppState, id: &str) -> Result<CreditorRow, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    sqlx::query_as(&format!("{CREDITOR_SELECT} where cr.creditor_id = $1"))
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)
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
    let reason = form.reason.trim().to_string();
    let approve = match form.decision.as_str() {
        "approve" => true,
        "reject" if !reason.is_empty() => false,
        _ => {
            let mut errors = FieldErrors::default();
            errors.add(
                "reason",
                "Ange skälet till avslaget; det skickas till kunden.",
            );
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &AdminShowPage {
                    layout: ctx.layout(),
                    c,
                    reason,
                    errors,
                    can_decide: true,
                },
            ));
        }
    };
    let now = state.clock.now();
    let today = state.clock.today();
    let mut tx = state.db.begin().await?;
    let status = if approve { "approved" } else { "rejected" };
    sqlx::query("update creditor set status = $2, approved_at = case when $2 = 'approved' then $3 end,
            rejected_reason = case when $2 = 'rejected' then $4 end, decided_at = $3, decided_by = $5
         where creditor_id = $1").bind(c.creditor_id).bind(status).bind(now).bind(&reason).bind(user.id)
    .execute(&mut *tx)
    .await?;
    if approve {
        crate::claims::wake_creditor(&mut tx, c.creditor_id, today).await?;
    }
    audit(
        &mut tx,
        now,
        Some(user.id),
        if approve {
            "creditor_approved"
        } else {
            "creditor_rejected"
        },
        Some(&c.creditor_id.to_string()),
        serde_json::json!({"org_nr": c.org_nr, "reason": reason}),
        Some(&ctx.ip),
    )
    .await?;
    let text = DecisionMail {
        name: &c.contact_name,
        company: &c.name,
        approved: approve,
        reason: &reason,
        link: &format!("{}/borgenar", state.config.public_url),
    }
    .render()
    .map_err(anyhow::Error::from)?;
    let subject = if approve {
        "Ni är godkända som kund hos Fordra"
    } else {
        "Fordra kan inte ta emot er som kund"
    };
    // Queued with the decision: a mail server that is down delays the mail, not the decision.
    crate::mail::queue(&mut tx, &c.contact_email, subject, &text, None, now).await?;
    tx.commit().await?;
    state.wake_mail();
    let to = format!("/admin/borgenarer/{}", c.creditor_id);
    let message = if approve {
        format!("{} är godkänd. Kunden får e-post om beslutet.", c.name)
    } else {
        format!("{} är avslagen. Kunden får e-post med skälet.", c.name)
    };
    Ok(flash_redirect(&to, FlashKind::Success, &message))
}

#[derive(Template)]
#[template(path = "emails/creditor_decision.txt")]
struct DecisionMail<'a> {
    name: &'a str,
    company: &'a str,
    approved: bool,
    reason: &'a str,
    link: &'a str,
}

#[derive(Template)]
#[template(path = "creditors/home.html")]
struct CreditorHome {
    layout: Layout,
    company: String,
    org_nr: String,
    status: String,
    open: i64,
    open_capital: rust_decimal::Decimal,
    blocked: i64,
}

/// The creditor's start page: the company's status and its open claims in brief.
async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let (company, org_nr, status): (String, String, String) =
        sqlx::query_as("select name, org_nr, status from creditor where creditor_id = $1")
            .bind(creditor_id)
            .fetch_one(&mut *conn)
            .await?;
    let (open, open_capital, blocked) = crate::claims::open_summary(&mut conn, creditor_id).await?;
    Ok(render(&CreditorHome {
        layout: ctx.layout(),
        org_nr: crate::domain::ids::IdNumber::from_stored(&org_nr).display(),
        company,
        status,
        open,
        open_capital,
        blocked,
    }))
}
