//! Claims: registration, storage, and the view of a claim as of a business date.

pub mod api;
pub mod csv;
pub mod import;
pub mod input;
pub mod letters;
pub mod web;

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    auth::access_log::{self, Access},
    domain::{
        fees::{Capacity, FeeKind, LetterKind},
        ids::IdNumber,
        lifecycle::{self, ClaimSnapshot, ClaimState, LastLetter, StartWith, Step},
        money::Sek,
        ocr,
        statement::{FeeCharge, Movement, Statement, StatementInput, statement},
    },
    parameters::Parameters,
};
use input::NewClaim;

#[derive(Clone, Debug, FromRow)]
pub struct ClaimRecord {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub ocr: String,
    pub case_code: String,
    pub creditor_id: Uuid,
    pub creditor_name: String,
    pub creditor_org_nr: String,
    pub creditor_status: String,
    pub invoice_number: String,
    pub description: String,
    pub capital: Decimal,
    pub invoice_date: NaiveDate,
    pub due_date: NaiveDate,
    pub claim_arose_date: NaiveDate,
    pub reminder_fee_agreed: bool,
    pub start_with: String,
    pub debtor_kind: String,
    pub debtor_id_number: String,
    pub debtor_name: String,
    pub debtor_capacity: String,
    pub debtor_street: String,
    pub debtor_postal_code: String,
    pub debtor_city: String,
    pub debtor_email: Option<String>,
    pub debtor_phone: Option<String>,
    pub state: String,
    pub disputed: bool,
    pub paused: bool,
    pub on_hold: bool,
    pub deceased: bool,
    pub returned_mail: bool,
    pub payment_plan_active: bool,
    pub address_verified_at: Option<DateTime<Utc>>,
    pub next_action_on: Option<NaiveDate>,
    pub registered_at: DateTime<Utc>,
}

macro_rules! claim_columns {
    () => {
        "select c.claim_id, c.case_number, c.ocr, c.case_code, c.creditor_id,
        cr.name as creditor_name, cr.org_nr as creditor_org_nr, cr.status as creditor_status,
        c.invoice_number, c.description, c.capital, c.invoice_date, c.due_date, c.claim_arose_date,
        c.reminder_fee_agreed, c.start_with, c.debtor_kind, c.debtor_id_number, c.debtor_name,
        c.debtor_capacity, c.debtor_street, c.debtor_postal_code, c.debtor_city, c.debtor_email,
        c.debtor_phone, c.state, c.disputed, c.paused, c.on_hold, c.deceased, c.returned_mail,
        c.payment_plan_active, c.address_verified_at, c.next_action_on, c.registered_at"
    };
}

const SELECT_COLUMNS: &str = claim_columns!();
const FROM: &str = "from claim c join creditor cr using (creditor_id)";

/// The columns of a [`ClaimRecord`], from `claim c` joined to its creditor `cr`.
pub const SELECT: &str = concat!(
    claim_columns!(),
    " from claim c join creditor cr using (creditor_id)"
);

impl ClaimRecord {
    pub fn state(&self) -> ClaimState {
        ClaimState::parse(&self.state).unwrap_or(ClaimState::Registered)
    }

    pub fn capacity(&self) -> Capacity {
        if self.debtor_capacity == "business" {
            Capacity::Business
        } else {
            Capacity::Consumer
        }
    }

    pub fn debtor_id(&self) -> IdNumber {
        IdNumber::from_stored(&self.debtor_id_number)
    }

