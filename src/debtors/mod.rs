//! Mina sidor: the debtor's own pages after BankID login. A debtor sees the cases on their
//! personnummer and those of companies they proved they represent (OCR + case code from a
//! letter). Every case lookup is scoped to the person in SQL: someone else's case is 404, never
//! 403, so nothing leaks about whether it exists.

pub mod contact;
pub mod gdpr;
pub mod login;
pub mod service;
mod views;

use crate::auth::Ctx;
use crate::web::extract::Form;
use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::NaiveDate;
use serde::Deserialize;
use uuid::Uuid;
use views::*;

use crate::auth::session::DebtorSession;
use crate::{
    claims::{self, ClaimRecord},
    config::Identity,
    domain::{
        lifecycle::{self, BlockReason, ClaimState, LastLetter},
        money::Sek,
        ocr,
    },
    parameters,
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(contact::router())
        .route("/mina-sidor/mina-uppgifter", get(my_data_page))
        .route("/mina-sidor/mina-uppgifter.json", get(my_data_json))
        .route("/mina-sidor", get(home))
        .route("/mina-sidor/foretag", post(add_company))
        .route("/mina-sidor/arenden/{id}", get(case_page))
}

/// What the debtor is told about why nothing happens automatically.
pub fn debtor_block_text(reason: BlockReason) -> &'static str {
    match reason {
        BlockReason::Disputed => {
            "Du har bestridit kravet. Inga nya steg tas medan invändningen utreds."
        }
        BlockReason::PaymentPlan => {
            "Du har en amorteringsplan. Inga nya steg tas så länge delbetalningarna kommer in."
        }
        BlockReason::Paid => "Ärendet är betalt.",
        BlockReason::Withdrawn => "Ärendet är avslutat.",
        BlockReason::WrittenOff => "Ärendet är avskrivet.",
        BlockReason::EnforcementReady => {
            "Tidsfristen har gått ut. Borgenären kan ansöka om betalningsföreläggande hos Kronofogden."
        }
        BlockReason::AwaitingDispatch => "Ett brev är på väg till dig.",
        _ => "Ärendet är pausat just nu. Inga nya steg tas.",
    }
}

pub fn next_step_text(state: ClaimState) -> &'static str {
    match state {
        ClaimState::Reminder => "Betalningspåminnelse skickas",
        ClaimState::Collection => "Inkassokrav skickas",
        ClaimState::FinalNotice => "Slutlig påminnelse skickas",
        ClaimState::EnforcementReady => "Ärendet kan lämnas till Kronofogden",
        _ => "",
    }
}

