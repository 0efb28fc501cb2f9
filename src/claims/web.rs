//! The creditor's claims in the browser (register, list, claim page, actions) and the staff view
//! of a claim with its blocking flags. Both render the same claim page.

use crate::auth::Ctx;
use crate::web::extract::{Form, Query};
use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{
    ClaimRecord, InsertError, OPEN_STATES,
    input::{self, AddressInput, ClaimInput, DebtorInput},
};
use crate::{
    auth::STAFF,
    auth::access_log::{self, Accessor},
    auth::audit,
    domain::fees::FeeKind,
    domain::{
        interest::Segment,
        lifecycle::{self, ClaimState},
        money::Sek,
        statement::{FeeLine, Statement},
    },
    letters,
    state::AppState,
    web::{
        AppError, FlashKind, Layout, filters, flash_redirect, forms::FieldErrors, render,
        render_status,
    },
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/borgenar/krav", get(list))
        .route("/borgenar/krav/ny", get(new_form).post(create))
        .route("/borgenar/krav/{id}", get(creditor_page))
        .route("/borgenar/krav/{id}/atgard", post(creditor_action))
        .route("/borgenar/krav/{id}/brev/{letter}", get(creditor_letter))
        .route(
            "/borgenar/krav/{id}/brev/{letter}/pdf",
            get(creditor_letter_pdf),
        )
        .route("/admin/krav", get(staff_search))
        .route("/admin/krav/{id}", get(staff_page))
        .route("/admin/krav/{id}/flaggor", post(staff_flags))
        .route("/admin/krav/{id}/brev/{letter}", get(staff_letter))
        .route("/admin/krav/{id}/brev/{letter}/pdf", get(staff_letter_pdf))
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
        }
    }
}

#[derive(Template)]
#[template(path = "claims/new.html")]
struct NewPage {
    layout: Layout,
    form: ClaimForm,
    errors: FieldErrors,
    pending: bool,
}