    pub fn snapshot(&self, last_letter: Option<LastLetter>) -> ClaimSnapshot {
        ClaimSnapshot {
            state: self.state(),
            start_with: if self.start_with == "collection" {
                StartWith::Collection
            } else {
                StartWith::Reminder
            },
            due_date: self.due_date,
            creditor_approved: self.creditor_status == "approved",
            disputed: self.disputed,
            paused: self.paused,
            on_hold: self.on_hold,
            deceased: self.deceased,
            returned_mail: self.returned_mail,
            payment_plan_active: self.payment_plan_active,
            debtor_birth_date: self.debtor_id().latest_birth_date(),
            claim_arose_date: self.claim_arose_date,
            last_letter,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("duplicate invoice number")]
    DuplicateInvoiceNumber,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A short code printed on letters, from an alphabet without look-alikes.
fn case_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

/// Registers one claim.
pub async fn insert(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    c: &NewClaim,
    by: Option<Uuid>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Uuid, InsertError> {
    let ids = insert_many(conn, creditor_id, std::slice::from_ref(c), by, now, today).await?;
    Ok(ids[0])
}

/// Registers claims in bulk (a few statements per thousand claims), each with its `registered`
/// event. Any invoice number already registered by the creditor (or repeated in `claims`) fails
/// the whole call; the caller's transaction then stores nothing.
pub async fn insert_many(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    claims: &[NewClaim],
    by: Option<Uuid>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Vec<Uuid>, InsertError> {
    let mut all = Vec::with_capacity(claims.len());
    for chunk in claims.chunks(2000) {
        let n = chunk.len() as i64;
        let numbers: Vec<i64> = sqlx::query_scalar(
            "select nextval('claim_case_number_seq') from generate_series(1, $1)",
        )
        .bind(n)
        .fetch_all(&mut *conn)
        .await?;
        let ids: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
        let col = |f: fn(&NewClaim) -> String| chunk.iter().map(f).collect::<Vec<String>>();
        let inserted: Vec<Uuid> = sqlx::query_scalar(
            "insert into claim (claim_id, case_number, ocr, case_code, creditor_id, invoice_number, description, capital,
                invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind, debtor_id_number,
                debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city, debtor_email, debtor_phone,
                next_action_on, registered_at, registered_by)
             select t.*, $23::date, $24::timestamptz, $25::uuid from unnest(
                $1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::numeric[],
                $9::date[], $10::date[], $11::date[], $12::bool[], $13::text[], $14::text[], $15::text[], $16::text[],
                $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[]) as t
             on conflict (creditor_id, invoice_number) do nothing
             returning claim_id",
        )
        .bind(&ids)
        .bind(&numbers)
        .bind(numbers.iter().map(|n| ocr::generate(*n as u64)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|_| case_code()).collect::<Vec<_>>())
        .bind(vec![creditor_id; chunk.len()])
        .bind(col(|c| c.invoice_number.clone()))
        .bind(col(|c| c.description.clone()))
        .bind(chunk.iter().map(|c| c.capital.amount()).collect::<Vec<Decimal>>())
        .bind(chunk.iter().map(|c| c.invoice_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|c| c.due_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|c| c.claim_arose_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|c| c.reminder_fee_agreed).collect::<Vec<_>>())
        .bind(col(|c| c.start_with.as_str().to_string()))
        .bind(col(|c| c.debtor_kind.to_string()))
        .bind(col(|c| c.debtor_id.as_str().to_string()))
        .bind(col(|c| c.debtor_name.clone()))
        .bind(col(|c| c.capacity.as_str().to_string()))
        .bind(col(|c| c.street.clone()))
        .bind(col(|c| c.postal_code.clone()))
        .bind(col(|c| c.city.clone()))
        .bind(chunk.iter().map(|c| c.email.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|c| c.phone.clone()).collect::<Vec<_>>())
        // The engine decides on its next pass whether to act or wait.
        .bind(today)
        .bind(now)
        .bind(by)
        .fetch_all(&mut *conn)
        .await?;
        if inserted.len() != chunk.len() {
            return Err(InsertError::DuplicateInvoiceNumber);
        }
        sqlx::query(
            "insert into claim_event (claim_id, at, business_date, kind, actor_user_id, detail)
             select id, $2, $3, 'registered', $4, '{}' from unnest($1::uuid[]) as id",
        )
        .bind(&ids)
        .bind(now)
        .bind(today)
        .bind(by)
        .execute(&mut *conn)
        .await?;
        all.extend(ids);
    }
    Ok(all)
}

/// The states the engine still works on, as an SQL list.
pub const OPEN_STATES: &str = "('registered', 'reminder', 'collection', 'final_notice')";

/// A claim was not in a state that allows the change (someone changed it meanwhile).
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("fordran är inte längre i ett läge som tillåter ändringen")]
    Conflict,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The one way a claim changes state: only from one of `expected`, checked in the update itself,
/// so two requests (or a request and the engine) can never both act on the same state.
pub async fn change_state(
    conn: &mut PgConnection,
    claim_id: Uuid,
    expected: &[ClaimState],
    to: ClaimState,
) -> Result<(), StateError> {
    let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
    let changed = sqlx::query(
        "update claim set state = $3, next_action_on = null where claim_id = $1 and state = any($2)",
    )
    .bind(claim_id)
    .bind(&expected)
    .bind(to.as_str())
    .execute(conn)
    .await?
    .rows_affected();
    if changed == 1 {
        Ok(())
    } else {
        Err(StateError::Conflict)
    }
}

/// The states a claim can still be withdrawn, paid or written off from.
pub const NOT_CLOSED: [ClaimState; 5] = [
    ClaimState::Registered,
    ClaimState::Reminder,
    ClaimState::Collection,
    ClaimState::FinalNotice,
    ClaimState::EnforcementReady,
];

/// Withdraws a claim for its creditor (`by`). Debtors who got a letter are told by a notice
/// letter (no amounts, nothing to pay). Refused when the claim is closed meanwhile.
pub async fn withdraw(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    identity: &crate::config::Identity,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<(), StateError> {
    change_state(conn, rec.claim_id, &NOT_CLOSED, ClaimState::Withdrawn).await?;
    let letters_sent: bool = sqlx::query_scalar(
        "select exists (select 1 from letter where claim_id = $1 and dispatched_on is not null)",
    )
    .bind(rec.claim_id)
    .fetch_one(&mut *conn)
    .await?;
    if letters_sent {
        let statement = Statement::closed(today);
        let snapshot = letters::build(
            LetterKind::Withdrawal,
            rec,
            &statement,
            today,
            today,
            today,
            identity,
        );
        letters::queue(conn, rec, &snapshot, now).await?;
    }
    Ok(())
}

/// Asks the engine to look at a claim again today (after any change that may unblock it).
pub async fn wake(conn: &mut PgConnection, claim_id: Uuid, today: NaiveDate) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "update claim set next_action_on = $2 where claim_id = $1 and state in {OPEN_STATES}"
    ))
    .bind(claim_id)
    .bind(today)
    .execute(conn)
    .await?;
    Ok(())
}

