//! Back-office pages for money coming in: bank files, unmatched payments and matching by hand,
//! covered bank days, and the demo's payment simulator.

use super::views::*;
use std::path::PathBuf;

use crate::auth::Ctx;
use crate::web::extract::{Form, Query, upload_failure};
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    import::{ImportError, import_file},
    ledger::{self},
    service, simulator,
};
use crate::auth::access_log::{self, Accessor};
use crate::{
    auth::Role,
    auth::STAFF,
    claims::{self, ClaimRecord},
    domain::{calendar, ids::IdNumber, money::Sek},
    state::AppState,
    web::prelude::*,
};

const ADMIN: &[Role] = &[Role::Admin];
const MAX_BANK_FILE: usize = 256 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/betalningar", get(overview))
        .route("/admin/betalningar/fil", post(upload).layer(DefaultBodyLimit::max(MAX_BANK_FILE)))
        .route("/admin/betalningar/omatchade", get(unmatched))
        .route("/admin/betalningar/{id}", get(payment_page))
        .route("/admin/betalningar/{id}/koppla", post(match_payment))
        .route("/admin/betalningar/{id}/ta-bort", post(reverse_payment))
        .route("/admin/bankdagar", post(mark_day))
        .route("/admin/betalningssimulator", get(simulator_page).post(simulate))
}

// ---------------------------------------------------------------------------------------------
// Bank files

async fn overview_page(state: &AppState, ctx: &Ctx) -> Result<OverviewPage, AppError> {
    let previous_bank_day = calendar::previous_bank_day(state.clock.today());
    let mut conn = state.db.acquire().await?;
    let service::Overview { files, covered, unmatched_count, unmatched_total, balances } =
        service::overview(&mut conn, previous_bank_day).await?;
    Ok(OverviewPage {
        layout: ctx.layout(),
        files,
        upload_error: None,
        gate_enabled: state.config.freshness_gate,
        previous_bank_day,
        covered,
        unmatched_count,
        unmatched_total,
        balances,
        day_errors: FieldErrors::default(),
        day: previous_bank_day.to_string(),
        note: String::new(),
        is_admin: ctx.user().is_some_and(|u| u.role == Role::Admin),
        demo: state.config.demo,
    })
}

async fn overview(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    Ok(render(&overview_page(&state, &ctx).await?))
}

/// Saves an upload to a temporary file chunk by chunk (a bank file can be large).
async fn receive_file(
    state: &AppState,
    multipart: &mut Multipart,
) -> Result<Option<(String, PathBuf)>, (StatusCode, String)> {
    use tokio::io::AsyncWriteExt;
    let dir = state.config.data_dir.join("uploads");
    let io = |e: std::io::Error| {
        tracing::error!(error = %e, "saving an upload failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Filen kunde inte sparas. Försök igen om en stund.".to_string(),
        )
    };
    tokio::fs::create_dir_all(&dir).await.map_err(io)?;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            Err(e) => return Err(upload_failure(&e, MAX_BANK_FILE / 1024 / 1024)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("bankfil").to_string();
        let path = dir.join(format!("{}.upload", Uuid::new_v4()));
        let mut out = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut size = 0usize;
        loop {
            match field.chunk().await {
                Ok(Some(bytes)) => {
                    size += bytes.len();
                    if let Err(e) = out.write_all(&bytes).await {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(io(e));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(upload_failure(&e, MAX_BANK_FILE / 1024 / 1024));
                }
            }
        }
        let _ = out.flush().await;
        if size == 0 {
            let _ = tokio::fs::remove_file(&path).await;
            return Ok(None);
        }
        return Ok(Some((name, path)));
    }
}

fn import_message(r: &super::import::Imported) -> String {
    let mut m = format!(
        "{} med {} betalningar på sammanlagt {} är inläst: {} kopplade med OCR, {} till kön för omatchade.",
        r.format.label(),
        r.count,
        r.total,
        r.matched,
        r.unmatched
    );
    if r.paid_claims > 0 {
        m.push_str(&format!(" {} ärenden är nu helt betalda.", r.paid_claims));
    }
    if r.overpaid_claims > 0 {
        m.push_str(&format!(" {} ärenden är överbetalda och ska återbetalas.", r.overpaid_claims));
    }
    m
}

async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let user = ctx.require(ADMIN)?;
    let received = receive_file(&state, &mut multipart).await;
    let (state, ctx) = (&state, &ctx);
    let refuse = |status: StatusCode, message: String| async move {
        let mut page = overview_page(state, ctx).await?;
        page.upload_error = Some(message);
        Ok::<Response, AppError>(render_status(status, &page))
    };
    let (name, path) = match received {
        Ok(Some(f)) => f,
        Ok(None) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Välj en bankfil (camt.054 eller BgMax) att läsa in.".into(),
            )
            .await;
        }
        Err((status, e)) => return refuse(status, e).await,
    };
    match import_received(state, &path, &name, user.id).await? {
        Ok(message) => Ok(flash_redirect(
            "/admin/betalningar",
            FlashKind::Success,
            &format!("{name}: {message}"),
        )),
        Err(e) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, format!("{name} lästes inte in. {e}")).await
        }
    }
}