async fn creditor_status(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar("select status from creditor where creditor_id = $1")
        .bind(creditor_id)
        .fetch_one(conn)
        .await
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let status = creditor_status(&mut conn, creditor_id).await?;
    Ok(render(&NewPage {
        layout: ctx.layout(),
        form: ClaimForm {
            start_with: "reminder".into(),
            debtor_kind: "person".into(),
            debtor_capacity: "consumer".into(),
            ..Default::default()
        },
        errors: FieldErrors::default(),
        pending: status == "pending",
    }))
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
    let status = creditor_status(&mut conn, creditor_id).await?;
    let refuse = |errors: FieldErrors, form: ClaimForm| {
        render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                layout: ctx.layout(),
                form,
                errors,
                pending: status == "pending",
            },
        )
    };
    let claim = match input::validate(&form.to_input(), today, &params) {
        Ok(c) => c,
        Err(invalid) => return Ok(refuse(invalid.into_errors(), form)),
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let id = match super::insert(&mut tx, creditor_id, &claim, Some(user.id), now, today).await {
        Ok(id) => id,
        Err(InsertError::DuplicateInvoiceNumber) => {
            let mut e = FieldErrors::default();
            e.add("invoice_number", DUPLICATE_INVOICE);
            return Ok(refuse(e, form));
        }
        Err(InsertError::Db(e)) => return Err(e.into()),
    };
    tx.commit().await?;
    Ok(flash_redirect(
        &format!("/borgenar/krav/{id}"),
        FlashKind::Success,
        &format!(
            "Fordran med faktura {} är registrerad.",
            claim.invoice_number
        ),
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

#[derive(FromRow)]
struct ListRow {
    claim_id: Uuid,
    invoice_number: String,
    debtor_name: String,
    capital: rust_decimal::Decimal,
    due_date: NaiveDate,
    state: String,
    registered_at: DateTime<Utc>,
    next_action_on: Option<NaiveDate>,
    blocked: bool,
    total: i64,
}

impl ListRow {
    fn state_label(&self) -> &'static str {
        ClaimState::parse(&self.state)
            .map(ClaimState::label)
            .unwrap_or("")
    }
}

pub const SORTS: &[(&str, &str, &str)] = &[
    (
        "registered",
        "Senast registrerade",
        "c.registered_at desc, c.case_number desc",
    ),
    (
        "due",
        "Förfallodag, äldst först",
        "c.due_date, c.case_number",
    ),
    (
        "capital",
        "Kapital, störst först",
        "c.capital desc, c.case_number",
    ),
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

#[derive(Template)]
#[template(path = "claims/list.html")]
struct ListPage {
    layout: Layout,
    query: ListQuery,
    errors: FieldErrors,
    rows: Vec<ListRow>,
    total: i64,
    page: u32,
    pages: u32,
    sorts: &'static [(&'static str, &'static str, &'static str)],
    states: &'static [(&'static str, &'static str)],
}

impl ListPage {
    /// The list URL for another page, keeping the filters.
    fn page_link(&self, page: u32) -> String {
        let q = &self.query;
        let page = page.to_string();
        let pairs: Vec<(&str, &str)> = [
            ("state", q.state.as_str()),
            ("q", q.q.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("sort", q.sort.as_str()),
            ("page", page.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        format!(
            "/borgenar/krav?{}",
            serde_urlencoded::to_string(pairs).unwrap_or_default()
        )
    }
}

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
    let order = SORTS
        .iter()
        .find(|(k, _, _)| *k == query.sort)
        .unwrap_or(&SORTS[0])
        .2;
    let page = query.page.unwrap_or(1).max(1);
    let filter = format!(
        "c.creditor_id = $1
        and ($2 = '' or ($2 = 'open' and c.state in {OPEN_STATES})
             or ($2 = 'blocked' and (c.disputed or c.paused or c.on_hold or c.deceased or c.returned_mail))
             or c.state = $2)
        and ($3 = '' or c.invoice_number ilike $3 or c.debtor_name ilike $3 or c.ocr like $4 or c.debtor_id_number like $4)
        and ($5::date is null or c.due_date >= $5) and ($6::date is null or c.due_date <= $6)"
    );
    let q = query.q.trim();
    let like = if q.is_empty() {
        String::new()
    } else {
        format!("%{}%", q.replace(['%', '_', '\\'], ""))
    };
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let digits_like = if digits.is_empty() {
        "-".into()
    } else {
        format!("%{digits}%")
    };
    let mut conn = state.db.acquire().await?;
    // The page's rows and the number of matches in one statement.
    let rows: Vec<ListRow> = sqlx::query_as(&format!(
        "select c.claim_id, c.invoice_number, c.debtor_name, c.capital, c.due_date, c.state,
                c.registered_at, c.next_action_on,
                (c.disputed or c.paused or c.on_hold or c.deceased or c.returned_mail) as blocked,
                count(*) over () as total
         from claim c where {filter} order by {order} limit $7 offset $8"
    ))
    .bind(creditor_id)
    .bind(&query.state)
    .bind(&like)
    .bind(&digits_like)
    .bind(from)
    .bind(to)
    .bind(PAGE_SIZE)
    .bind((page as i64 - 1) * PAGE_SIZE)
    .fetch_all(&mut *conn)
    .await?;
    let total = match rows.first() {
        Some(r) => r.total,
        // Past the last page (or nothing matches): count on its own.
        None if page > 1 => {
            sqlx::query_scalar(&format!("select count(*) from claim c where {filter}"))
                .bind(creditor_id)
                .bind(&query.state)
                .bind(&like)
                .bind(&digits_like)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *conn)
                .await?
        }
        None => 0,
    };
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

// ---------------------------------------------------------------------------------------------
// Claim page

use super::{EventSummary as EventRow, LetterSummary as LetterRow};

impl EventRow {
    /// The timeline line, in Swedish.
    fn text(&self) -> String {
        let d = |k: &str| {
            self.detail
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let amount = || {
            Sek::parse(&d("amount"))
                .map(|a| a.to_string())
                .unwrap_or_default()
        };
        match self.kind.as_str() {
            "registered" => "Fordran registrerades".into(),
            kind @ ("reminder" | "collection" | "final_notice") => {
                let title = letters::title_of(kind);
                let fee = self
                    .detail
                    .pointer("/fee/amount")
                    .and_then(Value::as_str)
                    .and_then(|a| Sek::parse(a).ok())
                    .map(|a| format!(", avgift {a}"))
                    .unwrap_or_default();
                format!("{title} skapades{fee}")
            }
            "letter_dispatched" => {
                let kind = letters::title_of(&d("kind"));
                let how = if d("channel") == "email" {
                    "med e-post"
                } else {
                    "med post"
                };
                format!(
                    "{kind} skickades {how}, sista betalningsdag {}",
                    d("deadline")
                )
            }
            "enforcement_ready" => {
                "Klar för ansökan om betalningsföreläggande hos Kronofogden".into()
            }
            "withdrawn" => format!("Återkallad av borgenären. {}", d("note")),
            "paused" => format!("Pausad av borgenären. {}", d("note")),
            "resumed" => "Återupptagen av borgenären".into(),
            "direct_payment" => format!(
                "Direktbetalning till borgenären {} den {}",
                amount(),
                d("on_date")
            ),
            "credit" => format!("Kreditering {} den {}", amount(), d("on_date")),
            "paid" => match Sek::parse(&d("overpaid")) {
                Ok(over) if over.is_positive() => {
                    format!("Betald i sin helhet; {over} för mycket återbetalas till betalaren")
                }
                _ => "Betald i sin helhet".into(),
            },
            "payment_received" => format!(
                "Betalning {} bokförd {} ({})",
                amount(),
                d("booked_on"),
                if d("match") == "manual" {
                    "kopplad för hand av Fordra"
                } else {
                    "OCR"
                }
            ),
            "fee_cancelled" => format!(
                "Avgiften {} togs bort: fordran var betald innan brevet skickades",
                FeeKind::parse(&d("kind")).map_or("", |k| k.label())
            ),
            "flag_set" => format!("Fordra markerade: {}", flag_label(&d("flag"))),
            "flag_cleared" => format!("Fordra tog bort markeringen: {}", flag_label(&d("flag"))),
            "address_verified" => "Adressen kontrollerad av Fordra".into(),
            "engine_error" => "Automatiskt steg misslyckades; Fordra undersöker".into(),
            "disputed" => format!(
                "Gäldenären bestred kravet på Mina sidor ({}). Alla automatiska steg stoppades",
                crate::mina_sidor::dispute::reason_label(&d("reason")).to_lowercase()
            ),
            "dispute_answered" => match d("answer").as_str() {
                "withdraw" => "Borgenären återkallade kravet efter bestridandet".into(),
                "reduce" => format!("Borgenären sänkte kravet med {} efter bestridandet", Sek::parse(&d("reduced_by")).map(|a| a.to_string()).unwrap_or_default()),
                _ => "Borgenären står fast vid kravet efter bestridandet".into(),
            },
            "dispute_closed" => format!("Fordra avslutade det bestridda ärendet. {}", d("note")),
            "released_for_court" => format!(
                "Fordra lämnade det bestridda ärendet för prövning i tingsrätt (aldrig Kronofogden). {}",
                d("note")
            ),
            "payment_plan_proposed" => format!("Gäldenären föreslog en amorteringsplan på {} månader", self.detail.get("months").and_then(Value::as_u64).unwrap_or(0)),
            "payment_plan_started" => format!("Amorteringsplan på {} månader startade", self.detail.get("months").and_then(Value::as_u64).unwrap_or(0)),
            "payment_plan_rejected" => format!("Förslaget om amorteringsplan avslogs. {}", d("note")),
            "payment_plan_withdrawn" => "Gäldenären återkallade sitt förslag om amorteringsplan".into(),
            "payment_plan_broken" => "Amorteringsplanen bröts: en delbetalning kom inte in i tid. Indrivningen fortsätter".into(),
            "address_changed" => "Gäldenärens nya adress godkändes av Fordra".into(),
            "refund_account_given" => "Gäldenären angav konto för återbetalning".into(),
            other => other.replace('_', " "),
        }
    }
}

pub const FLAGS: &[(&str, &str)] = &[
    ("deceased", "Gäldenären avliden"),
    ("returned_mail", "Post i retur"),
    ("on_hold", "Pausad av Fordra"),
];

fn flag_label(flag: &str) -> &'static str {
    FLAGS
        .iter()
        .find(|(k, _)| *k == flag)
        .map(|(_, l)| *l)
        .unwrap_or("okänd markering")
}

#[derive(FromRow)]
struct AddressChange {
    address_change_id: Uuid,
    street: String,
    postal_code: String,
    city: String,
    created_at: DateTime<Utc>,
}

pub struct Planned {
    pub label: &'static str,
    pub date: NaiveDate,
}

#[derive(Template)]
#[template(path = "claims/show.html")]
struct ClaimPage {
    layout: Layout,
    c: ClaimRecord,
    s: Statement,
    fees: Vec<FeeLine>,
    segments: Vec<Segment>,
    letters: Vec<LetterRow>,
    events: Vec<EventRow>,
    planned: Vec<Planned>,
    blocked: Option<&'static str>,
    books: crate::payments::ledger::ClaimBooks,
    bankgiro: String,
    staff: bool,
    base: &'static str,
    dispute: Option<crate::mina_sidor::dispute::DisputeView>,
    plan: Option<crate::mina_sidor::plan::PlanView>,
    /// Address changes the debtor asked for, waiting for staff (staff view only).
    address_changes: Vec<AddressChange>,
    errors: FieldErrors,
    action: String,
    amount: String,
    on_date: String,
    note: String,
}

impl ClaimPage {
    fn is_open(&self) -> bool {
        !self.c.state().is_terminal()
    }

    /// The creditor and staff see the amounts of a closed claim too.
    fn closed_message(&self) -> Option<&'static str> {
        None
    }

    fn flag_on(&self, flag: &str) -> bool {
        match flag {
            "deceased" => self.c.deceased,
            "returned_mail" => self.c.returned_mail,
            "on_hold" => self.c.on_hold,
            _ => false,
        }
    }
}

fn planned_label(state: ClaimState) -> &'static str {
    match state {
        ClaimState::Reminder => "Betalningspåminnelse skickas",
        ClaimState::Collection => "Inkassokrav skickas",
        ClaimState::FinalNotice => "Slutlig påminnelse skickas",
        ClaimState::EnforcementReady => "Klar för ansökan hos Kronofogden",
        _ => "",
    }
}

struct PageInput {
    errors: FieldErrors,
    action: String,
    amount: String,
    on_date: String,
    note: String,
}

impl PageInput {
    fn empty() -> PageInput {
        PageInput {
            errors: FieldErrors::default(),
            action: String::new(),
            amount: String::new(),
            on_date: String::new(),
            note: String::new(),
        }
    }
}

async fn claim_page(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    view: super::ClaimView,
    staff: bool,
    input: PageInput,
) -> Result<ClaimPage, AppError> {
    let today = state.clock.today();
    let params = state.parameters(&mut *conn).await?;
    let s = view.statement(&params, today)?;
    let letter = view.current_letter();
    let super::ClaimView {
        rec,
        letters,
        events,
        books,
        has_dispute,
        has_plan,
        ..
    } = view;
    let (planned, blocked) =
        match lifecycle::plan(&rec.snapshot(letter), today, params.book.in_force(today)) {
            Ok(steps) => (
                steps
                    .into_iter()
                    .map(|(state, date)| Planned {
                        label: planned_label(state),
                        date,
                    })
                    .collect(),
                None,
            ),
            Err(reason) => (vec![], Some(reason.label())),
        };
    let dispute = if has_dispute {
        crate::mina_sidor::dispute::latest(&mut *conn, rec.claim_id).await?
    } else {
        None
    };
    let plan = if has_plan {
        crate::mina_sidor::plan::latest(&mut *conn, rec.claim_id).await?
    } else {
        None
    };
    let address_changes = if staff {
        sqlx::query_as(
            "select address_change_id, street, postal_code, city, created_at from address_change
             where personal_number = $1 and status = 'pending' order by created_at",
        )
        .bind(&rec.debtor_id_number)
        .fetch_all(&mut *conn)
        .await?
    } else {
        vec![]
    };
    Ok(ClaimPage {
        dispute,
        plan,
        address_changes,
        layout: ctx.layout(),
        books,
        fees: s.fees.iter().filter(|f| !f.cancelled).cloned().collect(),
        segments: s.current_segments.clone(),
        s,
        c: rec,
        letters,
        events,
        planned,
        blocked,
        bankgiro: state.config.identity.bankgiro.clone(),
        staff,
        base: if staff {
            "/admin/krav"
        } else {
            "/borgenar/krav"
        },
        errors: input.errors,
        action: input.action,
        amount: input.amount,
        on_date: input.on_date,
        note: input.note,
    })
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
    super::load_view(conn, scope, id, true, access)
        .await?
        .ok_or(AppError::NotFound)
}

/// The creditor's own claim `id`; anything else is 404.
pub(crate) async fn own_claim(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    id: &str,
) -> Result<ClaimRecord, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    super::find(conn, id, Some(creditor_id))
        .await?
        .ok_or(AppError::NotFound)
}