/// Wakes every open claim of a creditor (when it is approved).
pub async fn wake_creditor(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    today: NaiveDate,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(&format!(
        "update claim set next_action_on = $2 where creditor_id = $1 and state in {OPEN_STATES}"
    ))
    .bind(creditor_id)
    .bind(today)
    .execute(conn)
    .await?
    .rows_affected())
}

#[allow(clippy::too_many_arguments)]
pub async fn add_event(
    conn: &mut PgConnection,
    claim_id: Uuid,
    at: DateTime<Utc>,
    business_date: NaiveDate,
    kind: &str,
    actor: Option<Uuid>,
    detail: serde_json::Value,
    step_key: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into claim_event (claim_id, at, business_date, kind, actor_user_id, detail, step_key)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (claim_id, step_key) do nothing",
    )
    .bind(claim_id)
    .bind(at)
    .bind(business_date)
    .bind(kind)
    .bind(actor)
    .bind(detail)
    .bind(step_key)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a fee charged with `letter_id`, once per kind and claim.
pub async fn charge_fee(
    conn: &mut PgConnection,
    claim_id: Uuid,
    fee: &FeeCharge,
    letter_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into fee (fee_id, claim_id, kind, amount, charged_on, letter_id) values ($1, $2, $3, $4, $5, $6)
         on conflict (claim_id, kind) do nothing",
    )
    .bind(Uuid::new_v4())
    .bind(claim_id)
    .bind(fee.kind.as_str())
    .bind(fee.amount.amount())
    .bind(fee.charged_on)
    .bind(letter_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A claim of `creditor_id` (or any claim when `None`, for staff and the engine).
pub async fn find(
    conn: &mut PgConnection,
    claim_id: Uuid,
    creditor_id: Option<Uuid>,
) -> sqlx::Result<Option<ClaimRecord>> {
    sqlx::query_as(&format!(
        "{SELECT} where c.claim_id = $1 and ($2::uuid is null or c.creditor_id = $2)"
    ))
    .bind(claim_id)
    .bind(creditor_id)
    .fetch_optional(conn)
    .await
}

pub async fn fees(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Vec<FeeCharge>> {
    Ok(fees_of(conn, &[claim_id])
        .await?
        .remove(&claim_id)
        .unwrap_or_default())
}

/// The fees of each claim in `ids`, by charge date.
pub async fn fees_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<FeeCharge>>> {
    let rows: Vec<(Uuid, String, Decimal, NaiveDate)> = sqlx::query_as(
        "select claim_id, kind, amount, charged_on from fee where claim_id = any($1) order by charged_on, kind",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<FeeCharge>> = HashMap::new();
    for (claim, kind, amount, charged_on) in rows {
        if let Some(kind) = FeeKind::parse(&kind) {
            out.entry(claim).or_default().push(FeeCharge {
                kind,
                amount: Sek::from_decimal(amount),
                charged_on,
            });
        }
    }
    Ok(out)
}

/// Money movements of a claim: matched payments (by booking date) and capital reductions.
pub async fn movements(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Vec<Movement>> {
    Ok(movements_of(conn, &[claim_id])
        .await?
        .remove(&claim_id)
        .unwrap_or_default())
}

/// The movements of each claim in `ids`, by date.
pub async fn movements_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<Movement>>> {
    let rows: Vec<(Uuid, bool, Decimal, NaiveDate)> = sqlx::query_as(
        "select claim_id, false, amount, on_date from capital_reduction where claim_id = any($1)
         union all
         select claim_id, true, amount, booked_on from payment where claim_id = any($1) and kind = 'payment'
         order by 4",
    )
    .bind(ids)
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<Movement>> = HashMap::new();
    for (claim, is_payment, amount, on) in rows {
        let amount = Sek::from_decimal(amount);
        out.entry(claim).or_default().push(if is_payment {
            Movement::Payment { booked: on, amount }
        } else {
            Movement::CapitalReduction { on, amount }
        });
    }
    Ok(out)
}

/// The letter of the claim's current step, if it is a letter state.
pub async fn current_letter(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
) -> sqlx::Result<Option<LastLetter>> {
    Ok(current_letters_of(conn, std::slice::from_ref(rec))
        .await?
        .remove(&rec.claim_id))
}

/// The letter of each claim's current step, for the claims in a letter state that have one.
pub async fn current_letters_of(
    conn: &mut PgConnection,
    recs: &[ClaimRecord],
) -> sqlx::Result<HashMap<Uuid, LastLetter>> {
    let (ids, kinds): (Vec<Uuid>, Vec<&str>) = recs
        .iter()
        .filter_map(|r| LetterKind::parse(&r.state).map(|k| (r.claim_id, k.as_str())))
        .unzip();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String, Option<NaiveDate>)> = sqlx::query_as(
        "select l.claim_id, l.kind, l.dispatched_on
         from unnest($1::uuid[], $2::text[]) as s(claim_id, kind)
         join letter l on l.claim_id = s.claim_id and l.kind = s.kind",
    )
    .bind(&ids)
    .bind(&kinds)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(claim, kind, dispatched_on)| {
            LetterKind::parse(&kind).map(|kind| {
                (
                    claim,
                    LastLetter {
                        kind,
                        dispatched_on,
                    },
                )
            })
        })
        .collect())
}

/// The claim's money as of `today`.
pub fn compute_statement(
    rec: &ClaimRecord,
    fees: &[FeeCharge],
    movements: &[Movement],
    params: &Parameters,
    today: NaiveDate,
) -> Result<Statement> {
    let rules = params.book.in_force(rec.due_date);
    let interest_from = lifecycle::first_action_date(rec.due_date);
    Ok(statement(&StatementInput {
        capital: Sek::from_decimal(rec.capital),
        interest_from,
        fees,
        movements,
        as_of: today,
        rates: &params.rates,
        margin: rules.interest_margin,
        basis: rules.day_count,
    })?)
}

/// Loads a claim's fees and capital reductions and computes its money as of `today`.
pub async fn load_statement(
    conn: &mut PgConnection,
    rec: &ClaimRecord,
    params: &Parameters,
    today: NaiveDate,
) -> Result<Statement> {
    let fees = fees(&mut *conn, rec.claim_id).await?;
    let moves = movements(&mut *conn, rec.claim_id).await?;
    compute_statement(rec, &fees, &moves, params, today)
}

/// Claim `$1` within the scope `$2` (creditor) / `$3` (person), as [`load_view`] binds them.
const IN_SCOPE: &str = "c.claim_id = $1 and ($2::uuid is null or c.creditor_id = $2)
    and ($3::text is null or c.debtor_id_number = $3 or c.debtor_id_number in
         (select company_id_number from representation where personal_number = $3))";

/// Whose claim may be read: a creditor's own, any (staff and the engine), or those a debtor may
/// see on Mina sidor (their personnummer, and companies they represent).
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    Creditor(Uuid),
    Any,
    Person(&'a str),
}

/// A letter of a claim as pages list it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct LetterSummary {
    pub letter_id: Uuid,
    pub kind: String,
    pub created_on: NaiveDate,
    pub channel: String,
    pub dispatched_on: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
}

