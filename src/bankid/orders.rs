//! BankID orders as Fordra stores them: who started each (a hash of a token only that browser
//! holds), what BankID answered at each collect, and whether a completed order was used.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

/// What an order is for; an order of one purpose is never accepted by another's pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Identification on Mina sidor.
    Login,
    /// A partner's signature of the partner agreement at registration.
    PartnerSign,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Login => "login",
            Purpose::PartnerSign => "partner_sign",
        }
    }
}

/// Who started an order: the hash of the token only that browser holds, its IP, where to go
/// after the order, and whether it runs on a phone.
pub type Started<'a> = (Vec<u8>, &'a str, Option<String>, bool);

/// A BankID order, as stored.
#[derive(FromRow, Clone)]
pub struct OrderRow {
    pub bankid_order_id: Uuid,
    pub order_ref: String,
    pub qr_start_token: String,
    pub qr_start_secret: String,
    pub auto_start_token: String,
    pub started_at: DateTime<Utc>,
    pub status: String,
    pub hint_code: Option<String>,
    pub error_code: Option<String>,
    pub personal_number: Option<String>,
    pub completion: Option<serde_json::Value>,
    pub next_path: Option<String>,
    pub mobile: bool,
    pub consumed_at: Option<DateTime<Utc>>,
}

/// Stores a BankID order for `purpose` this browser (`browser_hash`) started from `ip`, with
/// where to go after it and whether it runs on a phone.
pub async fn store(
    conn: &mut PgConnection,
    id: Uuid,
    purpose: Purpose,
    order: &crate::bankid::OrderResponse,
    (browser_hash, ip, next, mobile): Started<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!("insert into bankid_order (bankid_order_id, order_ref, purpose, browser_hash, qr_start_token,
            qr_start_secret, auto_start_token, started_at, end_user_ip, next_path, mobile)
         values ($1, $2, $11, $3, $4, $5, $6, $7, $8, $9, $10)", id, &order.order_ref, browser_hash, &order.qr_start_token, &order.qr_start_secret, &order.auto_start_token, now, ip, next, mobile, purpose.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// The order `id` for `purpose`, if the browser with `browser_hash` started it.
pub async fn for_browser(
    conn: &mut PgConnection,
    id: Uuid,
    purpose: Purpose,
    browser_hash: &[u8],
) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(
        "select bankid_order_id, order_ref, qr_start_token, qr_start_secret, auto_start_token, started_at,
                status, hint_code, error_code, personal_number, completion, next_path, mobile, consumed_at
         from bankid_order where bankid_order_id = $1 and browser_hash = $2 and purpose = $3",
    )
    .bind(id)
    .bind(browser_hash)
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await
}

/// Whether this poll may collect the pending order now (the last collect was about two seconds
/// ago): concurrent polls never collect twice, the row update decides who does.
pub async fn take_collect_turn(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mine: Option<(Uuid,)> = sqlx::query_as(
        "update bankid_order set last_collect_at = $2
         where bankid_order_id = $1 and status = 'pending'
           and (last_collect_at is null or last_collect_at <= $2 - interval '1900 milliseconds')
         returning bankid_order_id",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(mine.is_some())
}

/// What a collect said: status, hint code, personal number and completion data.
pub async fn record_collect(
    conn: &mut PgConnection,
    id: Uuid,
    (status, hint, pnr, completion): (&str, Option<&str>, Option<&str>, &Option<serde_json::Value>),
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update bankid_order set status = $2, hint_code = $3, personal_number = $4, completion = $5,
            finished_at = case when $2 <> 'pending' then $6 end
         where bankid_order_id = $1").bind(id).bind(status).bind(hint).bind(pnr).bind(completion).bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The order failed at BankID with `code`.
pub async fn record_failure(
    conn: &mut PgConnection,
    id: Uuid,
    code: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!("update bankid_order set status = 'failed', error_code = $2, finished_at = $3 where bankid_order_id = $1", id, code, now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The user cancelled a pending order.
pub async fn cancel(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("update bankid_order set status = 'cancelled', finished_at = $2 where bankid_order_id = $1 and status = 'pending'", id, now)
    .execute(conn)
    .await?;
    Ok(())
}
