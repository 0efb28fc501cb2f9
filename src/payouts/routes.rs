//! Pages for money going out: settlement runs, refunds, payout batches (two admins over the
//! limit, pain.001), settlement notes for staff and creditors, and the creditor's payout account.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::Form;
use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use super::repo::{self, Note};
use super::service::{self as settlement, Destination, RefundOf, Step};
use crate::auth::access_log::{self, Accessor};
use crate::{auth::Role, auth::STAFF, domain::money::Sek, state::AppState, web::prelude::*};

const ADMIN: &[Role] = &[Role::Admin];

pub fn router() -> Router<AppState> {
    [Side::Staff, Side::Creditor]
        .into_iter()
        .fold(Router::new(), notes)
        .route("/admin/avrakningar", get(settlements_page))
        .route("/admin/avrakningar/kor", post(run_settlements))
        .route("/admin/aterbetalningar/{claim}", post(refund_claim))
        .route("/admin/betalningar/{id}/aterbetala", post(refund_payment))
        .route("/admin/utbetalningar", post(create_batch))
        .route("/admin/utbetalningar/{id}", get(batch_page))
        .route(
            "/admin/utbetalningar/{id}/godkann",
            post(|State(s), c, Path(id)| batch_step(s, c, id, Step::Approve)),
        )
        .route("/admin/utbetalningar/{id}/pain001", post(export_batch))
        .route(
            "/admin/utbetalningar/{id}/utford",
            post(|State(s), c, Path(id)| batch_step(s, c, id, Step::Execute)),
        )
        .route("/borgenar/avrakningar", get(creditor_settlements))
        .route("/borgenar/utbetalningskonto", get(account_page).post(change_account))
}

// ---------------------------------------------------------------------------------------------
// Settlements, refunds and payout batches

async fn settlements_view(state: &AppState, ctx: &Ctx) -> Result<SettlementsPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let settlements = repo::settlement_rows(&mut conn, None, Some(100)).await?;
    let open_payouts = repo::payouts(&mut conn, None).await?;
    let open_total = open_payouts.iter().map(|p| Sek::from_decimal(p.amount)).sum();
    let batches = repo::recent_batches(&mut conn, 50).await?;
    // Overpaid claims whose refund is not yet in a payout.
    let refunds = repo::refunds_owed(&mut conn, None).await?;
    if let Some(user) = ctx.user() {
        let shown: Vec<Uuid> = refunds.iter().map(|r| r.claim_id).collect();
        access_log::log_access_to(
            &mut conn,
            Accessor::User(user),
            &shown,
            "återbetalningar att göra",
            state.clock.now(),
        )
        .await?;
    }
    let params = state.parameters(&mut conn).await?;
    let rules = params.book.in_force(state.clock.today());
    Ok(SettlementsPage {
        layout: ctx.layout(),
        settlements,
        open_payouts,
        open_total,
        batches,
        refunds,
        refund_errors: None,
        interval: rules.settlement_interval_days,
        dual_over: rules.payout_dual_approval_over,
        is_admin: ctx.user().is_some_and(|u| u.role == Role::Admin),
    })
}

async fn settlements_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    Ok(render(&settlements_view(&state, &ctx).await?))
}

async fn run_settlements(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let report = settlement::run_by_admin(&mut conn, &params, &by).await?;
    let mut message = if report.settlements.is_empty() {
        "Det fanns inget inbetalt kapital att avräkna.".to_string()
    } else {
        match report.settlements.len() {
            1 => format!(
                "1 avräkning på {} är skapad och väntar på utbetalningsuppdrag.",
                report.total
            ),
            n => format!(
                "{n} avräkningar på sammanlagt {} är skapade och väntar på utbetalningsuppdrag.",
                report.total
            ),
        }
    };
    if !report.without_account.is_empty() {
        message.push_str(&format!(
            " Saknar utbetalningskonto: {}.",
            report.without_account.join(", ")
        ));
    }
    Ok(flash_redirect("/admin/avrakningar", FlashKind::Success, &message))
}

