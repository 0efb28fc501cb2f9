//! The only place with SQL for the claim's own tables (claim, claim_event, fee) and the reads
//! that assemble a claim with its money and letters. Functions take the caller's connection, so
//! the caller's transaction owns them.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use super::{ClaimRecord, FROM, SELECT_COLUMNS, compute_statement, input::NewClaim};
use crate::{
    auth::access_log::{self, Access},
    domain::{
        fees::{FeeKind, LetterKind},
        lifecycle::{ClaimState, LastLetter},
        money::Sek,
        ocr,
        statement::{FeeCharge, Movement, Statement},
    },
    parameters::Parameters,
};

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
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
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
/// event, in one transaction. Any invoice number already registered by the creditor (or
/// repeated in `claims`) fails the whole call and stores nothing.
pub async fn insert_many(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    claims: &[NewClaim],
    by: Option<Uuid>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<Vec<Uuid>, InsertError> {
    // Its own transaction (a savepoint inside the caller's): all the claims or none.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let conn: &mut PgConnection = &mut tx;
    let mut all = Vec::with_capacity(claims.len());
    for chunk in claims.chunks(2000) {
        let n = chunk.len() as i64;
        let numbers: Vec<i64> = sqlx::query_scalar!(
            r#"select nextval('claim_case_number_seq') as "n!" from generate_series(1, $1::bigint)"#,
            n
        )
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
        sqlx::query!(
            "insert into claim_event (claim_id, at, business_date, kind, actor_user_id, detail)
             select id, $2, $3, 'registered', $4, '{}' from unnest($1::uuid[]) as id",
            &ids,
            now,
            today,
            by
        )
        .execute(&mut *conn)
        .await?;
        all.extend(ids);
    }
    tx.commit().await?;
    Ok(all)
}

/// The states the engine still works on.
pub const OPEN: [ClaimState; 4] =
    [ClaimState::Registered, ClaimState::Reminder, ClaimState::Collection, ClaimState::FinalNotice];

/// States as the text array a query binds.
pub fn state_names(states: &[ClaimState]) -> Vec<&'static str> {
    states.iter().map(|s| s.as_str()).collect()
}

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

/// The one way claims change state: each of `ids` moves to `to` only from one of `expected`,
/// checked in the update itself, so two requests (or a request and the engine) can never both
/// act on the same state. Returns the claims that moved; the others were changed meanwhile.
pub async fn move_claims(
    conn: &mut PgConnection,
    ids: &[Uuid],
    expected: &[ClaimState],
    to: ClaimState,
) -> sqlx::Result<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        "update claim set state = $3, next_action_on = null
         where claim_id = any($1) and state = any($2)
         returning claim_id",
        ids,
        &state_names(expected) as &[&str],
        to.as_str()
    )
    .fetch_all(conn)
    .await
}

