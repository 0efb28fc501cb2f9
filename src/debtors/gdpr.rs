//! "Mina uppgifter": everything Fordra holds about the logged-in person (GDPR art. 15), read for
//! the page and the JSON download on Mina sidor; and the access log: a row each time staff or a
//! creditor opens a debtor's personal data, which the debtor sees there.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

use crate::{
    claims::{self, ClaimRecord},
    state::AppState,
    web::prelude::*,
};

#[derive(Serialize, FromRow)]
pub struct PersonData {
    pub personal_number: String,
    pub given_name: String,
    pub surname: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub first_login_at: DateTime<Utc>,
    pub last_login_at: DateTime<Utc>,
}

#[derive(Serialize)]
pub struct CaseData {
    pub claim_id: Uuid,
    pub case_number: i64,
    pub ocr: String,
    pub creditor: String,
    pub invoice_number: String,
    pub description: String,
    pub state: String,
    pub debtor_name: String,
    pub address: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub capital: Decimal,
    pub balance_today: Decimal,
    pub due_date: NaiveDate,
    pub letters: Vec<LetterData>,
    pub payments: Vec<PaymentData>,
    pub disputes: Vec<DisputeData>,
    pub payment_plans: Vec<PlanData>,
    pub refund_account: Option<String>,
}

#[derive(Serialize, FromRow)]
pub struct LetterData {
    pub kind: String,
    pub created_on: NaiveDate,
    pub dispatched_on: Option<NaiveDate>,
    pub channel: String,
}

#[derive(Serialize, FromRow)]
pub struct PaymentData {
    pub booked_on: NaiveDate,
    pub amount: Decimal,
    pub payer_name: Option<String>,
    pub payer_account: Option<String>,
}

#[derive(Serialize, FromRow)]
pub struct DisputeData {
    pub created_at: DateTime<Utc>,
    pub reason: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub answer: Option<String>,
    pub answer_text: Option<String>,
    pub decision: Option<String>,
}

#[derive(Serialize, FromRow)]
pub struct PlanData {
    pub proposed_at: DateTime<Utc>,
    pub months: i32,
    pub total: Decimal,
    pub status: String,
}

#[derive(Serialize, FromRow)]
pub struct LoginData {
    pub started_at: DateTime<Utc>,
    pub status: String,
    pub end_user_ip: String,
}

#[derive(Serialize, FromRow)]
pub struct MessageData {
    pub created_at: DateTime<Utc>,
    pub subject: String,
    pub body: String,
}

#[derive(Serialize, FromRow)]
pub struct AddressRequestData {
    pub created_at: DateTime<Utc>,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub status: String,
}

#[derive(Serialize, FromRow)]
pub struct AccessData {
    pub at: DateTime<Utc>,
    pub who: String,
    pub role: String,
    pub what: String,
    pub invoice_number: Option<String>,
}

#[derive(Serialize)]
pub struct Export {
    pub generated_at: DateTime<Utc>,
    pub controller: String,
    pub person: PersonData,
    pub represents_companies: Vec<String>,
    pub cases: Vec<CaseData>,
    pub messages: Vec<MessageData>,
    pub address_requests: Vec<AddressRequestData>,
    pub logins: Vec<LoginData>,
    pub access_log: Vec<AccessData>,
}

pub async fn export(
    state: &AppState,
    conn: &mut PgConnection,
    pnr: &str,
) -> Result<Export, AppError> {
    let today = state.clock.today();
    let params = state.parameters(conn).await?;
    let person: PersonData = sqlx::query_as(
        "select personal_number, given_name, surname, email, phone, first_login_at, last_login_at
         from person where personal_number = $1",
    )
    .bind(pnr)
    .fetch_one(&mut *conn)
    .await?;
    let own: Vec<ClaimRecord> = sqlx::query_as(concat!(
        crate::claims::claim_select!(),
        " where c.debtor_id_number = $1 order by c.registered_at"
    ))
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    let mut cases = Vec::new();
    for c in own {
        let s = claims::load_statement(conn, &c, &params, today).await?;
        let id = c.claim_id;
        let letters = sqlx::query_as(
            "select kind, created_on, dispatched_on, channel from letter where claim_id = $1 order by created_on",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let payments = sqlx::query_as(
            "select booked_on, amount, payer_name, payer_account from payment where claim_id = $1 and kind = 'payment' order by booked_on",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let disputes = sqlx::query_as(
            "select created_at, reason, body, attachment_name, answer, answer_text, decision from dispute where claim_id = $1 order by created_at",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let payment_plans = sqlx::query_as(
            "select proposed_at, months, total, status from payment_plan where claim_id = $1 order by proposed_at",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        let refund_account: Option<(String, String)> =
            sqlx::query_as("select clearing, account from refund_account where claim_id = $1")
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        cases.push(CaseData {
            claim_id: id,
            case_number: c.case_number,
            ocr: c.ocr.clone(),
            creditor: c.creditor_name.clone(),
            invoice_number: c.invoice_number.clone(),
            description: c.description.clone(),
            state: c.state().label().to_string(),
            debtor_name: c.debtor_name.clone(),
            address: format!("{}, {} {}", c.debtor_street, c.debtor_postal_code, c.debtor_city),
            email: c.debtor_email.clone(),
            phone: c.debtor_phone.clone(),
            capital: c.capital,
            balance_today: s.balance.amount(),
            due_date: c.due_date,
            letters,
            payments,
            disputes,
            payment_plans,
            refund_account: refund_account.map(|(cl, a)| format!("{cl}-{a}")),
        });
    }
    let represents_companies = sqlx::query_scalar(
        "select company_id_number from representation where personal_number = $1 order by added_at",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    let messages = sqlx::query_as(
        "select t.created_at, t.subject, coalesce((select string_agg(m.body, E'\\n\\n' order by m.ticket_message_id)
             from ticket_message m where m.ticket_id = t.ticket_id), '') as body
         from ticket t where t.personal_number = $1 order by t.created_at",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    let address_requests = sqlx::query_as(
        "select created_at, street, postal_code, city, status from address_change where personal_number = $1 order by created_at",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    let logins = sqlx::query_as(
        "select started_at, status, end_user_ip from bankid_order where personal_number = $1 order by started_at",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    let access_log = sqlx::query_as(
        "select a.at,
                coalesce(u.display_name, kc.name || ', API-nyckel ' || k.prefix) as who,
                a.actor_role as role, a.what,
                (select string_agg(c.invoice_number, ', ' order by c.invoice_number) from claim c
                 where c.claim_id = any(a.claim_ids) and c.debtor_id_number = $1) as invoice_number
         from personal_data_access a
         left join app_user u on u.user_id = a.actor_user_id
         left join api_key k on k.api_key_id = a.actor_api_key_id
         left join creditor kc on kc.creditor_id = k.creditor_id
         where $1 = any(a.debtor_ids) order by a.at desc",
    )
    .bind(pnr)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Export {
        generated_at: state.clock.now(),
        controller: format!("{} ({})", state.config.identity.name, state.config.identity.org_nr),
        person,
        represents_companies,
        cases,
        messages,
        address_requests,
        logins,
        access_log,
    })
}
