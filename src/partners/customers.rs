//! A partner working for its customers: creating a customer (who is invited to choose a
//! password and accept the terms), a customer's page with its claims, registering a claim by
//! form, and importing a claims file in the background with progress. Only current customers
//! of the partner are reachable; anything else is 404.

use askama::Template;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    auth::Ctx,
    claims::{self, NewPage, jobs, web::ClaimForm},
    domain::ids::IdNumber,
    state::AppState,
    web::{Form, extract::upload_failure, prelude::*},
};

/// Uploads up to this size.
const MAX_UPLOAD: usize = 8 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner/kunder/ny", get(new_customer_form).post(create_customer))
        .route("/partner/kunder/{id}", get(customer))
        .route("/partner/kunder/{id}/krav/ny", get(new_claim_form).post(create_claim))
        .route("/partner/kunder/{id}/import", post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD)))
        .route("/partner/kunder/{id}/import/{job}", get(job_page))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct CustomerForm {
    org_nr: String,
    name: String,
    contact_name: String,
    email: String,
}

#[derive(Template)]
#[template(path = "partners/new_customer.html")]
struct NewCustomerPage {
    layout: Layout,
    form: CustomerForm,
    errors: FieldErrors,
}

async fn new_customer_form(ctx: Ctx) -> Result<Response, AppError> {
    super::routes::partner_of(&ctx)?;
    let page = NewCustomerPage {
        layout: ctx.layout(),
        form: CustomerForm::default(),
        errors: FieldErrors::default(),
    };
    Ok(render(&page))
}

async fn create_customer(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CustomerForm>,
) -> Result<Response, AppError> {
    let (user, partner_id) = super::routes::partner_of(&ctx)?;
    let today = state.clock.today();
    let mut errors = FieldErrors::default();
    let org =
        IdNumber::parse(&form.org_nr, today).map_err(|e| errors.add("org_nr", e.to_string())).ok();
    let (name, contact, email) = (form.name.trim(), form.contact_name.trim(), form.email.trim());
    if name.is_empty() {
        errors.add("name", "Ange företagets namn.");
    }
    if contact.is_empty() {
        errors.add("contact_name", "Ange kontaktpersonens namn.");
    }
    if !crate::mail::looks_like_email(email) {
        errors.add("email", "Ange en giltig e-postadress, till exempel namn@foretag.se.");
    }
    let refuse = |errors: FieldErrors| {
        let page = NewCustomerPage { layout: ctx.layout(), form: form.clone(), errors };
        Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let Some(org) = org.filter(|_| errors.is_empty()) else { return refuse(errors) };
    // An unusable password until the contact chooses one through the invitation.
    let placeholder = crate::auth::password::hash(crate::crypto::random_token(32)).await?;
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let c = super::service::NewCustomer { org_nr: &org, name, contact_name: contact, email };
    let place = (&by, state.config.public_url.as_str());
    match super::service::create_customer(&mut conn, partner_id, &c, &placeholder, &params, place)
        .await?
    {
        Ok(creditor_id) => {
            state.wake_mail();
            Ok(flash_redirect(
                &format!("/partner/kunder/{creditor_id}"),
                FlashKind::Success,
                &format!(
                    "{name} är er kund. {email} har fått en inbjudan att välja lösenord och godkänna villkoren. Ni kan registrera fordringar redan nu; inga brev skickas förrän Fordra har godkänt kunden."
                ),
            ))
        }
        Err((field, why)) => {
            let mut errors = FieldErrors::default();
            errors.add(field, why);
            refuse(errors)
        }
    }
}

/// The customer `id` of the logged-in partner: (partner user, creditor id, name, org.nr, status).
async fn own(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
) -> Result<(Uuid, Uuid, String, String, String), AppError> {
    let (user, partner_id) = super::routes::partner_of(ctx)?;
    let creditor_id = path_id(id)?;
    let mut conn = state.db.acquire().await?;
    let (name, org_nr, status) = super::service::own_customer(&mut conn, partner_id, creditor_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((user.id, creditor_id, name, org_nr, status))
}

#[derive(Template)]
#[template(path = "partners/customer.html")]
struct CustomerPage {
    layout: Layout,
    id: Uuid,
    name: String,
    org_nr: String,
    status: String,
    claims: Vec<claims::ListRow>,
    jobs: Vec<jobs::Job>,
    upload_error: Option<String>,
}

async fn customer_page(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    upload_error: Option<String>,
) -> Result<CustomerPage, AppError> {
    let (_, creditor_id, name, org_nr, status) = own(state, ctx, id).await?;
    let mut conn = state.db.acquire().await?;
    let filter = claims::ListFilter { state: "", text: "", due_from: None, due_to: None };
    let order = "c.registered_at desc";
    let (claims, _) = claims::list(&mut conn, creditor_id, &filter, order, 200, 0).await?;
    let jobs = jobs::recent(&mut conn, creditor_id).await?;
    Ok(CustomerPage {
        layout: ctx.layout(),
        id: creditor_id,
        name,
        org_nr: IdNumber::from_stored(&org_nr).display(),
        status,
        claims,
        jobs,
        upload_error,
    })
}

async fn customer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    Ok(render(&customer_page(&state, &ctx, &id, None).await?))
}

fn claim_page(ctx: &Ctx, id: Uuid, name: String, status: &str) -> NewPage {
    let mut page = NewPage::creditor(
        ctx.layout(),
        ClaimForm::blank(),
        FieldErrors::default(),
        status == "pending",
    );
    page.base = format!("/partner/kunder/{id}");
    page.customer = Some(name);
    page
}

async fn new_claim_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, creditor_id, name, _, status) = own(&state, &ctx, &id).await?;
    Ok(render(&claim_page(&ctx, creditor_id, name, &status)))
}