/// Imports a received file and removes it: what was imported, or why the file was refused.
async fn import_received(
    state: &AppState,
    path: &std::path::Path,
    name: &str,
    user_id: Uuid,
) -> Result<Result<String, String>, AppError> {
    let result = import_file(
        &state.db,
        path,
        name,
        &state.config.identity,
        Some(user_id),
        state.clock.now(),
        state.clock.today(),
    )
    .await;
    let _ = tokio::fs::remove_file(path).await;
    match result {
        Ok(r) => Ok(Ok(import_message(&r))),
        Err(ImportError::Other(e)) => Err(AppError::Internal(e)),
        Err(e) => Ok(Err(e.to_string())),
    }
}

#[derive(Deserialize)]
struct DayForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    note: String,
}

async fn mark_day(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<DayForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(ADMIN)?;
    let today = state.clock.today();
    let mut errors = FieldErrors::default();
    let note = form.note.trim().to_string();
    let day = match crate::web::forms::parse_date(&form.day) {
        None => {
            errors.add("day", "Ange dagen som ÅÅÅÅ-MM-DD.");
            None
        }
        Some(d) if d >= today => {
            errors.add("day", "Bara en dag som har passerat kan markeras.");
            None
        }
        Some(d) if !calendar::is_bank_day(d) => {
            errors.add("day", "Dagen är ingen bankdag; den behöver ingen markering.");
            None
        }
        Some(d) => Some(d),
    };
    if note.is_empty() {
        errors.add("note", "Skriv varför ingen fil kommer (till exempel besked från banken).");
    } else if note.chars().count() > 300 {
        errors.add("note", "Högst 300 tecken.");
    }
    let Some(day) = day.filter(|_| errors.is_empty()) else {
        let mut page = overview_page(&state, &ctx).await?;
        page.day_errors = errors;
        page.day = form.day;
        page.note = note;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let mut conn = state.db.acquire().await?;
    let now = state.clock.now();
    if !service::mark_day_without_file(&mut conn, day, &note, user.id, &ctx.ip, now).await? {
        return Ok(flash_redirect(
            "/admin/betalningar",
            FlashKind::Info,
            &format!("{day} är redan täckt."),
        ));
    }
    Ok(flash_redirect(
        "/admin/betalningar",
        FlashKind::Success,
        &format!("{day} är markerad som bankdag utan fil. Påminnelsekedjan kan fortsätta."),
    ))
}

// ---------------------------------------------------------------------------------------------
// Unmatched payments and manual matching

#[derive(Deserialize, Default)]
struct Search {
    #[serde(default)]
    q: String,
}

/// `1 234,50`, `1234.50` or `1234` as an amount, for searches.
fn amount_query(q: &str) -> Option<Decimal> {
    Sek::parse(q).ok().map(|s| s.amount())
}

async fn unmatched(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(search): Query<Search>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let q = search.q.trim().to_string();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let today = state.clock.today();
    let refund_days = params.book.in_force(today).unmatched_refund_bank_days;
    let refund_after = calendar::sub_bank_days(today, refund_days);
    let rows = service::unmatched(&mut conn, &q, amount_query(&q)).await?;
    Ok(render(&UnmatchedPage { layout: ctx.layout(), q, rows, refund_after, refund_days }))
}

#[derive(Deserialize, Default)]
struct CandidateSearch {
    #[serde(default)]
    q: String,
}

pub(crate) async fn payment_view(
    state: &AppState,
    ctx: &Ctx,
    id: Uuid,
    q: String,
) -> Result<PaymentPage, AppError> {
    let mut conn = state.db.acquire().await?;
    let (p, claim_case) = service::payment(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let q = q.trim().to_string();
    let searched = !q.is_empty();
    let candidates = if searched {
        let id_number =
            IdNumber::parse(&q, state.clock.today()).ok().map(|n| n.as_str().to_string());
        let digits: String = q.chars().filter(char::is_ascii_digit).collect();
        service::candidates(&mut conn, &q, id_number, &digits, amount_query(&q)).await?
    } else {
        vec![]
    };
    if let Some(user) = ctx.user() {
        let shown: Vec<Uuid> = candidates.iter().map(|c: &ClaimRecord| c.claim_id).collect();
        access_log::log_access_to(
            &mut conn,
            Accessor::User(user),
            &shown,
            "sökträffar för en inbetalning",
            state.clock.now(),
        )
        .await?;
    }
    Ok(PaymentPage {
        layout: ctx.layout(),
        p,
        claim_case,
        q,
        candidates,
        searched,
        errors: FieldErrors::default(),
        clearing: String::new(),
        account: String::new(),
        is_admin: ctx.user().is_some_and(|u| u.role == Role::Admin),
    })
}

async fn payment_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(search): Query<CandidateSearch>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let id = path_id(&id)?;
    Ok(render(&payment_view(&state, &ctx, id, search.q).await?))
}

#[derive(Deserialize)]
struct MatchForm {
    #[serde(default)]
    claim_id: String,
}

async fn match_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<MatchForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(ADMIN)?;
    let payment_id = path_id(&id)?;
    let back = format!("/admin/betalningar/{payment_id}");
    let Ok(claim_id) = Uuid::parse_str(&form.claim_id) else {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Välj ett ärende att koppla betalningen till.",
        ));
    };
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let (amount, case_number, report) =
        match service::match_by_hand(&mut conn, &state.params, payment_id, claim_id, &by).await? {
            Ok(done) => done,
            Err(message) => return Ok(flash_redirect(&back, FlashKind::Error, message)),
        };
    let mut message = format!("Betalningen på {amount} är kopplad till ärende {}.", case_number);
    if !report.paid.is_empty() {
        message.push_str(" Ärendet är nu helt betalt.");
    }
    if !report.overpaid.is_empty() {
        message.push_str(" Ärendet är överbetalt; överskottet ska återbetalas.");
    }
    Ok(flash_redirect(&back, FlashKind::Success, &message))
}

