//! Disputes (bestridande, rules-sweden.md C8). The debtor disputes on Mina sidor: every automated
//! step stops at once (the claim is flagged, the engine and the letter outbox hold it), the
//! creditor is told and answers from its claim page (withdraw, reduce, or maintain with an
//! explanation). A reduced or maintained claim never resumes by itself: staff close it or release
//! it for court. A disputed claim never goes to Kronofogden.

use crate::auth::Ctx;
use crate::web::extract::{Form, multipart_text};
use askama::Template;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::claims::web::visible_claim;
use crate::{
    auth::STAFF,
    auth::audit,
    claims::{self, ClaimRecord},
    domain::money::Sek,
    mail,
    state::AppState,
    web::prelude::*,
};

pub const MAX_ATTACHMENT: usize = 5 * 1024 * 1024;

pub const REASONS: &[(&str, &str)] = &[
    ("not_ordered", "Jag har inte beställt varan eller tjänsten"),
    ("faulty_delivery", "Fel eller bristfällig leverans"),
    ("already_paid", "Jag har redan betalat"),
    ("wrong_amount", "Beloppet är fel"),
    ("other", "Annat skäl"),
];

pub fn reason_label(code: &str) -> &'static str {
    REASONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or("Annat skäl")
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/mina-sidor/arenden/{id}/bestrid",
            get(form_page)
                .post(submit)
                // The attachment (≤ 5 MB) and the form fields around it.
                .layer(DefaultBodyLimit::max(MAX_ATTACHMENT + 256 * 1024)),
        )
        .route(
            "/mina-sidor/arenden/{id}/bestrid/bilaga",
            get(debtor_attachment),
        )
        .route(
            "/borgenar/krav/{id}/bestridande",
            axum::routing::post(creditor_answer),
        )
        .route(
            "/borgenar/krav/{id}/bestridande/bilaga",
            get(creditor_attachment),
        )
        .route(
            "/admin/krav/{id}/bestridande",
            axum::routing::post(staff_decide),
        )
        .route("/admin/krav/{id}/bestridande/bilaga", get(staff_attachment))
}

#[derive(FromRow, Clone)]
pub struct DisputeView {
    pub dispute_id: Uuid,
    pub reason: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answer_text: Option<String>,
    pub reduced_by: Option<rust_decimal::Decimal>,
    pub answered_at: Option<DateTime<Utc>>,
    pub decision: Option<String>,
    pub decision_note: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Still being handled: no staff decision and not withdrawn.
    pub open: bool,
}

impl DisputeView {
    pub fn reason_label(&self) -> &'static str {
        reason_label(&self.reason)
    }

    pub fn answer_label(&self) -> &'static str {
        match self.answer.as_deref() {
            Some("withdraw") => "Borgenären har återkallat kravet.",
            Some("reduce") => "Borgenären har sänkt kravet.",
            Some("maintain") => "Borgenären står fast vid kravet.",
            _ => "Borgenären har inte svarat ännu.",
        }
    }

    pub fn decision_label(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("close") => "Fordra har avslutat ärendet.",
            Some("court") => {
                "Ärendet drivs inte vidare av Fordra automatiskt. Borgenären kan pröva kravet i tingsrätten; det lämnas inte till Kronofogden."
            }
            _ => "",
        }
    }

    pub fn awaiting_staff(&self) -> bool {
        self.open && matches!(self.answer.as_deref(), Some("reduce" | "maintain"))
    }

    pub fn reduced(&self) -> Option<Sek> {
        self.reduced_by.map(Sek::from_decimal)
    }
}