async fn refund_claim(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(claim): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let claim_id = path_id(&claim)?;
    let mut errors = FieldErrors::default();
    let Some(dest) = refund_destination(&form, None, &mut errors) else {
        let mut page = settlements_view(&state, &ctx).await?;
        page.refund_errors = Some((claim_id, errors));
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let mut conn = state.db.acquire().await?;
    match settlement::refund(&mut conn, RefundOf::Claim(claim_id), &dest, &by).await {
        Ok(amount) => Ok(flash_redirect(
            "/admin/avrakningar",
            FlashKind::Success,
            &format!("{amount} återbetalas till {}.", dest.display()),
        )),
        Err(e) => Ok(flash_redirect("/admin/avrakningar", FlashKind::Error, &e.to_string())),
    }
}

async fn create_batch(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let batch = settlement::create_batch(&mut conn, &params, &by).await?;
    Ok(match batch {
        Some(id) => flash_redirect(
            &format!("/admin/utbetalningar/{id}"),
            FlashKind::Success,
            "Utbetalningsuppdraget är skapat och väntar på godkännande.",
        ),
        None => flash_redirect(
            "/admin/avrakningar",
            FlashKind::Info,
            "Det finns inga utbetalningar att lägga i ett uppdrag.",
        ),
    })
}

async fn batch_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let id = path_id(&id)?;
    let mut conn = state.db.acquire().await?;
    let b = repo::find_batch(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let payouts = repo::payouts(&mut conn, Some(id)).await?;
    Ok(render(&BatchPage {
        layout: ctx.layout(),
        b,
        payouts,
        user_id: user.id,
        is_admin: user.role == Role::Admin,
    }))
}

/// Approving a batch, or marking it executed by the bank.
async fn batch_step(
    state: AppState,
    ctx: Ctx,
    id: String,
    step: Step,
) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let id = path_id(&id)?;
    let mut conn = state.db.acquire().await?;
    let outcome = settlement::batch_step(&mut conn, id, step, &by).await?;
    Ok(flash_outcome(&format!("/admin/utbetalningar/{id}"), outcome))
}

async fn export_batch(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let id = path_id(&id)?;
    let mut conn = state.db.acquire().await?;
    let outcome = settlement::export(&mut conn, id, &state.config.identity, &by).await?;
    Ok(match outcome {
        Ok((name, xml)) => (
            [
                (header::CONTENT_TYPE, "application/xml; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            xml,
        )
            .into_response(),
        Err(m) => flash_redirect(&format!("/admin/utbetalningar/{id}"), FlashKind::Error, m),
    })
}

// ---------------------------------------------------------------------------------------------
// Settlement notes (staff and creditor)

/// Whose settlement notes a page shows: staff see every note (each reading is access-logged),
/// a creditor only its own.
#[derive(Clone, Copy)]
enum Side {
    Staff,
    Creditor,
}

impl Side {
    fn base(self) -> &'static str {
        match self {
            Side::Staff => "/admin/avrakningar",
            Side::Creditor => "/borgenar/avrakningar",
        }
    }
}

/// A note's page and its files, under the side's base path.
fn notes(r: Router<AppState>, side: Side) -> Router<AppState> {
    let base = side.base();
    r.route(&format!("{base}/{{id}}"), get(move |State(s), c, Path(id)| note_page(s, c, side, id)))
        .route(
            &format!("{base}/{{id}}/{{format}}"),
            get(move |State(s), c, Path(p)| note_file(s, c, side, p)),
        )
}

async fn open_note(state: &AppState, ctx: &Ctx, side: Side, id: &str) -> Result<Note, AppError> {
    let (creditor, staff) = match side {
        Side::Staff => (None, Some(ctx.require(STAFF)?)),
        Side::Creditor => (Some(ctx.require_creditor()?.1), None),
    };
    let id = path_id(id)?;
    let mut conn = state.db.acquire().await?;
    let n = repo::note(&mut conn, id, creditor).await?.ok_or(AppError::NotFound)?;
    if let Some(user) = staff {
        let shown: Vec<Uuid> = n.lines.iter().map(|l| l.claim_id).collect();
        let now = state.clock.now();
        access_log::log_access_to(&mut conn, Accessor::User(user), &shown, "avräkningsnota", now)
            .await?;
    }
    Ok(n)
}

async fn note_page(
    state: AppState,
    ctx: Ctx,
    side: Side,
    id: String,
) -> Result<Response, AppError> {
    let n = open_note(&state, &ctx, side, &id).await?;
    Ok(render(&NotePage {
        layout: ctx.layout(),
        n,
        base: side.base(),
        staff: matches!(side, Side::Staff),
    }))
}

async fn note_file(
    state: AppState,
    ctx: Ctx,
    side: Side,
    (id, format): (String, String),
) -> Result<Response, AppError> {
    let n = open_note(&state, &ctx, side, &id).await?;
    let (bytes, mime, ext) = match format.as_str() {
        "pdf" => (settlement::note_pdf(&n, &state.config.identity), "application/pdf", "pdf"),
        "csv" => (settlement::note_csv(&n), "text/csv; charset=utf-8", "csv"),
        _ => return Err(AppError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"avrakning-{}.{ext}\"", n.number),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn creditor_settlements(
    State(state): State<AppState>,
    ctx: Ctx,
) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let settlements = repo::settlement_rows(&mut conn, Some(creditor_id), None).await?;
    let to_settle = repo::to_settle(&mut conn, creditor_id).await?;
    let account = repo::payout_account(&mut conn, creditor_id, state.clock.today())
        .await?
        .map(|(d, _)| d.display());
    Ok(render(&CreditorSettlementsPage { layout: ctx.layout(), settlements, to_settle, account }))
}

// ---------------------------------------------------------------------------------------------
// The creditor's payout account

async fn account_view(
    state: &AppState,
    ctx: &Ctx,
    creditor_id: Uuid,
) -> Result<AccountPage, AppError> {
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let current =
        repo::payout_account(&mut conn, creditor_id, today).await?.map(|(d, _)| d.display());
    let pending = repo::pending_account(&mut conn, creditor_id, today)
        .await?
        .map(|(d, from)| (d.display(), from));
    let params = state.parameters(&mut conn).await?;
    Ok(AccountPage {
        layout: ctx.layout(),
        current,
        pending,
        delay: params.book.in_force(today).payout_account_delay_bank_days,
        can_change: ctx.user().is_some_and(|u| u.creditor_owner),
        errors: FieldErrors::default(),
        kind: "bankgiro".into(),
        bankgiro: String::new(),
        clearing: String::new(),
        account: String::new(),
    })
}

async fn account_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    Ok(render(&account_view(&state, &ctx, creditor_id).await?))
}

#[derive(Deserialize)]
struct AccountForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    bankgiro: String,
    #[serde(default)]
    clearing: String,
    #[serde(default)]
    account: String,
}

