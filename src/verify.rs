//! "Verify this letter" (`/kontrollera-brev`): anyone holding a letter can confirm with its OCR
//! number and case code that Fordra sent it. The answer names the creditor, the amount owed today
//! and the state, and nothing else (no debtor data). Rate-limited per client address.

use crate::auth::Ctx;
use crate::web::extract::Form;
use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;

use crate::{
    auth::rate_limit::{self, Check},
    claims, clock,
    domain::{fees::LetterKind, money::Sek, ocr},
    letters,
    state::AppState,
    web::prelude::*,
};

/// Lookups per client address per window.
const MAX_LOOKUPS: i64 = 10;
const WINDOW_MINUTES: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new().route("/kontrollera-brev", get(form).post(check))
}

pub struct Genuine {
    pub creditor_name: String,
    pub state_label: &'static str,
    pub balance: Sek,
    pub as_of: NaiveDate,
    pub bankgiro: String,
    pub letters: Vec<(&'static str, NaiveDate)>,
}

#[derive(Template)]
#[template(path = "public/verify.html")]
struct Page {
    layout: Layout,
    ocr: String,
    case_code: String,
    errors: FieldErrors,
    not_found: bool,
    found: Option<Genuine>,
}

async fn form(ctx: Ctx) -> Response {
    render(&Page {
        layout: ctx.layout(),
        ocr: String::new(),
        case_code: String::new(),
        errors: FieldErrors::default(),
        not_found: false,
        found: None,
    })
}

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    ocr: String,
    #[serde(default)]
    case_code: String,
}

async fn check(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(input): Form<Input>,
) -> Result<Response, AppError> {
    let ocr_in: String = input.ocr.chars().filter(|c| !c.is_whitespace()).collect();
    let code: String = input
        .case_code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_uppercase();
    let mut page = Page {
        layout: ctx.layout(),
        ocr: ocr_in.clone(),
        case_code: code.clone(),
        errors: FieldErrors::default(),
        not_found: false,
        found: None,
    };
    if let Err(e) = ocr::validate(&ocr_in) {
        page.errors.add("ocr", e.to_string());
    }
    if code.len() != 8 {
        page.errors
            .add("case_code", "Kontrollkoden har åtta tecken och står under OCR-numret i brevet.");
    }
    if !page.errors.is_empty() {
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let bucket = format!("verify:{}", ctx.ip);
    let window = Duration::minutes(WINDOW_MINUTES);
    if let Check::Blocked { retry_at } =
        rate_limit::hit(&mut conn, &bucket, now, MAX_LOOKUPS, window).await?
    {
        let at = clock::stockholm_local(retry_at).format("%H:%M");
        page.errors
            .add("ocr", format!("För många kontroller på kort tid. Försök igen efter kl. {at}."));
        return Ok(render_status(StatusCode::TOO_MANY_REQUESTS, &page));
    }
    let rec = claims::by_letter(&mut conn, &ocr_in, &code).await?;
    let Some(rec) = rec else {
        page.not_found = true;
        return Ok(render_status(StatusCode::NOT_FOUND, &page));
    };
    let today = state.clock.today();
    let params = state.parameters(&mut conn).await?;
    let statement = claims::load_statement(&mut conn, &rec, &params, today).await?;
    let sent = claims::letters_sent(&mut conn, rec.claim_id).await?;
    page.found = Some(Genuine {
        creditor_name: rec.creditor_name.clone(),
        state_label: rec.state().label(),
        balance: statement.balance,
        as_of: today,
        bankgiro: state.config.identity.bankgiro.clone(),
        letters: sent
            .into_iter()
            .filter_map(|(k, d)| Some((letters::title(LetterKind::parse(&k)?), d)))
            .collect(),
    });
    Ok(render(&page))
}