impl LetterSummary {
    pub fn title(&self) -> &'static str {
        crate::letters::title_of(&self.kind)
    }
}

/// An event on a claim's timeline, with the name of the person who caused it.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct EventSummary {
    pub at: DateTime<Utc>,
    pub kind: String,
    pub detail: serde_json::Value,
    pub actor: Option<String>,
}

/// Everything a claim page shows, read in one statement.
pub struct ClaimView {
    pub rec: ClaimRecord,
    pub fees: Vec<FeeCharge>,
    pub movements: Vec<Movement>,
    /// Oldest first.
    pub letters: Vec<LetterSummary>,
    /// Newest first; empty unless asked for.
    pub events: Vec<EventSummary>,
    pub books: crate::domain::books::ClaimBooks,
    pub refund_account: Option<(String, String)>,
    pub has_dispute: bool,
    pub has_plan: bool,
}

impl ClaimView {
    /// The letter of the claim's current step (a letter state's own letter).
    pub fn current_letter(&self) -> Option<LastLetter> {
        let kind = LetterKind::parse(&self.rec.state)?;
        self.letters
            .iter()
            .find(|l| l.kind == kind.as_str())
            .map(|l| LastLetter {
                kind,
                dispatched_on: l.dispatched_on,
            })
    }

    pub fn statement(&self, params: &Parameters, today: NaiveDate) -> Result<Statement> {
        compute_statement(&self.rec, &self.fees, &self.movements, params, today)
    }
}

