//! `/partner/registrera`: the form, the BankID signature of the partner agreement (the shared
//! [`crate::auth::bankid`] flow) and its completion.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
};

use super::registration::{self, BUSINESSES, Form};
use crate::{
    auth::{
        Ctx,
        bankid::{self as flow, PARTNER_SIGN},
    },
    bankid::AuthRequest,
    state::AppState,
    terms::{Terms, current as current_terms},
    web::{Form as PostForm, cookies, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner/registrera", get(form_page).post(start))
        .route("/partner/registrera/bankid/{id}/klar", get(finish))
        .merge(flow::routes(&PARTNER_SIGN))
}

#[derive(Template)]
#[template(path = "partners/register.html")]
struct RegisterPage {
    layout: Layout,
    form: Form,
    errors: FieldErrors,
    terms: Terms,
    sha256: String,
    businesses: &'static [(&'static str, &'static str)],
    /// Why the form cannot be used now (BankID off, too many tries, BankID's error).
    blocked: Option<&'static str>,
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    form: Option<Form>,
    errors: FieldErrors,
) -> Result<RegisterPage, AppError> {
    let terms =
        current_terms(&mut *state.db.acquire().await?, "partner", state.clock.today()).await?;
    let form = form.unwrap_or_else(|| Form {
        payout_type: "bankgiro".into(),
        terms_version: terms.version.clone(),
        ..Form::default()
    });
    Ok(RegisterPage {
        layout: ctx.layout(),
        form,
        errors,
        sha256: terms.sha256(),
        terms,
        businesses: BUSINESSES,
        blocked: state.bankid.is_none().then_some(
            "Registrering kräver BankID, och BankID är inte påslaget på den här servern.",
        ),
    })
}

async fn form_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    if ctx.user().is_some_and(|u| u.partner_id.is_some()) {
        return Ok(see_other("/partner"));
    }
    Ok(render(&page(&state, &ctx, None, FieldErrors::default()).await?))
}

async fn start(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    PostForm(form): PostForm<Form>,
) -> Result<Response, AppError> {
    let today = state.clock.today();
    let terms =
        current_terms(&mut *state.db.acquire().await?, "partner", state.clock.today()).await?;
    let mut valid = registration::validate(&form, today, &terms.version);
    if let Ok(r) = &valid
        && registration::org_taken(&mut *state.db.acquire().await?, &r.org_nr).await?
    {
        let mut e = FieldErrors::default();
        e.add("org_nr", "Företaget är redan partner hos Fordra. Logga in i stället.");
        valid = Err(e);
    }
    let r = match valid {
        Ok(r) => r,
        Err(errors) => {
            let p = page(&state, &ctx, Some(refill(&form)), errors).await?;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
        }
    };
    let Some(client) = state.bankid.clone() else {
        let message = "Registrering kräver BankID, och BankID är inte påslaget på den här servern.";
        return blocked(&state, &ctx, &form, message, StatusCode::SERVICE_UNAVAILABLE).await;
    };
    if let Some(message) = flow::throttled(&state, &ctx.ip).await? {
        return blocked(&state, &ctx, &form, message, StatusCode::TOO_MANY_REQUESTS).await;
    }
    let sha256 = terms.sha256();
    let (visible, hidden) = registration::texts(&r, &terms, &sha256);
    let hash = crate::auth::password::hash(r.password.clone()).await?;
    let order = match client.sign(&AuthRequest::sign(&ctx.ip, &visible, &hidden)).await {
        Ok(o) => o,
        Err(e) => {
            tracing::warn!(error = %e, "BankID sign failed");
            return blocked(&state, &ctx, &form, e.user_message(), StatusCode::BAD_GATEWAY).await;
        }
    };
    let b = flow::bind(&state, (&ctx, &headers), &PARTNER_SIGN, None);
    let mut conn = state.db.acquire().await?;
    let held = (b.id, &order, b.started);
    registration::hold(&mut conn, held, &r, &hash, (&visible, &sha256), state.clock.now()).await?;
    Ok(b.response)
}

/// The form as typed, without the passwords.
fn refill(form: &Form) -> Form {
    Form { password: String::new(), password_repeat: String::new(), ..form.clone() }
}

/// The form again with why it cannot go on now.
async fn blocked(
    state: &AppState,
    ctx: &Ctx,
    form: &Form,
    message: &'static str,
    status: StatusCode,
) -> Result<Response, AppError> {
    let p = page(state, ctx, Some(refill(form)), FieldErrors::default()).await?;
    Ok(render_status(status, &RegisterPage { blocked: Some(message), ..p }))
}

/// The signed order becomes a pending partner, once, in the browser that started it.
async fn finish(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (order, pnr, completion) =
        match flow::completed(&state, &headers, &PARTNER_SIGN, &id).await? {
            Ok(done) => done,
            Err(resp) => return Ok(resp),
        };
    let mut conn = state.db.acquire().await?;
    let (now, today) = (state.clock.now(), state.clock.today());
    let place = (ctx.ip.as_str(), state.config.public_url.as_str());
    let outcome =
        registration::complete(&mut conn, &order, (&pnr, &completion), place, now, today).await;
    let mut resp = match outcome {
        Ok(number) => {
            state.wake_mail();
            flash_redirect(
                "/logga-in",
                FlashKind::Success,
                &format!(
                    "Tack! Partneravtalet är underskrivet och ert partnernummer är {number}. Vi har skickat en länk till er e-post: bekräfta adressen och logga in. Vi går igenom registreringen, oftast inom en bankdag."
                ),
            )
        }
        Err(registration::Refused::Db(e)) => return Err(AppError::Internal(e)),
        Err(refused) => {
            flash_redirect("/partner/registrera", FlashKind::Error, &refused.to_string())
        }
    };
    cookies::clear_named(&mut resp, cookies::BANKID);
    Ok(resp)
}
