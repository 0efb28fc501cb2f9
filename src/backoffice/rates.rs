//! The Riksbank reference rate per half-year, entered and corrected by admins in the back office
//! (`/admin/referensranta`) or with `fordra set-reference-rate`. Every change is audited.
//!
//! A new or corrected rate changes the interest of every claim over that half-year: letters
//! already sent keep their snapshot, but statements are recomputed, and allocations of payments
//! booked in or after it are brought in line with correcting journal entries (as for a
//! back-dated direct payment). Letters held for the missing rate go out at the next engine pass.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::Form;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use chrono::NaiveDate;
use sqlx::PgConnection;

use super::service;
use crate::{
    auth::Role,
    auth::STAFF,
    domain::rules::{half_year_start, next_half_year, validate_rate_entry},
    parameters,
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/referensranta", get(page).post(save))
}

async fn rates_page(
    conn: &mut PgConnection,
    ctx: &Ctx,
    today: NaiveDate,
    form: RateForm,
    errors: FieldErrors,
) -> Result<RatesPage, AppError> {
    let rows = service::rate_rows(&mut *conn).await?;
    let params = parameters::load(conn).await?;
    let next = next_half_year(today);
    let mut choices = vec![next, half_year_start(today)];
    choices.extend(rows.iter().map(|r| r.valid_from).filter(|d| *d < half_year_start(today)));
    Ok(RatesPage {
        layout: ctx.layout(),
        margin: params.book.in_force(today).interest_margin,
        missing: params.rates.missing_half_year(today),
        rows,
        choices,
        form,
        errors,
        can_edit: ctx.user().is_some_and(|u| u.role == Role::Admin),
    })
}

async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let missing = state.parameters(&mut conn).await?.rates.missing_half_year(today);
    let form = RateForm {
        from: missing.unwrap_or_else(|| next_half_year(today)).to_string(),
        ..RateForm::default()
    };
    Ok(render(&rates_page(&mut conn, &ctx, today, form, FieldErrors::default()).await?))
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<RateForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let today = state.clock.today();
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let mut errors = FieldErrors::default();
    let from = crate::web::forms::parse_date(&form.from);
    let decided_on = crate::web::forms::parse_date(&form.decided_on);
    if from.is_none() {
        errors.add("from", "Välj halvår.");
    }
    if !form.decided_on.trim().is_empty() && decided_on.is_none() {
        errors.add("decided_on", "Ange datumet som ÅÅÅÅ-MM-DD.");
    }
    let source = form.source.trim().to_string();
    if source.is_empty() {
        errors.add(
            "source",
            "Ange källan, till exempel Riksbankens beslut eller tillkännagivandet i SFS.",
        );
    } else if source.chars().count() > 200 {
        errors.add("source", "Källan får vara högst 200 tecken.");
    }
    let entry = match from.map(|f| validate_rate_entry(&params.rates, f, &form.rate, today)) {
        Some(Ok(e)) => Some(e),
        Some(Err(list)) => {
            for (field, msg) in list {
                errors.add(field, msg);
            }
            None
        }
        None => None,
    };
    let Some(entry) = entry.filter(|_| errors.is_empty()) else {
        let page = rates_page(&mut conn, &ctx, today, form, errors).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let change = service::set_reference_rate(
        &mut conn,
        &entry,
        decided_on,
        &source,
        Some(user.id),
        Some(&ctx.ip),
        now,
        today,
    )
    .await?;
    state.params.invalidate();
    let what = match change.previous {
        Some(old) => format!(
            "Referensräntan för halvåret från {} är rättad från {} till {} %.",
            entry.valid_from,
            filters::comma_of(old),
            filters::comma_of(entry.percent)
        ),
        None => format!(
            "Referensräntan för halvåret från {} är {} %.",
            entry.valid_from,
            filters::comma_of(entry.percent)
        ),
    };
    Ok(flash_redirect(
        "/admin/referensranta",
        FlashKind::Success,
        &format!(
            "{what} {} {} räknades om; brev som väntade på räntan skickas vid nästa körning.",
            change.claims_recomputed,
            if change.claims_recomputed == 1 {
                "fordran med betalningar"
            } else {
                "fordringar med betalningar"
            }
        ),
    ))
}
