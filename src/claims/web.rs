//! The creditor's claims in the browser (register, list), a claim's letters, and the staff
//! search; the helpers every page about one claim uses to find it.

use super::views::*;
use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    ClaimRecord, InsertError,
    input::{self, AddressInput, ClaimInput, DebtorInput},
};
use super::{OnClaim, Reader};
use crate::{
    auth::STAFF,
    auth::access_log::{self, Accessor},
    auth::audit,
    letters,
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Reader::ALL
        .into_iter()
        .fold(Router::new(), letter_routes)
        .route("/borgenar/krav", get(list))
        .route("/borgenar/krav/ny", get(new_form).post(create))
        .route("/admin/krav", get(staff_search))
}

// ---------------------------------------------------------------------------------------------
// Registration form

/// The registration form as posted: flat fields named like the API's dotted paths.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ClaimForm {
    pub invoice_number: String,
    pub description: String,
    pub capital: String,
    pub invoice_date: String,
    pub due_date: String,
    pub claim_arose_date: String,
    pub reminder_fee_agreed: Option<String>,
    pub start_with: String,
    #[serde(rename = "debtor.kind")]
    pub debtor_kind: String,
    #[serde(rename = "debtor.id_number")]
    pub debtor_id_number: String,
    #[serde(rename = "debtor.name")]
    pub debtor_name: String,
    #[serde(rename = "debtor.capacity")]
    pub debtor_capacity: String,
    #[serde(rename = "debtor.address.street")]
    pub street: String,
    #[serde(rename = "debtor.address.postal_code")]
    pub postal_code: String,
    #[serde(rename = "debtor.address.city")]
    pub city: String,
    #[serde(rename = "debtor.email")]
    pub email: String,
    #[serde(rename = "debtor.phone")]
    pub phone: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

impl ClaimForm {
    /// A new form: a consumer, starting with a reminder.
    pub fn blank() -> ClaimForm {
        ClaimForm {
            start_with: "reminder".into(),
            debtor_kind: "person".into(),
            debtor_capacity: "consumer".into(),
            ..Default::default()
        }
    }

    pub fn to_input(&self) -> ClaimInput {
        ClaimInput {
            invoice_number: some(&self.invoice_number),
            description: some(&self.description),
            capital: (!self.capital.trim().is_empty()).then(|| Value::String(self.capital.clone())),
            invoice_date: some(&self.invoice_date),
            due_date: some(&self.due_date),
            claim_arose_date: some(&self.claim_arose_date),
            reminder_fee_agreed: Some(self.reminder_fee_agreed.is_some()),
            start_with: some(&self.start_with),
            debtor: Some(DebtorInput {
                kind: some(&self.debtor_kind),
                id_number: some(&self.debtor_id_number),
                name: some(&self.debtor_name),
                capacity: some(&self.debtor_capacity),
                address: Some(AddressInput {
                    street: some(&self.street),
                    postal_code: some(&self.postal_code),
                    city: some(&self.city),
                }),
                email: some(&self.email),
                phone: some(&self.phone),
            }),
            creditor_org_nr: None,
        }
    }
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let status = super::repo::creditor_status(&mut conn, creditor_id).await?;
    Ok(render(&NewPage::creditor(
        ctx.layout(),
        ClaimForm::blank(),
        FieldErrors::default(),
        status == "pending",
    )))
}

pub const DUPLICATE_INVOICE: &str = "Fakturanumret finns redan registrerat hos er.";

async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ClaimForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let today = state.clock.today();
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let status = super::repo::creditor_status(&mut conn, creditor_id).await?;
    let refuse = |errors: FieldErrors, form: ClaimForm| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage::creditor(ctx.layout(), form, errors, status == "pending"),
        )
    };
    let claim = match input::validate(&form.to_input(), today, &params) {
        Ok(c) => c,
        Err(invalid) => return Ok(refuse(invalid.into_errors(), form)),
    };
    let id = match super::insert(&mut conn, creditor_id, &claim, Some(user.id), now, today).await {
        Ok(id) => id,
        Err(InsertError::DuplicateInvoiceNumber) => {
            let mut e = FieldErrors::default();
            e.add("invoice_number", DUPLICATE_INVOICE);
            return Ok(refuse(e, form));
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    };
    Ok(flash_redirect(
        &format!("/borgenar/krav/{id}"),
        FlashKind::Success,
        &format!("Fordran med faktura {} är registrerad.", claim.invoice_number),
    ))
}

// ---------------------------------------------------------------------------------------------
// List

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub state: String,
    pub q: String,
    pub from: String,
    pub to: String,
    pub sort: String,
    pub page: Option<u32>,
}

pub const SORTS: &[(&str, &str, &str)] = &[
    ("registered", "Senast registrerade", "c.registered_at desc, c.case_number desc"),
    ("due", "Förfallodag, äldst först", "c.due_date, c.case_number"),
    ("capital", "Kapital, störst först", "c.capital desc, c.case_number"),
    ("debtor", "Gäldenär A–Ö", "c.debtor_name, c.case_number"),
    ("invoice", "Fakturanummer", "c.invoice_number"),
];