#[derive(Deserialize)]
struct ReverseForm {
    #[serde(default)]
    reason: String,
}

/// An admin takes a matched payment off its claim, with a reason.
async fn reverse_payment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReverseForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(ADMIN)?;
    let payment_id = path_id(&id)?;
    let back = format!("/admin/betalningar/{payment_id}");
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let outcome =
        service::reverse_match(&mut conn, &state.params, payment_id, &form.reason, &by).await?;
    Ok(match outcome {
        Ok((amount, case)) => flash_redirect(
            &back,
            FlashKind::Success,
            &format!(
                "Betalningen på {amount} är borttagen från ärende {case} och ligger bland de omatchade. Ärendets fördelning är omräknad."
            ),
        ),
        Err(message) => flash_redirect(&back, FlashKind::Error, message),
    })
}

// ---------------------------------------------------------------------------------------------
// The payment simulator (demo mode)

async fn simulator_view(state: &AppState, ctx: &Ctx) -> Result<SimulatorPage, AppError> {
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let recs = crate::claims::repo::open_claims(&mut conn, 50).await?;
    let params = state.parameters(&mut conn).await?;
    let statements = ledger::statements(&mut conn, &recs, &params, today).await?;
    if let Some(user) = ctx.user() {
        let shown: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
        access_log::log_access_to(
            &mut conn,
            Accessor::User(user),
            &shown,
            "betalningssimulatorn",
            state.clock.now(),
        )
        .await?;
    }
    let claims = recs
        .into_iter()
        .map(|r| {
            let balance = statements.get(&r.claim_id).map(|s| s.balance).unwrap_or_default();
            (r, balance)
        })
        .collect();
    Ok(SimulatorPage {
        layout: ctx.layout(),
        claims,
        day: calendar::previous_bank_day(today.succ_opt().unwrap_or(today)).to_string(),
        error: None,
    })
}