/// The next planned step and its date for the debtor, or why nothing happens automatically.
fn outlook(
    c: &ClaimRecord,
    letter: Option<LastLetter>,
    params: &parameters::Parameters,
    today: NaiveDate,
) -> Result<Option<(&'static str, NaiveDate)>, &'static str> {
    match lifecycle::plan(&c.snapshot(letter), today, params.book.in_force(today)) {
        Ok(steps) => Ok(steps.first().map(|(st, d)| (next_step_text(*st), *d))),
        Err(r) => Err(debtor_block_text(r)),
    }
}

// --- The list -----------------------------------------------------------------------------------

pub struct CaseRow {
    pub c: ClaimRecord,
    pub balance: Sek,
    pub next: String,
}

async fn home_page(
    state: &AppState,
    ctx: &Ctx,
    me: &DebtorSession,
    errors: FieldErrors,
    input: (String, String),
) -> Result<HomePage, AppError> {
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let recs = claims::web::visible_claims(&mut conn, &me.personal_number).await?;
    // Three queries for the whole list, however many cases the person has.
    let mut statements = claims::load_statements(&mut conn, &recs, &params, today).await?;
    let letters = claims::current_letters_of(&mut conn, &recs).await?;
    let mut open = Vec::new();
    let mut closed = Vec::new();
    for c in recs {
        let Some(s) = statements.remove(&c.claim_id) else { continue };
        let letter = letters.get(&c.claim_id).copied();
        let next = match outlook(&c, letter, &params, today) {
            Ok(Some((step, d))) => format!("{step} {d} om du inte betalar"),
            Ok(None) => String::new(),
            Err(why) => why.to_string(),
        };
        let row = CaseRow { balance: s.balance, next, c };
        if row.c.state().is_terminal() {
            closed.push(row);
        } else {
            open.push(row);
        }
    }
    let companies = service::companies(&mut conn, &me.personal_number).await?;
    Ok(HomePage {
        layout: ctx.layout(),
        name: me.name(),
        open,
        closed,
        companies: companies
            .into_iter()
            .map(|(id, name)| (crate::domain::ids::IdNumber::from_stored(&id).display(), name))
            .collect(),
        errors,
        ocr: input.0,
        case_code: input.1,
    })
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    Ok(render(&home_page(&state, &ctx, me, FieldErrors::default(), Default::default()).await?))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CompanyForm {
    ocr: String,
    case_code: String,
}

/// A company's representative adds its case with the OCR and case code printed on the letter
/// (proof of possession). Rate-limited like the public letter check; audited.
async fn add_company(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<CompanyForm>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let ocr_in: String = form.ocr.chars().filter(|c| !c.is_whitespace()).collect();
    let code: String = form
        .case_code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase();
    let mut errors = FieldErrors::default();
    if let Err(e) = ocr::validate(&ocr_in) {
        errors.add("ocr", e.to_string());
    }
    if code.len() != 8 {
        errors
            .add("case_code", "Kontrollkoden har åtta tecken och står under OCR-numret i brevet.");
    }
    if errors.is_empty() {
        let mut conn = state.db.acquire().await?;
        let now = state.clock.now();
        let person = &me.personal_number;
        match service::add_company(&mut conn, person, &ocr_in, &code, &ctx.ip, now).await? {
            Ok(claim_id) => {
                return Ok(flash_redirect(
                    &format!("/mina-sidor/arenden/{claim_id}"),
                    FlashKind::Success,
                    "Företagets ärende är tillagt. Du ser nu alla företagets ärenden hos Fordra.",
                ));
            }
            Err(message) => errors.add("ocr", message),
        }
    }
    let page = home_page(&state, &ctx, me, errors, (ocr_in, code)).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// --- A case -------------------------------------------------------------------------------------

/// The payment the debtor is asked for now.
struct PayNow {
    ocr: String,
    amount: Sek,
    due: Option<NaiveDate>,
    /// The instalment's number and how many the plan has.
    instalment: Option<(usize, usize)>,
}

/// The data of a Swedish invoice payment QR code (the UsingQR format, revision 2, which Swedish
/// bank apps read): payee, bankgiro, OCR, amount and due date.
pub fn payment_qr(identity: &Identity, ocr: &str, amount: Sek, due: Option<NaiveDate>) -> String {
    let org: String = identity.org_nr.chars().filter(char::is_ascii_digit).collect();
    let mut s = format!(
        "{{\"uqr\":1,\"tp\":1,\"nme\":{},\"cc\":\"SE\",\"cid\":\"{org}\",\"iref\":\"{ocr}\"",
        serde_json::to_string(&identity.name).unwrap_or_default()
    );
    if let Some(d) = due {
        s.push_str(&format!(",\"ddt\":\"{}\"", d.format("%Y%m%d")));
    }
    s.push_str(&format!(
        ",\"due\":{},\"cur\":\"SEK\",\"pt\":\"BG\",\"acc\":\"{}\"}}",
        amount.to_plain(),
        identity.bankgiro
    ));
    s
}

async fn case_page_data(
    state: &AppState,
    ctx: &Ctx,
    me: &DebtorSession,
    id: &str,
    errors: FieldErrors,
) -> Result<CasePage, AppError> {
    let today = state.clock.today();
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let mut conn = state.db.acquire().await?;
    let view =
        claims::load_view(&mut conn, claims::Scope::Person(&me.personal_number), id, false, None)
            .await?
            .ok_or(AppError::NotFound)?;
    let params = state.parameters(&mut conn).await?;
    let s = view.statement(&params, today)?;
    let letter = view.current_letter();
    let claims::ClaimView { rec: c, letters, books, refund_account, has_dispute, has_plan, .. } =
        view;
    let (next, blocked) = match outlook(&c, letter, &params, today) {
        Ok(next) => (next, None),
        Err(why) => (None, Some(why)),
    };
    // The debtor sees the letters that went out.
    let letters: Vec<claims::LetterSummary> =
        letters.into_iter().filter(|l| l.dispatched_on.is_some()).collect();
    let dispute =
        if has_dispute { crate::disputes::latest(&mut conn, c.claim_id).await? } else { None };
    let plan = if has_plan { crate::plans::latest(&mut conn, c.claim_id).await? } else { None };
    let deadline = letters.iter().rev().find_map(|l| l.deadline);
    let payable = !c.state().is_terminal() && s.balance.is_positive();
    // With a running plan the debtor pays the next instalment with its own OCR, not the debt.
    let pay = match plan.as_ref().filter(|p| p.plan.status == "active") {
        Some(p) => {
            let paid_since: Sek = s
                .payments
                .iter()
                .filter(|l| p.plan.started_on.is_some_and(|start| l.booked >= start))
                .map(|l| l.amount)
                .sum();
            p.next_instalment(paid_since).map(|(n, i)| PayNow {
                ocr: i.ocr.clone(),
                amount: Sek::from_decimal(i.amount) - p.covered_of(n, paid_since),
                due: Some(i.due_date),
                instalment: Some((n, p.instalments.len())),
            })
        }
        None => None,
    }
    .unwrap_or(PayNow {
        ocr: c.ocr.clone(),
        amount: s.balance,
        due: deadline.filter(|d| *d >= today),
        instalment: None,
    });
    let qr_text = if payable {
        payment_qr(&state.config.identity, &pay.ocr, pay.amount, pay.due)
    } else {
        String::new()
    };
    Ok(CasePage {
        pay,
        layout: ctx.layout(),
        qr_svg: if payable {
            crate::web::qr::svg_cached(&qr_text).to_string()
        } else {
            String::new()
        },
        qr_text,
        fees: s.fees.iter().filter(|f| !f.cancelled).cloned().collect(),
        segments: s.current_segments.clone(),
        refund_due: books.overpaid - books.refunded,
        s,
        books,
        letters,
        next,
        blocked,
        bankgiro: state.config.identity.bankgiro.clone(),
        dispute,
        plan,
        refund_account,
        errors,
        c,
    })
}

async fn case_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    Ok(render(&case_page_data(&state, &ctx, me, &id, FieldErrors::default()).await?))
}

/// The case page again with errors from one of its forms (422).
pub(crate) async fn refuse_on_case(
    state: &AppState,
    ctx: &Ctx,
    me: &DebtorSession,
    id: &str,
    errors: FieldErrors,
) -> Result<Response, AppError> {
    let page = case_page_data(state, ctx, me, id, errors).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ---------------------------------------------------------------------------------------------
// What Fordra holds about the person (GDPR art. 15), as a page and as JSON

async fn my_data_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let e = gdpr::export(&state, &mut conn, &me.personal_number).await?;
    Ok(render(&MyDataPage { layout: ctx.layout(), e }))
}

async fn my_data_json(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let e = gdpr::export(&state, &mut conn, &me.personal_number).await?;
    let body = serde_json::to_vec_pretty(&e).map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"fordra-mina-uppgifter-{}.json\"",
                    state.clock.today()
                ),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_qr_is_usingqr_json_with_exact_amount() {
        let id = crate::config::Config::from_lookup(|_| None).unwrap().identity;
        let qr = payment_qr(
            &id,
            "100000157",
            Sek::parse("2 754,38").unwrap(),
            "2026-12-03".parse().ok(),
        );
        let v: serde_json::Value = serde_json::from_str(&qr).unwrap();
        assert_eq!(v["uqr"], 1);
        assert_eq!(v["iref"], "100000157");
        assert_eq!(v["pt"], "BG");
        assert_eq!(v["acc"], "991-2346");
        assert_eq!(v["ddt"], "20261203");
        assert!(qr.contains("\"due\":2754.38,"), "{qr}");
    }
}