/// The newest dispute of a claim.
pub async fn latest(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Option<DisputeView>> {
    sqlx::query_as(
        "select dispute_id, reason, body, attachment_name, created_at, answer, answer_text, reduced_by,
                answered_at, decision, decision_note, decided_at,
                (decision is null and coalesce(answer, '') <> 'withdraw') as open
         from dispute where claim_id = $1 order by created_at desc limit 1",
    )
    .bind(claim_id)
    .fetch_optional(conn)
    .await
}

#[derive(Template)]
#[template(path = "debtors/dispute.html")]
struct FormPage {
    layout: Layout,
    c: ClaimRecord,
    errors: FieldErrors,
    reason: String,
    body: String,
}

impl FormPage {
    fn reasons(&self) -> &'static [(&'static str, &'static str)] {
        REASONS
    }
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

/// The type of an attachment from its first bytes, never from its name or the browser's claim.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

fn clean_file_name(name: &str) -> String {
    let n: String = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    if n.trim().is_empty() {
        "bilaga".into()
    } else {
        n
    }
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut reason = String::new();
    let mut body = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut errors = FieldErrors::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                errors.add(
                    "attachment",
                    "Bilagan är för stor. Den får vara högst 5 MB.",
                );
                break;
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let Ok(bytes) = field.bytes().await else {
            errors.add(
                "attachment",
                "Bilagan är för stor. Den får vara högst 5 MB.",
            );
            break;
        };
        match name.as_str() {
            "reason" => reason = multipart_text("reason", &bytes)?.trim().to_string(),
            "body" => body = multipart_text("body", &bytes)?.trim().to_string(),
            "attachment" if !bytes.is_empty() => {
                file = Some((
                    clean_file_name(file_name.as_deref().unwrap_or("")),
                    bytes.to_vec(),
                ))
            }
            _ => {}
        }
    }
    let mut conn = state.db.acquire().await?;
    let c = visible_claim(&mut conn, &me.personal_number, &id).await?;
    if reason == "cannot_pay" {
        return Ok(flash_redirect(
            &format!("/mina-sidor/arenden/{}/amorteringsplan", c.claim_id),
            FlashKind::Info,
            "Att inte kunna betala är inte ett bestridande. Ansök om en amorteringsplan i stället.",
        ));
    }
    if !REASONS.iter().any(|(code, _)| *code == reason) {
        errors.add("reason", "Välj varför du bestrider kravet.");
    }
    if body.chars().count() < 10 {
        errors.add(
            "body",
            "Beskriv med några ord varför kravet är fel (minst 10 tecken).",
        );
    } else if body.chars().count() > 4000 {
        errors.add("body", "Beskrivningen får vara högst 4 000 tecken.");
    }
    let kind = match &file {
        Some((_, bytes)) if bytes.len() > MAX_ATTACHMENT => {
            errors.add(
                "attachment",
                "Bilagan är för stor. Den får vara högst 5 MB.",
            );
            None
        }
        Some((_, bytes)) => match sniff(bytes) {
            Some(k) => Some(k),
            None => {
                errors.add(
                    "attachment",
                    "Bilagan måste vara en PDF-, JPEG- eller PNG-fil.",
                );
                None
            }
        },
        None => None,
    };
    if c.state().is_terminal() {
        errors.add("reason", "Ärendet är avslutat och kan inte bestridas.");
    }
    // A claim is disputed once: after that the answer and Fordra's decision stand.
    if latest(&mut conn, c.claim_id).await?.is_some() {
        errors.add(
            "reason",
            "Du har redan bestridit kravet. Svaret och beslutet står i ärendet; skriv till oss under Meddelanden om du har nya uppgifter.",
        );
    }
    let now = state.clock.now();
    let today = state.clock.today();
    if errors.is_empty() {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query("select 1 from claim where claim_id = $1 for update")
            .bind(c.claim_id)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query!("insert into dispute (dispute_id, claim_id, personal_number, reason, body, attachment_name,
                attachment_type, attachment, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing", Uuid::new_v4(), c.claim_id, &me.personal_number, &reason, &body, file.as_ref().map(|(n, _)| n), kind, file.as_ref().map(|(_, b)| b), now)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            drop(tx);
            return Ok(flash_redirect(
                &format!("/mina-sidor/arenden/{}", c.claim_id),
                FlashKind::Info,
                "Du har redan bestridit kravet. Vi hör av oss när borgenären har svarat.",
            ));
        }
        // Stop everything automated at once: the engine skips disputed claims, and letters not
        // yet dispatched stay in the outbox. A proposed or running payment plan ends.
        sqlx::query!(
            "update claim set disputed = true, next_action_on = null where claim_id = $1",
            c.claim_id
        )
        .execute(&mut *tx)
        .await?;
        crate::plans::end_live_plan(&mut tx, c.claim_id, "rejected", today).await?;
        claims::add_event(
            &mut tx,
            c.claim_id,
            now,
            today,
            "disputed",
            None,
            json!({"reason": reason, "attachment": kind.is_some()}),
            None,
        )
        .await?;
        audit(
            &mut tx,
            now,
            None,
            "claim_disputed",
            Some(&c.claim_id.to_string()),
            json!({"by": format!("person:{}", me.personal_number), "reason": reason}),
            Some(&ctx.ip),
        )
        .await?;
        notify_creditor(
            &mut tx,
            &c,
            &format!("Bestridande: faktura {}", c.invoice_number),
            &DisputeToCreditor {
                c: &c,
                reason: reason_label(&reason),
                body: &body,
                public_url: &state.config.public_url,
            }
            .render()
            .map_err(anyhow::Error::from)?,
            now,
        )
        .await?;
        tx.commit().await?;
        state.wake_mail();
        return Ok(flash_redirect(
            &format!("/mina-sidor/arenden/{}", c.claim_id),
            FlashKind::Success,
            "Ditt bestridande är mottaget. Alla automatiska steg är stoppade medan vi utreder det med borgenären.",
        ));
    }
    Ok(render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &FormPage {
            layout: ctx.layout(),
            c,
            errors,
            reason,
            body,
        },
    ))
}