async fn simulator_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(ADMIN)?;
    if !state.config.demo {
        return Err(AppError::NotFound);
    }
    Ok(render(&simulator_view(&state, &ctx).await?))
}

async fn simulate(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let user = ctx.require(ADMIN)?;
    if !state.config.demo {
        return Err(AppError::NotFound);
    }
    let get =
        |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let refuse = |message: String| async {
        let mut page = simulator_view(&state, &ctx).await?;
        page.error = Some(message);
        Ok::<Response, AppError>(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    let Some(day) = crate::web::forms::parse_date(&get("day")) else {
        return refuse("Ange bokföringsdagen som ÅÅÅÅ-MM-DD.".into()).await;
    };
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let mut items = vec![];
    for (key, how) in &fields {
        let Some(id) = key.strip_prefix("pay.") else {
            continue;
        };
        if how.is_empty() {
            continue;
        }
        let Ok(id) = Uuid::parse_str(id) else {
            continue;
        };
        let Some(rec) = claims::find(&mut conn, id, None).await? else {
            continue;
        };
        let s = claims::load_statement(&mut conn, &rec, &params, day.max(today)).await?;
        let (reference, amount) = match how.as_str() {
            "full" => (rec.ocr.clone(), s.balance),
            "part" => (
                rec.ocr.clone(),
                Sek::from_decimal((s.balance.amount() / Decimal::from(2)).round_dp(0)),
            ),
            "over" => (rec.ocr.clone(), s.balance + Sek::kronor(100)),
            "wrong_ocr" => {
                let mut wrong = rec.ocr.clone();
                let last = wrong.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                wrong.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
                (wrong, s.balance)
            }
            _ => continue,
        };
        if amount.is_positive() {
            items.push(simulator::Item::new(&reference, amount, &rec.debtor_name));
        }
    }
    drop(conn);
    if items.is_empty() {
        return refuse("Välj minst ett ärende och hur det ska betalas.".into()).await;
    }
    let now = state.clock.now();
    let serial = (now.timestamp() % 100_000) as u32;
    let (name, bytes) = if get("format") == "bgmax" {
        (
            format!("simulator-{day}-{serial}.bgmax"),
            simulator::bgmax(&state.config.identity.bankgiro, day, serial, &items),
        )
    } else {
        let id = format!("SIM-{}", Uuid::new_v4().simple());
        (
            format!("simulator-{day}-{serial}.xml"),
            simulator::camt054(&state.config.identity.iban, &id, day, &items).into_bytes(),
        )
    };
    let dir = state.config.data_dir.join("uploads");
    let path = dir.join(format!("{}.sim", Uuid::new_v4()));
    tokio::fs::create_dir_all(&dir)
        .await
        .and(tokio::fs::write(&path, &bytes).await)
        .map_err(anyhow::Error::from)?;
    match import_received(&state, &path, &name, user.id).await? {
        Ok(message) => Ok(flash_redirect(
            "/admin/betalningar",
            FlashKind::Success,
            &format!("Simulerad fil {name}: {message}"),
        )),
        Err(e) => refuse(format!("Den simulerade filen lästes inte in: {e}")).await,
    }
}