pub const STATES: &[(&str, &str)] = &[
    ("", "Alla"),
    ("open", "Pågående"),
    ("registered", "Registrerad"),
    ("reminder", "Betalningspåminnelse"),
    ("collection", "Inkassokrav"),
    ("final_notice", "Slutlig påminnelse"),
    ("enforcement_ready", "Klar för Kronofogden"),
    ("paid", "Betald"),
    ("withdrawn", "Återkallad"),
    ("blocked", "Stoppad"),
];

const PAGE_SIZE: i64 = 50;

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut errors = FieldErrors::default();
    let date = |field: &str, s: &str, errors: &mut FieldErrors| {
        if s.trim().is_empty() {
            return None;
        }
        let d = crate::web::forms::parse_date(s);
        if d.is_none() {
            errors.add(field, "Ange datumet som ÅÅÅÅ-MM-DD.");
        }
        d
    };
    let from = date("from", &query.from, &mut errors);
    let to = date("to", &query.to, &mut errors);
    let order = SORTS.iter().find(|(k, _, _)| *k == query.sort).unwrap_or(&SORTS[0]).2;
    let page = query.page.unwrap_or(1).max(1);
    let filter =
        super::ListFilter { state: &query.state, text: &query.q, due_from: from, due_to: to };
    let mut conn = state.db.acquire().await?;
    let (rows, total) = super::list(
        &mut conn,
        creditor_id,
        &filter,
        order,
        PAGE_SIZE,
        (page as i64 - 1) * PAGE_SIZE,
    )
    .await?;
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1) as u32;
    // The list names each debtor: one access row for the page, listing the claims shown.
    let shown: Vec<Uuid> = rows.iter().map(|r| r.claim_id).collect();
    access_log::log_access_to(
        &mut conn,
        Accessor::User(user),
        &shown,
        "fordringslistan",
        state.clock.now(),
    )
    .await?;
    Ok(render(&ListPage {
        layout: ctx.layout(),
        query,
        errors,
        rows,
        total,
        page,
        pages,
        sorts: SORTS,
        states: STATES,
    }))
}

/// The page data of claim `id` within `scope`; anything else is 404. Opening a claim page shows
/// the debtor's personal data: the same statement logs who did (GDPR).
pub(crate) async fn view_of(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    scope: super::Scope<'_>,
    id: &str,
) -> Result<super::ClaimView, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let access = ctx.user().map(|user| access_log::Access {
        who: Accessor::User(user),
        what: "fordrans sida",
        at: state.clock.now(),
    });
    super::load_view(conn, scope, id, true, access).await?.ok_or(AppError::NotFound)
}

/// The creditor's own claim `id`; anything else is 404.
pub(crate) async fn own_claim(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    id: &str,
) -> Result<ClaimRecord, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    super::find(conn, id, Some(creditor_id)).await?.ok_or(AppError::NotFound)
}

/// Any claim (staff).
pub(crate) async fn any_claim(conn: &mut PgConnection, id: &str) -> Result<ClaimRecord, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    super::find(conn, id, None).await?.ok_or(AppError::NotFound)
}

/// A person changed a claim: the event on its timeline, the audit row, and the engine looks
/// at it again today.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_change(
    tx: &mut PgConnection,
    rec: &ClaimRecord,
    user_id: Option<Uuid>,
    ip: &str,
    event: &str,
    detail: Value,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), AppError> {
    let claim_id = rec.claim_id;
    super::add_event(&mut *tx, claim_id, now, today, event, user_id, detail.clone(), None).await?;
    super::wake(&mut *tx, claim_id, today).await?;
    audit(
        &mut *tx,
        now,
        user_id,
        &format!("claim_{event}"),
        Some(&claim_id.to_string()),
        crate::auth::without_personal_data(detail),
        Some(ip),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Letters

async fn letter_row(
    conn: &mut PgConnection,
    claim_id: Uuid,
    letter: &str,
) -> Result<(String, String, Value), AppError> {
    let letter = Uuid::parse_str(letter).map_err(|_| AppError::NotFound)?;
    super::repo::letter(conn, claim_id, letter).await?.ok_or(AppError::NotFound)
}

pub(crate) async fn show_letter(
    conn: &mut PgConnection,
    ctx: &Ctx,
    rec: &ClaimRecord,
    base: &str,
    letter: &str,
) -> Result<Response, AppError> {
    let (kind, html, _) = letter_row(conn, rec.claim_id, letter).await?;
    let back = format!("{base}/{}", rec.claim_id);
    Ok(render(&LetterPage {
        layout: ctx.layout(),
        title: letters::title_of(&kind),
        pdf: format!("{back}/brev/{letter}/pdf"),
        html,
        back,
        closed: crate::claims::closed_message(rec.state()),
    }))
}

pub(crate) async fn letter_pdf(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    letter: &str,
) -> Result<Response, AppError> {
    let (kind, _, snapshot) = letter_row(conn, rec.claim_id, letter).await?;
    let snapshot: letters::Snapshot =
        serde_json::from_value(snapshot).map_err(anyhow::Error::from)?;
    let pdf = tokio::task::spawn_blocking(move || letters::render_pdf(&snapshot))
        .await
        .map_err(anyhow::Error::from)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}-{kind}.pdf\"", rec.case_number),
            ),
        ],
        pdf,
    )
        .into_response())
}