#[derive(Template)]
#[template(path = "emails/dispute_to_creditor.txt")]
struct DisputeToCreditor<'a> {
    c: &'a ClaimRecord,
    reason: &'a str,
    body: &'a str,
    public_url: &'a str,
}

#[derive(Template)]
#[template(path = "emails/dispute_answer.txt")]
struct DisputeAnswer<'a> {
    c: &'a ClaimRecord,
    answer: &'a str,
    text: &'a str,
    public_url: &'a str,
    sender: &'a str,
}

/// E-mail to the creditor's contact address and every active user of the creditor.
async fn notify_creditor(
    tx: &mut PgConnection,
    c: &ClaimRecord,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let to: Vec<(String,)> = sqlx::query_as(
        "select distinct lower(addr) from (
            select contact_email as addr from creditor where creditor_id = $1 and contact_email <> ''
            union all
            select email from app_user where creditor_id = $1 and role = 'creditor' and disabled_at is null) a",
    )
    .bind(c.creditor_id)
    .fetch_all(&mut *tx)
    .await?;
    for (addr,) in to {
        mail::queue(&mut *tx, &addr, subject, body, Some(c.claim_id), now).await?;
    }
    Ok(())
}

/// Name, content type and bytes of a dispute's attachment.
type AttachmentRow = (Option<String>, Option<String>, Option<Vec<u8>>);

async fn attachment(conn: &mut PgConnection, claim_id: Uuid) -> Result<Response, AppError> {
    let row: Option<AttachmentRow> = sqlx::query_as(
        "select attachment_name, attachment_type, attachment from dispute
         where claim_id = $1 and attachment is not null order by created_at desc limit 1",
    )
    .bind(claim_id)
    .fetch_optional(conn)
    .await?;
    let Some((Some(name), Some(kind), Some(bytes))) = row else {
        return Err(AppError::NotFound);
    };
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn debtor_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = ctx.require_debtor()?;
    let mut conn = state.db.acquire().await?;
    let c = visible_claim(&mut conn, &me.personal_number, &id).await?;
    attachment(&mut conn, c.claim_id).await
}

