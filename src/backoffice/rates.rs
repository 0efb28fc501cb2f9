//! The Riksbank reference rate per half-year, entered and corrected by admins in the back office
//! (`/admin/referensranta`) or with `fordra set-reference-rate`. Every change is audited.
//!
//! A new or corrected rate changes the interest of every claim over that half-year: letters
//! already sent keep their snapshot, but statements are recomputed, and allocations of payments
//! booked in or after it are brought in line with correcting journal entries (as for a
//! back-dated direct payment). Letters held for the missing rate go out at the next engine pass.

use crate::auth::Ctx;
use crate::web::extract::Form;
use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    auth::STAFF,
    auth::{Role, audit},
    domain::rules::{RateEntry, half_year_start, next_half_year, validate_rate_entry},
    parameters,
    payments::ledger,
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/referensranta", get(page).post(save))
}

/// What entering a rate changed.
#[derive(Debug, Default)]
pub struct RateChange {
    /// The rate it replaced (a correction), if any.
    pub previous: Option<Decimal>,
    /// Claims whose allocations were recomputed.
    pub claims_recomputed: usize,
    /// Claims the engine looks at again today (letters held for the rate).
    pub claims_woken: u64,
}

/// Enters (or corrects) the rate of a half-year, in its own transaction (a savepoint inside a
/// caller's).
#[allow(clippy::too_many_arguments)]
pub async fn set_reference_rate(
    conn: &mut PgConnection,
    entry: &RateEntry,
    decided_on: Option<NaiveDate>,
    source: &str,
    user: Option<Uuid>,
    ip: Option<&str>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> anyhow::Result<RateChange> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let conn: &mut PgConnection = &mut tx;
    // One rate change at a time, and none while payments allocate.
    crate::payments::lock(conn, crate::payments::Lock::Payments).await?;
    let previous: Option<Decimal> =
        sqlx::query_scalar("select percent from reference_rate where valid_from = $1")
            .bind(entry.valid_from)
            .fetch_optional(&mut *conn)
            .await?;
    sqlx::query!("insert into reference_rate (valid_from, valid_to, percent, status, source, decided_on, updated_at, updated_by)
         values ($1, $2, $3, 'confirmed', $4, $5, $6, $7)
         on conflict (valid_from) do update set valid_to = excluded.valid_to, percent = excluded.percent,
             status = 'confirmed', source = excluded.source, decided_on = excluded.decided_on,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by", entry.valid_from, entry.valid_to, entry.percent, source, decided_on, now, user)
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        now,
        user,
        if previous.is_some() { "reference_rate_corrected" } else { "reference_rate_entered" },
        Some(&entry.valid_from.to_string()),
        serde_json::json!({"valid_from": entry.valid_from, "percent": entry.percent,
                           "previous": previous, "decided_on": decided_on, "source": source}),
        ip,
    )
    .await?;
    // Payments booked from the half-year on were allocated with the assumed or wrong rate.
    let params = parameters::load(conn).await?;
    let affected: Vec<Uuid> = sqlx::query_scalar(
        "select distinct claim_id from payment where claim_id is not null and kind = 'payment' and booked_on >= $1
         union
         select distinct claim_id from capital_reduction where on_date >= $1
         order by 1",
    )
    .bind(entry.valid_from)
    .fetch_all(&mut *conn)
    .await?;
    for chunk in affected.chunks(500) {
        ledger::sync_claims(conn, chunk, &params, today, now, user).await?;
    }
    // Letters held for the rate were put off to tomorrow; they may go out today.
    let woken = sqlx::query!(
        "update claim set next_action_on = $1
         where next_action_on > $1 and next_action_on <= $1 + 1
           and state in ('registered', 'reminder', 'collection', 'final_notice')",
        today
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(RateChange { previous, claims_recomputed: affected.len(), claims_woken: woken })
}

#[derive(FromRow)]
struct RateRow {
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    percent: Decimal,
    status: String,
    source: String,
    decided_on: Option<NaiveDate>,
    updated_at: Option<DateTime<Utc>>,
}

impl RateRow {
    fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "confirmed" => "Fastställd",
            "derived" => "Härledd",
            _ => "Ej kontrollerad",
        }
    }

    /// Dröjsmålsränta: the rate plus the margin of the rule set in force then.
    fn late_rate(&self, margin: &Decimal) -> Decimal {
        self.percent + margin
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct RateForm {
    from: String,
    rate: String,
    decided_on: String,
    source: String,
}

#[derive(Template)]
#[template(path = "backoffice/rates.html")]
struct RatesPage {
    layout: Layout,
    rows: Vec<RateRow>,
    margin: Decimal,
    missing: Option<NaiveDate>,
    /// Half-years that may be entered now (the current and the coming one, and corrections).
    choices: Vec<NaiveDate>,
    form: RateForm,
    errors: FieldErrors,
    can_edit: bool,
}

async fn rates_page(
    conn: &mut PgConnection,
    ctx: &Ctx,
    today: NaiveDate,
    form: RateForm,
    errors: FieldErrors,
) -> Result<RatesPage, AppError> {
    let rows: Vec<RateRow> = sqlx::query_as(
        "select valid_from, valid_to, percent, status, source, decided_on, updated_at
         from reference_rate order by valid_from desc",
    )
    .fetch_all(&mut *conn)
    .await?;
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
    let change = set_reference_rate(
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