/// A creditor user or staff acting on one claim from its page: the claim (a malformed id is
/// 404), whose claims they may act on, and who acts when.
pub(crate) fn on_claim<'a>(
    ctx: &'a Ctx,
    reader: Reader,
    id: &str,
    clock: &crate::clock::Clock,
) -> Result<OnClaim<'a>, AppError> {
    let (user, creditor) = match reader {
        Reader::Creditor => ctx.require_creditor().map(|(user, c)| (user, Some(c)))?,
        Reader::Staff => (ctx.require(STAFF)?, None),
        Reader::Debtor => return Err(AppError::Forbidden),
    };
    let by = ctx.acting(user, clock);
    Ok(OnClaim { claim_id: path_id(id)?, creditor, reader, by })
}

/// A claim opened by `reader`. A creditor's or staff's opening writes the access row saying
/// `what` was looked at; anything the reader may not see is 404.
pub(crate) async fn opened_claim(
    state: &AppState,
    ctx: &Ctx,
    reader: Reader,
    id: &str,
    what: &str,
) -> Result<(sqlx::pool::PoolConnection<sqlx::Postgres>, ClaimRecord), AppError> {
    let (user, creditor) = match reader {
        Reader::Debtor => {
            let me = ctx.require_debtor()?;
            let mut conn = state.db.acquire().await?;
            let rec = visible_claim(&mut conn, &me.personal_number, id).await?;
            return Ok((conn, rec));
        }
        Reader::Creditor => ctx.require_creditor().map(|(user, c)| (user, Some(c)))?,
        Reader::Staff => (ctx.require(STAFF)?, None),
    };
    let mut conn = state.db.acquire().await?;
    let rec = match creditor {
        Some(creditor_id) => own_claim(&mut conn, creditor_id, id).await?,
        None => any_claim(&mut conn, id).await?,
    };
    let (who, now) = (Accessor::User(user), state.clock.now());
    access_log::log_access(&mut conn, who, rec.claim_id, &rec.debtor_id_number, what, now).await?;
    Ok((conn, rec))
}

/// A letter's page and its PDF, under the reader's claim pages.
fn letter_routes(r: Router<AppState>, reader: Reader) -> Router<AppState> {
    let page = format!("{}/{{id}}/brev/{{letter}}", reader.base());
    let pdf = format!("{page}/pdf");
    r.route(&page, get(move |State(s), c, Path(p)| letter_page(s, c, reader, p)))
        .route(&pdf, get(move |State(s), c, Path(p)| letter_file(s, c, reader, p)))
}

async fn letter_page(
    state: AppState,
    ctx: Ctx,
    reader: Reader,
    (id, letter): (String, String),
) -> Result<Response, AppError> {
    let (mut conn, rec) = opened_claim(&state, &ctx, reader, &id, "brev").await?;
    show_letter(&mut conn, &ctx, &rec, reader.base(), &letter).await
}

async fn letter_file(
    state: AppState,
    ctx: Ctx,
    reader: Reader,
    (id, letter): (String, String),
) -> Result<Response, AppError> {
    let (mut conn, rec) = opened_claim(&state, &ctx, reader, &id, "brev (PDF)").await?;
    letter_pdf(&mut conn, &rec, &letter).await
}

// ---------------------------------------------------------------------------------------------
// Staff: find a claim, set and clear its blocking flags

async fn staff_search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<ListQuery>,
) -> Result<Response, AppError> {
    // The staff search takes the claim list's query, of which it reads `q`.
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let q = query.q.trim().to_string();
    let rows: Vec<super::SearchRow> =
        if q.is_empty() { vec![] } else { super::search(&mut conn, &q).await? };
    let hits: Vec<Uuid> = rows.iter().map(|r| r.claim_id).collect();
    access_log::log_access_to(
        &mut conn,
        Accessor::User(user),
        &hits,
        "sökträff i back office",
        state.clock.now(),
    )
    .await?;
    Ok(render(&StaffSearchPage { layout: ctx.layout(), q, rows, no_error: None }))
}

/// Every case visible to `pnr`, newest first.
pub async fn visible_claims(conn: &mut PgConnection, pnr: &str) -> sqlx::Result<Vec<ClaimRecord>> {
    super::repo::visible_claims(conn, pnr, None).await
}

/// The case `id` if `pnr` may see it; otherwise 404.
pub async fn visible_claim(
    conn: &mut PgConnection,
    pnr: &str,
    id: &str,
) -> Result<ClaimRecord, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let mut found = super::repo::visible_claims(conn, pnr, Some(id)).await?;
    found.pop().ok_or(AppError::NotFound)
}