/// [`move_claims`] for one claim: an error when it was not in one of `expected`.
pub async fn change_state(
    conn: &mut PgConnection,
    claim_id: Uuid,
    expected: &[ClaimState],
    to: ClaimState,
) -> Result<(), StateError> {
    if move_claims(conn, &[claim_id], expected, to).await?.is_empty() {
        Err(StateError::Conflict)
    } else {
        Ok(())
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

/// Asks the engine to look at a claim again today (after any change that may unblock it).
pub async fn wake(conn: &mut PgConnection, claim_id: Uuid, today: NaiveDate) -> sqlx::Result<()> {
    sqlx::query!(
        "update claim set next_action_on = $2 where claim_id = $1 and state = any($3)",
        claim_id,
        today,
        &state_names(&OPEN) as &[&str]
    )
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
    Ok(sqlx::query!(
        "update claim set next_action_on = $2 where creditor_id = $1 and state = any($3)",
        creditor_id,
        today,
        &state_names(&OPEN) as &[&str]
    )
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
    sqlx::query!(
        "insert into claim_event (claim_id, at, business_date, kind, actor_user_id, detail, step_key)
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (claim_id, step_key) do nothing",
        claim_id,
        at,
        business_date,
        kind,
        actor,
        detail,
        step_key
    )
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
    sqlx::query!(
        "insert into fee (fee_id, claim_id, kind, amount, charged_on, letter_id) values ($1, $2, $3, $4, $5, $6)
         on conflict (claim_id, kind) do nothing",
        Uuid::new_v4(),
        claim_id,
        fee.kind.as_str(),
        fee.amount.amount(),
        fee.charged_on,
        letter_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Like [`find`], and locks the claim's row until the transaction ends.
pub async fn lock(
    conn: &mut PgConnection,
    claim_id: Uuid,
    creditor_id: Option<Uuid>,
) -> sqlx::Result<Option<ClaimRecord>> {
    one_claim(conn, claim_id, creditor_id, true).await
}

/// Pauses or resumes the engine's work on a claim (the creditor's choice).
pub async fn set_paused(conn: &mut PgConnection, claim_id: Uuid, paused: bool) -> sqlx::Result<()> {
    sqlx::query!("update claim set paused = $2 where claim_id = $1", claim_id, paused)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a reduction of the claim's capital: a payment made to the creditor directly
/// (`direct_payment`) or a credit note (`credit`).
pub async fn reduce_capital(
    conn: &mut PgConnection,
    claim_id: Uuid,
    kind: &str,
    amount: Sek,
    on: NaiveDate,
    now: DateTime<Utc>,
    by: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into capital_reduction (capital_reduction_id, claim_id, kind, amount, on_date, created_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::new_v4(),
        claim_id,
        kind,
        amount.amount(),
        on,
        now,
        by
    )
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
    one_claim(conn, claim_id, creditor_id, false).await
}

async fn one_claim(
    conn: &mut PgConnection,
    claim_id: Uuid,
    creditor_id: Option<Uuid>,
    lock: bool,
) -> sqlx::Result<Option<ClaimRecord>> {
    const FIND: &str = concat!(
        crate::claims::claim_select!(),
        " where c.claim_id = $1 and ($2::uuid is null or c.creditor_id = $2)"
    );
    const LOCK: &str = concat!(
        crate::claims::claim_select!(),
        " where c.claim_id = $1 and ($2::uuid is null or c.creditor_id = $2) for update of c"
    );
    sqlx::query_as(if lock { LOCK } else { FIND })
        .bind(claim_id)
        .bind(creditor_id)
        .fetch_optional(conn)
        .await
}

pub async fn fees(conn: &mut PgConnection, claim_id: Uuid) -> sqlx::Result<Vec<FeeCharge>> {
    Ok(fees_of(conn, &[claim_id]).await?.remove(&claim_id).unwrap_or_default())
}

/// The fees of each claim in `ids`, by charge date.
pub async fn fees_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<FeeCharge>>> {
    let rows = sqlx::query!(
        "select claim_id, kind, amount, charged_on from fee where claim_id = any($1) order by charged_on, kind",
        ids
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<FeeCharge>> = HashMap::new();
    for r in rows {
        let (claim, kind, amount, charged_on) = (r.claim_id, r.kind, r.amount, r.charged_on);
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
    Ok(movements_of(conn, &[claim_id]).await?.remove(&claim_id).unwrap_or_default())
}

/// The movements of each claim in `ids`, by date.
pub async fn movements_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, Vec<Movement>>> {
    let rows = sqlx::query!(
        r#"select claim_id as "claim_id!", false as "is_payment!", amount as "amount!", on_date as "on!"
           from capital_reduction where claim_id = any($1)
         union all
         select claim_id, true, amount, booked_on from payment where claim_id = any($1) and kind = 'payment'
         order by 4"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    let mut out: HashMap<Uuid, Vec<Movement>> = HashMap::new();
    for r in rows {
        let (claim, is_payment, amount, on) = (r.claim_id, r.is_payment, r.amount, r.on);
        let amount = Sek::from_decimal(amount);
        out.entry(claim).or_default().push(if is_payment {
            Movement::Payment { booked: on, amount }
        } else {
            Movement::CapitalReduction { on, amount }
        });
    }
    Ok(out)
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
    let rows = sqlx::query!(
        "select l.claim_id, l.kind, l.dispatched_on
         from unnest($1::uuid[], $2::text[]) as s(claim_id, kind)
         join letter l on l.claim_id = s.claim_id and l.kind = s.kind",
        &ids,
        &kinds as &[&str]
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.claim_id, r.kind, r.dispatched_on))
        .filter_map(|(claim, kind, dispatched_on)| {
            LetterKind::parse(&kind).map(|kind| (claim, LastLetter { kind, dispatched_on }))
        })
        .collect())
}

/// The claims a person may see on Mina sidor, for the person `$n`: their own personnummer, and
/// the companies they represent. One rule for the case list, a case and [`load_view`].
macro_rules! visible_to {
    ($n:literal) => {
        concat!(
            "(c.debtor_id_number = $",
            $n,
            " or c.debtor_id_number in
             (select company_id_number from representation where personal_number = $",
            $n,
            "))"
        )
    };
}

/// Claim `$1` within the scope `$2` (creditor) / `$3` (person), as [`load_view`] binds them.
const IN_SCOPE: &str = concat!(
    "c.claim_id = $1 and ($2::uuid is null or c.creditor_id = $2) and ($3::text is null or ",
    visible_to!(3),
    ")"
);

/// The cases visible to the person `pnr` (only `claim` when given), newest first.
pub async fn visible_claims(
    conn: &mut PgConnection,
    pnr: &str,
    claim: Option<Uuid>,
) -> sqlx::Result<Vec<ClaimRecord>> {
    sqlx::query_as(concat!(
        super::claim_select!(),
        " where ",
        visible_to!(1),
        " and ($2::uuid is null or c.claim_id = $2) order by c.registered_at desc"
    ))
    .bind(pnr)
    .bind(claim)
    .fetch_all(conn)
    .await
}

/// Open claims (not paid, withdrawn or written off), oldest case first, at most `limit`.
pub async fn open_claims(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<ClaimRecord>> {
    sqlx::query_as(concat!(
        super::claim_select!(),
        " where c.state not in ('paid', 'withdrawn', 'written_off') order by c.case_number limit $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A creditor's status (`pending`, `approved`, …).
pub async fn creditor_status(conn: &mut PgConnection, creditor_id: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar!("select status from creditor where creditor_id = $1", creditor_id)
        .fetch_one(conn)
        .await
}

/// A letter of the claim: its kind, HTML and the snapshot it was rendered from.
pub async fn letter(
    conn: &mut PgConnection,
    claim_id: Uuid,
    letter_id: Uuid,
) -> sqlx::Result<Option<(String, String, serde_json::Value)>> {
    sqlx::query_as("select kind, html, snapshot from letter where letter_id = $1 and claim_id = $2")
        .bind(letter_id)
        .bind(claim_id)
        .fetch_optional(conn)
        .await
}

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
    /// The partner whose user registered the claim for the creditor.
    pub registered_by_partner: Option<String>,
}

impl ClaimView {
    /// The letter of the claim's current step (a letter state's own letter).
    pub fn current_letter(&self) -> Option<LastLetter> {
        let kind = LetterKind::parse(&self.rec.state)?;
        self.letters
            .iter()
            .find(|l| l.kind == kind.as_str())
            .map(|l| LastLetter { kind, dispatched_on: l.dispatched_on })
    }

    pub fn statement(&self, params: &Parameters, today: NaiveDate) -> anyhow::Result<Statement> {
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
    registered_by_partner: Option<String>,
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
            insert into personal_data_access (at, actor_user_id, actor_api_key_id, actor_role, what, claim_ids, debtor_ids, ip)
            select $5, $6, $7, $8, $9, array[c.claim_id], array[c.debtor_id_number], $11
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
            exists (select 1 from payment_plan pp where pp.claim_id = c.claim_id) as has_plan,
            (select p.name || ' (partnernummer ' || p.partner_number || ')' from app_user u join partner p using (partner_id)
              where u.user_id = c.registered_by) as registered_by_partner
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
    .bind(crate::web::client_ip::current().map(|ip| ip.to_string()))
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
        registered_by_partner: r.registered_by_partner,
        rec: r.rec,
    }))
}

/// A row of the creditor's claim list.
#[derive(FromRow)]
pub struct ListRow {
    pub claim_id: Uuid,
    pub invoice_number: String,
    pub debtor_name: String,
    pub capital: Decimal,
    pub due_date: NaiveDate,
    pub state: String,
    pub registered_at: DateTime<Utc>,
    pub next_action_on: Option<NaiveDate>,
    pub blocked: bool,
    pub total: i64,
}

/// What the creditor's claim list is filtered by. Empty fields filter nothing.
pub struct ListFilter<'a> {
    /// `open`, `blocked` or a state name.
    pub state: &'a str,
    /// Matches invoice number and debtor name, or (by its digits) OCR and identity number.
    pub text: &'a str,
    pub due_from: Option<NaiveDate>,
    pub due_to: Option<NaiveDate>,
}

const BLOCKED: &str = "(c.disputed or c.paused or c.on_hold or c.deceased or c.returned_mail)";

fn push_list_filter(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>,
    creditor_id: Uuid,
    f: &ListFilter<'_>,
) {
    q.push(" where c.creditor_id = ").push_bind(creditor_id);
    match f.state {
        "" => {}
        "open" => {
            q.push(" and c.state = any(").push_bind(state_names(&OPEN)).push(")");
        }
        "blocked" => {
            q.push(" and ").push(BLOCKED);
        }
        state => {
            q.push(" and c.state = ").push_bind(state.to_string());
        }
    }
    let text = f.text.trim();
    if !text.is_empty() {
        let like = format!("%{}%", text.replace(['%', '_', '\\'], ""));
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        q.push(" and (c.invoice_number ilike ").push_bind(like.clone());
        q.push(" or c.debtor_name ilike ").push_bind(like);
        if !digits.is_empty() {
            let digits = format!("%{digits}%");
            q.push(" or c.ocr like ").push_bind(digits.clone());
            q.push(" or c.debtor_id_number like ").push_bind(digits);
        }
        q.push(")");
    }
    if let Some(from) = f.due_from {
        q.push(" and c.due_date >= ").push_bind(from);
    }
    if let Some(to) = f.due_to {
        q.push(" and c.due_date <= ").push_bind(to);
    }
}

/// One page of a creditor's claims, ordered by `order` (one of the fixed sort clauses), with
/// the number of matches.
pub async fn list(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    filter: &ListFilter<'_>,
    order: &'static str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ListRow>, i64)> {
    // The page's rows and the number of matches in one statement.
    let mut q = sqlx::QueryBuilder::new(format!(
        "select c.claim_id, c.invoice_number, c.debtor_name, c.capital, c.due_date, c.state,
                c.registered_at, c.next_action_on, {BLOCKED} as blocked, count(*) over () as total
         from claim c"
    ));
    push_list_filter(&mut q, creditor_id, filter);
    q.push(" order by ").push(order);
    q.push(" limit ").push_bind(limit).push(" offset ").push_bind(offset);
    let rows: Vec<ListRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let total = match rows.first() {
        Some(r) => r.total,
        // Past the last page (or nothing matches): count on its own.
        None if offset > 0 => {
            let mut q = sqlx::QueryBuilder::new("select count(*) from claim c");
            push_list_filter(&mut q, creditor_id, filter);
            q.build_query_scalar().fetch_one(&mut *conn).await?
        }
        None => 0,
    };
    Ok((rows, total))
}

/// A creditor's open claims: how many, their capital, and how many are blocked.
pub async fn open_summary(
    conn: &mut PgConnection,
    creditor_id: Uuid,
) -> sqlx::Result<(i64, Decimal, i64)> {
    sqlx::query_as(&format!(
        "select count(*), coalesce(sum(capital), 0), count(*) filter (where {BLOCKED})
         from claim c where creditor_id = $1 and state = any($2)"
    ))
    .bind(creditor_id)
    .bind(state_names(&OPEN))
    .fetch_one(conn)
    .await
}

/// A claim's timeline for the API: id, time, business date, kind and detail, oldest first.
pub async fn events(
    conn: &mut PgConnection,
    claim_id: Uuid,
) -> sqlx::Result<Vec<(i64, DateTime<Utc>, NaiveDate, String, serde_json::Value)>> {
    sqlx::query_as(
        "select claim_event_id, at, business_date, kind, detail from claim_event where claim_id = $1 order by claim_event_id",
    )
    .bind(claim_id)
    .fetch_all(conn)
    .await
}

/// The claim a letter names by its OCR and case code (what a debtor types to check a letter).
pub async fn by_letter(
    conn: &mut PgConnection,
    ocr: &str,
    case_code: &str,
) -> sqlx::Result<Option<ClaimRecord>> {
    sqlx::query_as(concat!(
        crate::claims::claim_select!(),
        " where c.ocr = $1 and c.case_code = $2"
    ))
    .bind(ocr)
    .bind(case_code)
    .fetch_optional(conn)
    .await
}

/// The letters sent on a claim: kind and dispatch date, oldest first.
pub async fn letters_sent(
    conn: &mut PgConnection,
    claim_id: Uuid,
) -> sqlx::Result<Vec<(String, NaiveDate)>> {
    sqlx::query_as(
        "select kind, dispatched_on from letter where claim_id = $1 and dispatched_on is not null order by dispatched_on",
    )
    .bind(claim_id)
    .fetch_all(conn)
    .await
}

/// A claim found by the staff's search.
#[derive(FromRow)]
pub struct SearchRow {
    pub claim_id: Uuid,
    pub ocr: String,
    pub creditor_name: String,
    pub invoice_number: String,
    pub debtor_name: String,
    pub state: String,
}

/// Claims by OCR, identity number (its end), case number or debtor name, newest first.
pub async fn search(conn: &mut PgConnection, q: &str) -> sqlx::Result<Vec<SearchRow>> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    sqlx::query_as(
        "select c.claim_id, c.ocr, cr.name as creditor_name, c.invoice_number, c.debtor_name, c.state
         from claim c join creditor cr using (creditor_id)
         where c.ocr = $1 or c.debtor_id_number like '%' || $1 or ($1 <> '' and c.case_number::text = $1)
            or c.debtor_name ilike '%' || $2 || '%'
         order by c.registered_at desc limit 100",
    )
    .bind(if digits.len() >= 6 { digits } else { "-".into() })
    .bind(q.replace(['%', '_', '\\'], ""))
    .fetch_all(conn)
    .await
}

/// The creditor of claim `claim_id` when that creditor is a current customer of `partner_id`.
pub async fn creditor_for_partner(
    conn: &mut PgConnection,
    claim_id: Uuid,
    partner_id: Uuid,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "select c.creditor_id from claim c
         join partner_customer pc on pc.creditor_id = c.creditor_id and pc.partner_id = $2 and pc.ended_on is null
         where c.claim_id = $1",
        claim_id,
        partner_id
    )
    .fetch_optional(conn)
    .await
}

/// The creditor with `org_nr` (12 digits) when it is a current customer of `partner_id`.
pub async fn customer_of_partner(
    conn: &mut PgConnection,
    partner_id: Uuid,
    org_nr: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "select c.creditor_id from creditor c
         join partner_customer pc on pc.creditor_id = c.creditor_id and pc.partner_id = $1 and pc.ended_on is null
         where c.org_nr = $2",
        partner_id,
        org_nr
    )
    .fetch_optional(conn)
    .await
}

/// What the API's list is filtered by, and where the page starts.
pub struct ApiFilter<'a> {
    /// A creditor's own claims, or those of a partner's current customers.
    pub creditor: Option<Uuid>,
    pub partner: Option<Uuid>,
    pub state: Option<&'a str>,
    pub invoice_number: Option<&'a str>,
    /// Claims with anything on their timeline at or after this.
    pub updated_since: Option<DateTime<Utc>>,
    /// After this (registered at, id): the cursor.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// One page of the API's list, oldest registration first (a claim registered later is on a
/// later page, so paging is stable under concurrent inserts).
pub async fn api_page(
    conn: &mut PgConnection,
    f: &ApiFilter<'_>,
) -> sqlx::Result<Vec<ClaimRecord>> {
    const PAGE: &str = concat!(
        crate::claims::claim_select!(),
        " where ($1::uuid is null or c.creditor_id = $1)
            and ($2::uuid is null or c.creditor_id in
                 (select pc.creditor_id from partner_customer pc where pc.partner_id = $2 and pc.ended_on is null))
            and ($3::text is null or c.state = $3)
            and ($4::text is null or c.invoice_number = $4)
            and ($5::timestamptz is null or exists
                 (select 1 from claim_event e where e.claim_id = c.claim_id and e.at >= $5))
            and ($6::timestamptz is null or (c.registered_at, c.claim_id) > ($6, $7::uuid))
          order by c.registered_at, c.claim_id limit $8"
    );
    sqlx::query_as(PAGE)
        .bind(f.creditor)
        .bind(f.partner)
        .bind(f.state)
        .bind(f.invoice_number)
        .bind(f.updated_since)
        .bind(f.after.map(|a| a.0))
        .bind(f.after.map(|a| a.1))
        .bind(f.limit)
        .fetch_all(conn)
        .await
}

/// The creditor's newest claim with this OCR or invoice number, if any.
pub async fn of_creditor_by_reference(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    reference: &str,
) -> sqlx::Result<Option<Uuid>> {
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    sqlx::query_scalar!(
        "select claim_id from claim where creditor_id = $1 and (ocr = $2 or invoice_number = $3)
         order by registered_at desc limit 1",
        creditor_id,
        digits,
        reference.trim()
    )
    .fetch_optional(conn)
    .await
}