async fn change_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<AccountForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor_owner()?;
    let mut errors = FieldErrors::default();
    let dest = if form.kind == "bank_account" {
        Destination::bank_account(&form.clearing, &form.account)
            .map_err(|e| errors.add(e.field(), e.to_string()))
            .ok()
    } else {
        Destination::bankgiro(&form.bankgiro)
            .map_err(|e| errors.add("bankgiro", e.to_string()))
            .ok()
    };
    let Some(dest) = dest else {
        let mut page = account_view(&state, &ctx, creditor_id).await?;
        page.errors = errors;
        page.kind = form.kind;
        page.bankgiro = form.bankgiro;
        page.clearing = form.clearing;
        page.account = form.account;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let from =
        settlement::change_payout_account(&mut conn, creditor_id, &dest, &params, &by).await?;
    Ok(flash_redirect(
        "/borgenar/utbetalningskonto",
        FlashKind::Success,
        &format!(
            "Det nya utbetalningskontot {} gäller från {from}. Till dess betalar vi ut till det nuvarande kontot.",
            dest.display()
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// Refunding an unmatched payment

#[derive(Deserialize)]
struct RefundForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    clearing: String,
    #[serde(default)]
    account: String,
}

/// The destination a refund form asks for: the payer's own account from the bank file, or a
/// clearing and account number typed by staff.
fn refund_destination(
    form: &RefundForm,
    payer_account: Option<&str>,
    errors: &mut FieldErrors,
) -> Option<Destination> {
    if form.to == "payer"
        && let Some(acc) = payer_account
    {
        if let Some(bg) = acc.strip_prefix("BG ") {
            return Destination::bankgiro(bg).ok().or_else(|| {
                errors
                    .add("account", "Betalarens bankgironummer kan inte användas; ange ett konto.");
                None
            });
        }
        return Some(Destination { account: super::pain001::Account::Iban(acc.to_string()) });
    }
    Destination::bank_account(&form.clearing, &form.account)
        .map_err(|e| errors.add(e.field(), e.to_string()))
        .ok()
}

async fn refund_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<RefundForm>,
) -> Result<Response, AppError> {
    let by = ctx.acting(ctx.require(ADMIN)?, &state.clock);
    let payment_id = path_id(&id)?;
    let mut page =
        crate::payments::web::payment_view(&state, &ctx, payment_id, String::new()).await?;
    let mut errors = FieldErrors::default();
    let dest = refund_destination(&form, page.p.payer_account.as_deref(), &mut errors);
    let Some(dest) = dest else {
        page.errors = errors;
        page.clearing = form.clearing;
        page.account = form.account;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let back = format!("/admin/betalningar/{payment_id}");
    let mut conn = state.db.acquire().await?;
    match settlement::refund(&mut conn, RefundOf::Payment(payment_id), &dest, &by).await {
        Ok(amount) => Ok(flash_redirect(
            &back,
            FlashKind::Success,
            &format!(
                "{amount} återbetalas till {}. Utbetalningen kommer med nästa utbetalningsuppdrag.",
                dest.display()
            ),
        )),
        Err(e) => Ok(flash_redirect(&back, FlashKind::Error, &e.to_string())),
    }
}
