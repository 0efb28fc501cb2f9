//! The dispute's pages: the debtor's form and attachment, the creditor's answer, the staff's
//! decision. Each handler extracts, calls one service function, and renders or redirects.

use super::views::*;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;

use super::{
    MAX_ATTACHMENT, clean_file_name,
    service::{self, Debtor, Submission, Submitted},
};
use crate::{
    auth::Ctx,
    claims::{
        ClaimRecord, Reader,
        web::{on_claim, opened_claim, visible_claim},
    },
    state::AppState,
    web::{
        extract::{Form, multipart_text},
        prelude::*,
    },
};

pub fn router() -> Router<AppState> {
    Reader::ALL
        .into_iter()
        .fold(Router::new(), attachment_route)
        .route(
            "/mina-sidor/arenden/{id}/bestrid",
            get(form_page)
                .post(submit)
                // The attachment (≤ 5 MB) and the form fields around it.
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT + 256 * 1024)),
        )
        .route("/borgenar/krav/{id}/bestridande", post(creditor_answer))
        .route("/admin/krav/{id}/bestridande", post(staff_decide))
}

async fn form_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let c = visible_claim(&mut conn, &me.personal_number, &id).await?;
    Ok(render_status(
        StatusCode::OK,
        &FormPage {
            layout: ctx.layout(),
            c,
            errors: FieldErrors::default(),
            reason: String::new(),
            body: String::new(),
        },
    ))
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let submission = read_submission(multipart).await?;
    let mut conn = state.db.acquire().await?;
    let c = visible_claim(&mut conn, &me.personal_number, &id).await?;
    let who = Debtor {
        personal_number: &me.personal_number,
        ip: &ctx.ip,
        now: state.clock.now(),
        today: state.clock.today(),
    };
    let case = format!("/mina-sidor/arenden/{}", c.claim_id);
    Ok(match service::submit(&mut conn, &c, &who, &submission, &state.config.public_url).await? {
        Submitted::Done => {
            state.wake_mail();
            flash_redirect(
                &case,
                FlashKind::Success,
                "Ditt bestridande är mottaget. Alla automatiska steg är stoppade medan vi utreder det med borgenären.",
            )
        }
        Submitted::CannotPay => flash_redirect(
            &format!("{case}/amorteringsplan"),
            FlashKind::Info,
            "Att inte kunna betala är inte ett bestridande. Ansök om en amorteringsplan i stället.",
        ),
        Submitted::AlreadyDisputed => flash_redirect(
            &case,
            FlashKind::Info,
            "Du har redan bestridit kravet. Vi hör av oss när borgenären har svarat.",
        ),
        Submitted::Invalid(errors) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &FormPage {
                layout: ctx.layout(),
                c,
                errors,
                reason: submission.reason,
                body: submission.body,
            },
        ),
    })
}

/// The dispute form's fields and attachment, as sent.
async fn read_submission(mut multipart: Multipart) -> Result<Submission, AppError> {
    let mut s =
        Submission { reason: String::new(), body: String::new(), file: None, upload_failed: false };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                s.upload_failed = true;
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let Ok(bytes) = field.bytes().await else {
            s.upload_failed = true;
            break;
        };
        match name.as_str() {
            "reason" => s.reason = multipart_text("reason", &bytes)?.trim().to_string(),
            "body" => s.body = multipart_text("body", &bytes)?.trim().to_string(),
            "attachment" if !bytes.is_empty() => {
                s.file = Some((clean_file_name(file_name.as_deref().unwrap_or("")), bytes.to_vec()))
            }
            _ => {}
        }
    }
    Ok(s)
}

/// The claim's dispute attachment as a download.
async fn attachment(conn: &mut sqlx::PgConnection, c: &ClaimRecord) -> Result<Response, AppError> {
    let (name, kind, bytes) =
        service::attachment(conn, c.claim_id).await?.ok_or(AppError::NotFound)?;
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{ascii}\"")),
        ],
        bytes,
    )
        .into_response())
}

/// The attachment's URL for each reader.
fn attachment_path(reader: Reader) -> String {
    let page = if reader == Reader::Debtor { "bestrid" } else { "bestridande" };
    format!("{}/{{id}}/{page}/bilaga", reader.base())
}

fn attachment_route(r: Router<AppState>, reader: Reader) -> Router<AppState> {
    r.route(
        &attachment_path(reader),
        get(move |State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>| async move {
            let what = "bestridandets bilaga";
            let (mut conn, c) = opened_claim(&state, &ctx, reader, &id, what).await?;
            attachment(&mut conn, &c).await
        }),
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AnswerForm {
    answer: String,
    answer_text: String,
    reduce_amount: String,
}

async fn creditor_answer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<AnswerForm>,
) -> Result<Response, AppError> {
    let on = on_claim(&ctx, Reader::Creditor, &id, &state.clock)?;
    let answer = (form.answer.as_str(), form.answer_text.trim(), form.reduce_amount.as_str());
    let (params, config) = (&state.params, &state.config);
    let mut conn = state.db.acquire().await?;
    let outcome = service::answer(&mut conn, params, config, &on, answer).await?;
    let back = on.back();
    Ok(match outcome {
        Ok(message) => {
            state.wake_mail();
            flash_redirect(&back, FlashKind::Success, message)
        }
        Err(message) => flash_redirect(&back, FlashKind::Error, &message),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    decision: String,
    decision_note: String,
}

/// Staff close a reduced or maintained disputed claim, or release it for court (tingsrätt).
async fn staff_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let on = on_claim(&ctx, Reader::Staff, &id, &state.clock)?;
    let (decision, note) = (form.decision.as_str(), form.decision_note.trim());
    let mut conn = state.db.acquire().await?;
    let outcome = service::decide(&mut conn, &state.config.identity, &on, decision, note).await?;
    Ok(flash_outcome(&on.back(), outcome))
}