#[derive(FromRow)]
struct ViewRow {
    #[sqlx(flatten)]
    rec: ClaimRecord,
    fees: sqlx::types::Json<Vec<(String, Decimal, NaiveDate)>>,
    movements: sqlx::types::Json<Vec<(bool, Decimal, NaiveDate)>>,
    letters: sqlx::types::Json<Vec<LetterSummary>>,
    events: Option<sqlx::types::Json<Vec<EventSummary>>>,
    books: sqlx::types::Json<Vec<(String, String, Decimal)>>,
    refund_clearing: Option<String>,
    refund_account: Option<String>,
    has_dispute: bool,
    has_plan: bool,
}

/// Loads claim `id` within `scope` with its fees, money movements, letters, books and (when
/// `with_events`) its timeline: one round trip, so that a page costs the database little. With
/// `access`, the same statement writes the access row.
pub async fn load_view(
    conn: &mut PgConnection,
    scope: Scope<'_>,
    id: Uuid,
    with_events: bool,
    access: Option<Access<'_>>,
) -> sqlx::Result<Option<ClaimView>> {
    let (creditor, person) = match scope {
        Scope::Creditor(c) => (Some(c), None),
        Scope::Any => (None, None),
        Scope::Person(p) => (None, Some(p)),
    };
    let (at, what, (user_id, role, key_id)) = match access {
        Some(a) => (Some(a.at), Some(a.what), a.who.parts()),
        None => (None, None, (None, "", None)),
    };
    // The claim is read and the access row written by one statement: a view of personal data
    // cannot happen without its row, and the page costs one round trip. The row's commit does
    // not wait for the WAL flush (see `access_log::relaxed_commit`).
    let relaxed = access_log::relaxed_commit("$10");
    let relax = access_log::may_relax(conn);
    let row: Option<ViewRow> = sqlx::query_as(&format!(
        "with {relaxed},
         logged as (
            insert into personal_data_access (at, actor_user_id, actor_api_key_id, actor_role, what, claim_ids, debtor_ids)
            select $5, $6, $7, $8, $9, array[c.claim_id], array[c.debtor_id_number]
            from claim c where $5::timestamptz is not null and {IN_SCOPE} and (select count(*) from relaxed) >= 0)
         {SELECT_COLUMNS},
            (select coalesce(json_agg(json_build_array(f.kind, f.amount::text, f.charged_on) order by f.charged_on, f.kind), '[]')
             from fee f where f.claim_id = c.claim_id) as fees,
            (select coalesce(json_agg(json_build_array(m.is_payment, m.amount::text, m.on_date) order by m.on_date), '[]')
             from (select false as is_payment, r.amount, r.on_date from capital_reduction r where r.claim_id = c.claim_id
                   union all
                   select true, p.amount, p.booked_on from payment p where p.claim_id = c.claim_id and p.kind = 'payment') m) as movements,
            (select coalesce(json_agg(json_build_object('letter_id', l.letter_id, 'kind', l.kind, 'created_on', l.created_on,
                    'channel', l.channel, 'dispatched_on', l.dispatched_on, 'deadline', l.deadline)
                    order by l.created_on, l.letter_id), '[]')
             from letter l where l.claim_id = c.claim_id) as letters,
            case when $4 then
                (select coalesce(json_agg(json_build_object('at', e.at, 'kind', e.kind, 'detail', e.detail,
                        'actor', (select u.display_name from app_user u where u.user_id = e.actor_user_id))
                        order by e.claim_event_id desc), '[]')
                 from claim_event e where e.claim_id = c.claim_id)
            end as events,
            (select coalesce(json_agg(json_build_array(b.account, b.kind, b.sum::text)), '[]')
             from (select l.account, e.kind, sum(l.amount) as sum from journal_line l join journal_entry e using (entry_id)
                   where l.claim_id = c.claim_id group by 1, 2) b) as books,
            ra.clearing as refund_clearing, ra.account as refund_account,
            exists (select 1 from dispute d where d.claim_id = c.claim_id) as has_dispute,
            exists (select 1 from payment_plan pp where pp.claim_id = c.claim_id) as has_plan
         {FROM} left join refund_account ra on ra.claim_id = c.claim_id
         where {IN_SCOPE}"
    ))
    .bind(id)
    .bind(creditor)
    .bind(person)
    .bind(with_events)
    .bind(at)
    .bind(user_id)
    .bind(key_id)
    .bind(role)
    .bind(what)
    .bind(relax)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| ClaimView {
        fees: r
            .fees
            .0
            .into_iter()
            .filter_map(|(kind, amount, charged_on)| {
                FeeKind::parse(&kind).map(|kind| FeeCharge {
                    kind,
                    amount: Sek::from_decimal(amount),
                    charged_on,
                })
            })
            .collect(),
        movements: r
            .movements
            .0
            .into_iter()
            .map(|(is_payment, amount, on)| {
                let amount = Sek::from_decimal(amount);
                if is_payment {
                    Movement::Payment { booked: on, amount }
                } else {
                    Movement::CapitalReduction { on, amount }
                }
            })
            .collect(),
        letters: r.letters.0,
        events: r.events.map(|e| e.0).unwrap_or_default(),
        books: crate::domain::books::books_from_sums(r.books.0),
        refund_account: r.refund_clearing.zip(r.refund_account),
        has_dispute: r.has_dispute,
        has_plan: r.has_plan,
        rec: r.rec,
    }))
}

/// The next planned step and its date, or `None` when nothing is planned (blocked or done).
pub fn planned_step(
    rec: &ClaimRecord,
    letter: Option<LastLetter>,
    params: &Parameters,
    today: NaiveDate,
) -> Option<(ClaimState, NaiveDate)> {
    let snapshot = rec.snapshot(letter);
    let step = lifecycle::next_step(&snapshot, today, params.book.in_force(today));
    match step {
        Step::WaitUntil(date) => rec
            .state()
            .successor(snapshot.start_with)
            .map(|target| (target, date)),
        other => other
            .target()
            .map(|t| (t, today.max(rec.next_action_on.unwrap_or(today)))),
    }
}

/// What a debtor is told about a closed case, which no longer asks for money.
pub fn closed_message(state: ClaimState) -> Option<&'static str> {
    match state {
        ClaimState::Paid => Some("Ärendet är betalt och avslutat. Du behöver inte göra något mer."),
        ClaimState::Withdrawn => Some(
            "Borgenären har återkallat kravet och ärendet är avslutat. Du behöver inte betala något till Fordra.",
        ),
        ClaimState::WrittenOff => {
            Some("Ärendet är avskrivet och avslutat. Du behöver inte betala något till Fordra.")
        }
        _ => None,
    }
}