/// Any claim (staff).
pub(crate) async fn any_claim(conn: &mut PgConnection, id: &str) -> Result<ClaimRecord, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    super::find(conn, id, None).await?.ok_or(AppError::NotFound)
}

async fn creditor_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let view = view_of(
        &mut conn,
        &state,
        &ctx,
        super::Scope::Creditor(creditor_id),
        &id,
    )
    .await?;
    Ok(render(
        &claim_page(&mut conn, &state, &ctx, view, false, PageInput::empty()).await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Creditor actions

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    action: String,
    amount: String,
    on_date: String,
    note: String,
}

async fn creditor_action(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let rec = own_claim(&mut conn, creditor_id, &id).await?;
    let today = state.clock.today();
    let now = state.clock.now();
    let back = format!("/borgenar/krav/{}", rec.claim_id);
    let note = form.note.trim().to_string();
    let mut errors = FieldErrors::default();
    if rec.state().is_terminal() {
        return Ok(flash_redirect(
            &back,
            FlashKind::Error,
            "Fordran är avslutad och kan inte ändras.",
        ));
    }
    if note.chars().count() > 500 {
        errors.add("note", "Kommentaren får vara högst 500 tecken.");
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Lock the claim so an engine pass cannot act on it half-way through the change.
    sqlx::query("select 1 from claim where claim_id = $1 for update")
        .bind(rec.claim_id)
        .execute(&mut *tx)
        .await?;
    let (event, detail, message): (&str, Value, String) = match form.action.as_str() {
        "withdraw" if errors.is_empty() => {
            match super::withdraw(&mut tx, &rec, &state.config.identity, now, today).await {
                Ok(()) => {}
                Err(super::StateError::Conflict) => {
                    drop(tx);
                    return Ok(flash_redirect(
                        &back,
                        FlashKind::Error,
                        "Fordran är avslutad och kan inte ändras.",
                    ));
                }
                Err(super::StateError::Db(e)) => return Err(e.into()),
                Err(super::StateError::Other(e)) => return Err(e.into()),
            }
            (
                "withdrawn",
                json!({"note": note}),
                "Fordran är återkallad. Inga fler brev skickas.".into(),
            )
        }
        "pause" if errors.is_empty() && !rec.paused => {
            sqlx::query("update claim set paused = true where claim_id = $1")
                .bind(rec.claim_id)
                .execute(&mut *tx)
                .await?;
            (
                "paused",
                json!({"note": note}),
                "Fordran är pausad. Inga brev skickas förrän ni återupptar den.".into(),
            )
        }
        "resume" if rec.paused => {
            sqlx::query("update claim set paused = false where claim_id = $1")
                .bind(rec.claim_id)
                .execute(&mut *tx)
                .await?;
            ("resumed", json!({}), "Fordran är återupptagen.".into())
        }
        kind @ ("direct_payment" | "credit") => {
            let params = state.parameters(&mut tx).await?;
            let s = super::load_statement(&mut tx, &rec, &params, today).await?;
            let amount = match Sek::parse(&form.amount) {
                Ok(a) if !a.is_positive() => {
                    errors.add("amount", "Beloppet måste vara större än noll.");
                    None
                }
                Ok(a) if a > s.capital => {
                    errors.add(
                        "amount",
                        format!(
                            "Beloppet kan inte vara större än kvarvarande kapital, {}.",
                            s.capital
                        ),
                    );
                    None
                }
                Ok(a) => Some(a),
                Err(e) => {
                    errors.add("amount", e.to_string());
                    None
                }
            };
            let on = crate::web::forms::parse_date(&form.on_date);
            match on {
                None => errors.add("on_date", "Ange datumet som ÅÅÅÅ-MM-DD."),
                Some(d) if d > today => {
                    errors.add("on_date", "Datumet kan inte ligga i framtiden.")
                }
                Some(d) if d < rec.invoice_date => {
                    errors.add("on_date", "Datumet kan inte vara före fakturadatumet.")
                }
                _ => {}
            }
            let (Some(amount), Some(on), true) = (amount, on, errors.is_empty()) else {
                drop(tx);
                return refuse_action(&mut conn, &state, &ctx, rec, errors, form, note).await;
            };
            sqlx::query(
                "insert into capital_reduction (capital_reduction_id, claim_id, kind, amount, on_date, created_at, created_by)
                 values ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(Uuid::new_v4())
            .bind(rec.claim_id)
            .bind(kind)
            .bind(amount.amount())
            .bind(on)
            .bind(now)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
            // Payments already allocated may now split differently (less interest ran).
            let report = crate::payments::ledger::sync_claims(
                &mut tx,
                &[rec.claim_id],
                &params,
                today,
                now,
                Some(user.id),
            )
            .await?;
            let label = if kind == "credit" {
                "Krediteringen"
            } else {
                "Direktbetalningen"
            };
            let mut message = format!("{label} på {amount} är registrerad.");
            if !report.paid.is_empty() {
                message.push_str(" Fordran är nu helt betald.");
            }
            (
                kind,
                json!({"amount": amount.to_plain(), "on_date": on, "note": note}),
                message,
            )
        }
        _ => {
            drop(tx);
            if !errors.is_empty() {
                return refuse_action(&mut conn, &state, &ctx, rec, errors, form, note).await;
            }
            return Ok(flash_redirect(
                &back,
                FlashKind::Error,
                "Åtgärden gick inte att utföra i fordrans nuvarande läge.",
            ));
        }
    };
    record_change(&mut tx, &rec, user.id, &ctx.ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(flash_redirect(&back, FlashKind::Success, &message))
}

/// The claim page again, with the action form's input and its errors (422).
async fn refuse_action(
    conn: &mut PgConnection,
    state: &AppState,
    ctx: &Ctx,
    rec: ClaimRecord,
    errors: FieldErrors,
    form: ActionForm,
    note: String,
) -> Result<Response, AppError> {
    let input = PageInput {
        errors,
        action: form.action,
        amount: form.amount,
        on_date: form.on_date,
        note,
    };
    let view = view_of(
        &mut *conn,
        state,
        ctx,
        super::Scope::Creditor(rec.creditor_id),
        &rec.claim_id.to_string(),
    )
    .await?;
    let page = claim_page(conn, state, ctx, view, false, input).await?;
    Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// A person changed a claim: the event on its timeline, the audit row, and the engine looks
/// at it again today.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_change(
    tx: &mut PgConnection,
    rec: &ClaimRecord,
    user_id: Uuid,
    ip: &str,
    event: &str,
    detail: Value,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), AppError> {
    let claim_id = rec.claim_id;
    super::add_event(
        &mut *tx,
        claim_id,
        now,
        today,
        event,
        Some(user_id),
        detail.clone(),
        None,
    )
    .await?;
    super::wake(&mut *tx, claim_id, today).await?;
    audit(
        &mut *tx,
        now,
        Some(user_id),
        &format!("claim_{event}"),
        Some(&claim_id.to_string()),
        detail,
        Some(ip),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Letters

#[derive(Template)]
#[template(path = "claims/letter.html")]
struct LetterPage {
    layout: Layout,
    title: &'static str,
    html: String,
    back: String,
    pdf: String,
    /// The claim is closed: the letter's amount is no longer to be paid.
    closed: Option<&'static str>,
}

async fn letter_row(
    conn: &mut PgConnection,
    claim_id: Uuid,
    letter: &str,
) -> Result<(String, String, Value), AppError> {
    let letter = Uuid::parse_str(letter).map_err(|_| AppError::NotFound)?;
    sqlx::query_as("select kind, html, snapshot from letter where letter_id = $1 and claim_id = $2")
        .bind(letter)
        .bind(claim_id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound)
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
        closed: crate::mina_sidor::closed_message(rec.state()),
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

async fn creditor_letter(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, letter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let rec = own_claim(&mut conn, creditor_id, &id).await?;
    access_log::log_access(
        &mut conn,
        Accessor::User(user),
        rec.claim_id,
        &rec.debtor_id_number,
        "brev",
        state.clock.now(),
    )
    .await?;
    show_letter(&mut conn, &ctx, &rec, "/borgenar/krav", &letter).await
}

async fn creditor_letter_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, letter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut conn = state.db.acquire().await?;
    let rec = own_claim(&mut conn, creditor_id, &id).await?;
    access_log::log_access(
        &mut conn,
        Accessor::User(user),
        rec.claim_id,
        &rec.debtor_id_number,
        "brev (PDF)",
        state.clock.now(),
    )
    .await?;
    letter_pdf(&mut conn, &rec, &letter).await
}

async fn staff_letter(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, letter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let rec = any_claim(&mut conn, &id).await?;
    access_log::log_access(
        &mut conn,
        Accessor::User(user),
        rec.claim_id,
        &rec.debtor_id_number,
        "brev",
        state.clock.now(),
    )
    .await?;
    show_letter(&mut conn, &ctx, &rec, "/admin/krav", &letter).await
}

async fn staff_letter_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, letter)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let rec = any_claim(&mut conn, &id).await?;
    access_log::log_access(
        &mut conn,
        Accessor::User(user),
        rec.claim_id,
        &rec.debtor_id_number,
        "brev (PDF)",
        state.clock.now(),
    )
    .await?;
    letter_pdf(&mut conn, &rec, &letter).await
}

// ---------------------------------------------------------------------------------------------
// Staff: find a claim, set and clear its blocking flags

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchQuery {
    q: String,
}

#[derive(FromRow)]
struct StaffRow {
    claim_id: Uuid,
    ocr: String,
    creditor_name: String,
    invoice_number: String,
    debtor_name: String,
    state: String,
}

impl StaffRow {
    fn state_label(&self) -> &'static str {
        ClaimState::parse(&self.state)
            .map(ClaimState::label)
            .unwrap_or("")
    }
}

#[derive(Template)]
#[template(path = "backoffice/claims.html")]
struct StaffSearchPage {
    layout: Layout,
    q: String,
    rows: Vec<StaffRow>,
    no_error: Option<&'static str>,
}

async fn staff_search(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(query): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let q = query.q.trim().to_string();
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let rows: Vec<StaffRow> = if q.is_empty() {
        vec![]
    } else {
        sqlx::query_as(
            "select c.claim_id, c.ocr, cr.name as creditor_name, c.invoice_number, c.debtor_name, c.state
             from claim c join creditor cr using (creditor_id)
             where c.ocr = $1 or c.debtor_id_number like '%' || $1 or ($1 <> '' and c.case_number::text = $1)
                or c.debtor_name ilike '%' || $2 || '%'
             order by c.registered_at desc limit 100",
        )
        .bind(if digits.len() >= 6 { digits } else { "-".into() })
        .bind(q.replace(['%', '_', '\\'], ""))
        .fetch_all(&mut *conn)
        .await?
    };
    let hits: Vec<Uuid> = rows.iter().map(|r| r.claim_id).collect();
    access_log::log_access_to(
        &mut conn,
        Accessor::User(user),
        &hits,
        "sökträff i back office",
        state.clock.now(),
    )
    .await?;
    Ok(render(&StaffSearchPage {
        layout: ctx.layout(),
        q,
        rows,
        no_error: None,
    }))
}

async fn staff_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let view = view_of(&mut conn, &state, &ctx, super::Scope::Any, &id).await?;
    Ok(render(
        &claim_page(&mut conn, &state, &ctx, view, true, PageInput::empty()).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct FlagForm {
    flag: String,
    value: String,
}

/// Sets or clears deceased, returned mail or on hold; `address_verified` records a checked
/// address and clears returned mail. Audited, on the timeline, and the engine looks again today.
async fn staff_flags(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FlagForm>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let rec = any_claim(&mut conn, &id).await?;
    let back = format!("/admin/krav/{}", rec.claim_id);
    let now = state.clock.now();
    let today = state.clock.today();
    let on = form.value == "on";
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let (event, detail, message) = match form.flag.as_str() {
        "address_verified" => {
            sqlx::query("update claim set address_verified_at = $2, returned_mail = false where claim_id = $1")
                .bind(rec.claim_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            (
                "address_verified",
                json!({}),
                "Adressen är markerad som kontrollerad.".to_string(),
            )
        }
        flag @ ("deceased" | "returned_mail" | "on_hold") => {
            // The column name comes from the fixed list above, never from the request.
            sqlx::query(&format!("update claim set {flag} = $2 where claim_id = $1"))
                .bind(rec.claim_id)
                .bind(on)
                .execute(&mut *tx)
                .await?;
            let verb = if on { "satt" } else { "borttagen" };
            (
                if on { "flag_set" } else { "flag_cleared" },
                json!({"flag": flag}),
                format!("Markeringen ”{}” är {verb}.", flag_label(flag)),
            )
        }
        _ => return Err(AppError::BadRequest("okänd markering".into())),
    };
    record_change(&mut tx, &rec, user.id, &ctx.ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(flash_redirect(&back, FlashKind::Success, &message))
}