async fn create_claim(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ClaimForm>,
) -> Result<Response, AppError> {
    let (user_id, creditor_id, name, _, status) = own(&state, &ctx, &id).await?;
    let (today, now) = (state.clock.today(), state.clock.now());
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let refuse = |errors: FieldErrors, form: ClaimForm| {
        let mut page = claim_page(&ctx, creditor_id, name.clone(), &status);
        page.form = form;
        page.errors = errors;
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    };
    let claim = match claims::input::validate(&form.to_input(), today, &params) {
        Ok(c) => c,
        Err(invalid) => return Ok(refuse(invalid.into_errors(), form)),
    };
    match claims::insert(&mut conn, creditor_id, &claim, Some(user_id), now, today).await {
        Ok(_) => Ok(flash_redirect(
            &format!("/partner/kunder/{creditor_id}"),
            FlashKind::Success,
            &format!("Fordran med faktura {} är registrerad för {name}.", claim.invoice_number),
        )),
        Err(claims::InsertError::DuplicateInvoiceNumber) => {
            let mut e = FieldErrors::default();
            e.add("invoice_number", "Fakturanumret finns redan registrerat hos kunden.");
            Ok(refuse(e, form))
        }
        Err(claims::InsertError::Db(e)) => Err(e.into()),
    }
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let (user_id, creditor_id, _, _, _) = own(&state, &ctx, &id).await?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                let page = customer_page(&state, &ctx, &id, Some(message)).await?;
                return Ok(render_status(status, &page));
            }
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            match field.bytes().await {
                Ok(b) => file = Some((name, b.to_vec())),
                Err(e) => {
                    let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                    let page = customer_page(&state, &ctx, &id, Some(message)).await?;
                    return Ok(render_status(status, &page));
                }
            }
        }
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let message = "Välj en CSV-fil att ladda upp.".to_string();
        let page = customer_page(&state, &ctx, &id, Some(message)).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let rows = claims::csv::count_rows(&bytes);
    let mut conn = state.db.acquire().await?;
    let kept = (name.as_str(), bytes.as_slice(), rows);
    let job = jobs::queue(&mut conn, creditor_id, user_id, kept, state.clock.now()).await?;
    tokio::spawn(jobs::run(state.clone(), job));
    Ok(see_other(&format!("/partner/kunder/{creditor_id}/import/{job}")))
}

#[derive(Template)]
#[template(path = "partners/import_job.html")]
struct JobPage {
    layout: Layout,
    customer: Uuid,
    name: String,
    job: jobs::Job,
}

async fn job_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, job)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (_, creditor_id, name, _, _) = own(&state, &ctx, &id).await?;
    let job_id = path_id(&job)?;
    let mut conn = state.db.acquire().await?;
    let job = jobs::find(&mut conn, creditor_id, job_id).await?.ok_or(AppError::NotFound)?;
    Ok(render(&JobPage { layout: ctx.layout(), customer: creditor_id, name, job }))
}

/// A job's state in words.
fn job_label(j: &jobs::Job) -> String {
    let n = |v: i64| crate::web::filters::grouped(v);
    match (j.state.as_str(), &j.outcome) {
        ("queued" | "running", _) => {
            format!("Bearbetar fordringar: {} av {} klara", n(j.processed.into()), n(j.rows.into()))
        }
        ("done", Some(o)) => format!("{} fordringar registrerade", n(o.claims as i64)),
        ("refused", Some(o)) => format!("Ingenting importerades ({} fel)", n(o.error_count as i64)),
        _ => "Avbröts; ladda upp filen igen".into(),
    }
}

fn state_label(state: &str) -> &'static str {
    crate::domain::lifecycle::ClaimState::parse(state).map_or("", |s| s.label())
}