async fn creditor_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (mut conn, c) =
        claims::web::opened_claim(&state, &ctx, false, &id, "bestridandets bilaga").await?;
    attachment(&mut conn, c.claim_id).await
}

async fn staff_attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (mut conn, c) =
        claims::web::opened_claim(&state, &ctx, true, &id, "bestridandets bilaga").await?;
    attachment(&mut conn, c.claim_id).await
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
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let c = claims::web::own_claim(&mut conn, creditor_id, &id).await?;
    let back = format!("/borgenar/krav/{}", c.claim_id);
    let now = state.clock.now();
    let today = state.clock.today();
    let text = form.answer_text.trim().to_string();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("select 1 from claim where claim_id = $1 for update")
        .bind(c.claim_id)
        .execute(&mut *tx)
        .await?;
    let Some(d) = latest(&mut tx, c.claim_id)
        .await?
        .filter(|d| d.open && d.answer.is_none())
    else {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Det finns inget obesvarat bestridande.",
        ));
    };
    let mut errors = FieldErrors::default();
    if text.chars().count() > 4000 {
        errors.add("answer_text", "Förklaringen får vara högst 4 000 tecken.");
    }
    let mut reduced: Option<Sek> = None;
    match form.answer.as_str() {
        "withdraw" => {}
        "maintain" if text.chars().count() < 10 => errors.add(
            "answer_text",
            "Förklara varför ni står fast vid kravet (minst 10 tecken). Gäldenären får läsa förklaringen.",
        ),
        "maintain" => {}
        "reduce" => {
            let params = state.parameters(&mut tx).await?;
            let s = claims::load_statement(&mut tx, &c, &params, today).await?;
            match Sek::parse(&form.reduce_amount) {
                Ok(a) if !a.is_positive() => errors.add("amount", "Beloppet måste vara större än noll."),
                Ok(a) if a > s.capital => errors.add(
                    "amount",
                    format!("Sänkningen kan inte vara större än kvarvarande kapital, {}.", s.capital),
                ),
                Ok(a) => reduced = Some(a),
                Err(e) => errors.add("amount", e.to_string()),
            }
        }
        _ => errors.add("answer", "Välj ett svar."),
    }
    if !errors.is_empty() {
        drop(tx);
        let first = errors
            .first_message()
            .unwrap_or("Kontrollera svaret.")
            .to_string();
        return Ok(flash_redirect(&back, FlashKind::Error, &first));
    }
    sqlx::query!("update dispute set answer = $2, answer_text = $3, reduced_by = $4, answered_at = $5, answered_by = $6
         where dispute_id = $1", d.dispute_id, &form.answer, &text, reduced.map(|r| r.amount()), now, user.id)
    .execute(&mut *tx)
    .await?;
    if form.answer == "withdraw" {
        match claims::withdraw(&mut tx, &c, &state.config.identity, now, today).await {
            Ok(()) => {}
            Err(claims::StateError::Conflict) => {
                drop(tx);
                return Ok(flash_redirect(
                    &back,
                    FlashKind::Error,
                    "Fordran är redan avslutad.",
                ));
            }
            Err(claims::StateError::Db(e)) => return Err(e.into()),
            Err(claims::StateError::Other(e)) => return Err(e.into()),
        }
    }
    if let Some(amount) = reduced {
        sqlx::query!("insert into capital_reduction (capital_reduction_id, claim_id, kind, amount, on_date, created_at, created_by)
             values ($1, $2, 'credit', $3, $4, $5, $6)", Uuid::new_v4(), c.claim_id, amount.amount(), today, now, user.id)
        .execute(&mut *tx)
        .await?;
        let params = state.parameters(&mut tx).await?;
        crate::payments::ledger::sync_claims(
            &mut tx,
            &[c.claim_id],
            &params,
            today,
            now,
            Some(user.id),
        )
        .await?;
    }
    let detail =
        json!({"answer": form.answer, "text": text, "reduced_by": reduced.map(|r| r.to_plain())});
    claims::web::record_change(
        &mut tx,
        &c,
        user.id,
        &ctx.ip,
        "dispute_answered",
        detail,
        now,
        today,
    )
    .await?;
    if let Some(email) = &c.debtor_email {
        mail::queue(
            &mut tx,
            email,
            &format!("Svar på ditt bestridande – ärende {}", c.case_number),
            &DisputeAnswer {
                c: &c,
                answer: d_answer_label(&form.answer),
                text: &text,
                public_url: &state.config.public_url,
                sender: &state.config.identity.name,
            }
            .render()
            .map_err(anyhow::Error::from)?,
            Some(c.claim_id),
            now,
        )
        .await?;
    }
    tx.commit().await?;
    state.wake_mail();
    let message = match form.answer.as_str() {
        "withdraw" => "Kravet är återkallat och ärendet avslutat.",
        "reduce" => "Kravet är sänkt. Fordra går igenom ärendet innan något mer händer.",
        _ => "Ert svar är sparat. Fordra går igenom ärendet innan något mer händer.",
    };
    Ok(flash_redirect(&back, FlashKind::Success, message))
}

fn d_answer_label(answer: &str) -> &'static str {
    match answer {
        "withdraw" => "kravet är återkallat.",
        "reduce" => "kravet är sänkt.",
        _ => "borgenären står fast vid kravet.",
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DecisionForm {
    decision: String,
    decision_note: String,
}

/// Staff close a reduced or maintained disputed claim, or release it for court (tingsrätt). The
/// claim stays disputed either way: the engine never takes it to Kronofogden.
async fn staff_decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let c = claims::web::any_claim(&mut conn, &id).await?;
    let back = format!("/admin/krav/{}", c.claim_id);
    let now = state.clock.now();
    let today = state.clock.today();
    let note = form.decision_note.trim().to_string();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let Some(d) = latest(&mut tx, c.claim_id)
        .await?
        .filter(DisputeView::awaiting_staff)
    else {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Bestridandet väntar inte på något beslut.",
        ));
    };
    if !matches!(form.decision.as_str(), "close" | "court") {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Välj att avsluta ärendet eller lämna det för prövning i domstol.",
        ));
    }
    if note.chars().count() < 5 {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Skriv en motivering till beslutet (minst 5 tecken).",
        ));
    }
    sqlx::query!("update dispute set decision = $2, decision_note = $3, decided_at = $4, decided_by = $5 where dispute_id = $1", d.dispute_id, &form.decision, &note, now, user.id)
        .execute(&mut *tx)
        .await?;
    if form.decision == "close" {
        // Closed like a withdrawal (the debtor gets the notice); already closed is fine.
        match claims::withdraw(&mut tx, &c, &state.config.identity, now, today).await {
            Ok(()) | Err(claims::StateError::Conflict) => {}
            Err(claims::StateError::Db(e)) => return Err(e.into()),
            Err(claims::StateError::Other(e)) => return Err(e.into()),
        }
    }
    let event = if form.decision == "close" {
        "dispute_closed"
    } else {
        "released_for_court"
    };
    let detail = json!({"note": note});
    claims::web::record_change(&mut tx, &c, user.id, &ctx.ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(flash_redirect(
        &back,
        FlashKind::Success,
        if form.decision == "close" {
            "Ärendet är avslutat."
        } else {
            "Ärendet är frigivet för prövning i tingsrätten. Det lämnas aldrig till Kronofogden."
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_type_comes_from_content() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b"<html>%PDF-"), None);
        assert_eq!(clean_file_name("C:\\x\\kvitto \"1\".pdf"), "kvitto 1.pdf");
    }
}
