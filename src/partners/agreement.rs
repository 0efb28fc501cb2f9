//! The partner's agreement: the version it signed (text, digest, when and how), as a page and a
//! PDF, and notice of termination (the agreement then ends with the period running).

use askama::Template;
use axum::{
    Router,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;

use crate::{auth::Ctx, state::AppState, web::prelude::*};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partner/avtal", get(page))
        .route("/partner/avtal.pdf", get(pdf))
        .route("/partner/avtal/sag-upp", post(give_notice))
}

#[derive(Template)]
#[template(path = "partners/agreement.html")]
struct AgreementPage {
    layout: Layout,
    a: super::repo::Signed,
    period_end: Option<NaiveDate>,
}

/// The signed agreement and the end of the period running today (approved partners), or 404.
async fn load(
    state: &AppState,
    ctx: &Ctx,
) -> Result<(super::repo::Signed, Option<NaiveDate>), AppError> {
    let (_, partner_id) = super::routes::partner_of(ctx)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let a = super::repo::signed(&mut conn, partner_id).await?.ok_or(AppError::NotFound)?;
    let params = state.parameters(&mut conn).await?;
    let period_end = (a.status == "approved")
        .then(|| {
            crate::domain::partner::period_end(a.signed_on, today, params.book.in_force(today))
        })
        .flatten();
    Ok((a, period_end))
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (a, period_end) = load(&state, &ctx).await?;
    Ok(render(&AgreementPage { layout: ctx.layout(), a, period_end }))
}

async fn pdf(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (a, _) = load(&state, &ctx).await?;
    let bytes = agreement_pdf(&a, &state.config.identity);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"partneravtal-{}-{}.pdf\"",
                    a.partner_number, a.version
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

pub fn agreement_pdf(a: &super::repo::Signed, identity: &crate::config::Identity) -> Vec<u8> {
    use crate::letters::pdf::{Document, Face};
    let mut d = Document::new();
    d.line_at(56.0, &identity.name, 10.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("Org.nr {} · {}", identity.org_nr, identity.address),
        8.0,
        Face::Regular,
    );
    d.space(18.0);
    d.line_at(56.0, &format!("{}, version {}", a.title, a.version), 16.0, Face::Bold);
    let org = crate::domain::ids::IdNumber::from_stored(&a.org_nr).display();
    d.line_at(
        56.0,
        &format!("Partner: {} (org.nr {org}), partnernummer {}", a.partner_name, a.partner_number),
        10.0,
        Face::Regular,
    );
    d.line_at(56.0, &format!("Undertecknat {}", signed_how(a)), 10.0, Face::Regular);
    d.space(12.0);
    for paragraph in a.body.lines().filter(|l| !l.trim().is_empty()) {
        d.paragraph(paragraph, 9.5, Face::Regular);
        d.space(4.0);
    }
    d.space(8.0);
    d.paragraph(
        &format!("Avtalstextens kontrollsumma (SHA-256): {}", a.sha256),
        8.0,
        Face::Regular,
    );
    d.finish()
}

/// "2026-12-03 med BankID av Karin Berg" or "2026-12-03".
pub fn signed_how(a: &super::repo::Signed) -> String {
    match (a.via.as_str(), &a.signer_name) {
        ("bankid", Some(name)) => format!("{} med BankID av {name}", a.signed_on),
        _ => a.signed_on.to_string(),
    }
}

/// The partner gives notice: the agreement ends with the period running today.
async fn give_notice(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (user, partner_id) = super::routes::partner_of(&ctx)?;
    let (_, period_end) = load(&state, &ctx).await?;
    let Some(end) = period_end else {
        return Ok(flash_redirect(
            "/partner/avtal",
            FlashKind::Error,
            "Avtalet löper inte, så det finns inget att säga upp.",
        ));
    };
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    super::service::give_notice(&mut conn, partner_id, end, &by).await?;
    Ok(flash_redirect(
        "/partner/avtal",
        FlashKind::Success,
        &format!(
            "Avtalet är uppsagt och upphör {end}. Ni tjänar provision till och med den dagen och får ett slutunderlag."
        ),
    ))
}
