//! The personal-data access log: a row each time staff, a creditor or a creditor's API key sees
//! a debtor's personal data (GDPR art. 15; the debtor sees the rows on Mina sidor). Written on the
//! caller's connection or transaction, with the client's address when a request made it.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::User;

/// Who opened a debtor's personal data: a signed-in user, or a creditor's API key.
#[derive(Clone, Copy)]
pub enum Accessor<'a> {
    User(&'a User),
    ApiKey(Uuid),
}

/// One view of a debtor's personal data to record: who, which view, when. A reader that loads
/// the data in one statement (`claims::load_view`) writes the row in that same statement.
#[derive(Clone, Copy)]
pub struct Access<'a> {
    pub who: Accessor<'a>,
    pub what: &'a str,
    pub at: DateTime<Utc>,
}

impl Accessor<'_> {
    /// The row's actor columns: user, role, API key.
    pub(crate) fn parts(self) -> (Option<Uuid>, &'static str, Option<Uuid>) {
        match self {
            Accessor::User(u) => (Some(u.id), u.role.as_str(), None),
            Accessor::ApiKey(k) => (None, "api", Some(k)),
        }
    }
}

/// A CTE (`relaxed`) that, when the boolean parameter `param` is true, commits the statement's
/// transaction without waiting for the WAL flush; reference it as
/// `(select count(*) from relaxed) >= 0`, and bind [`may_relax`]. Access rows are written on
/// every view of personal data and the flush was a third of a claim page's database cost: a
/// crash of the database server can lose the last fraction of a second of access rows, never
/// anything else.
pub fn relaxed_commit(param: &str) -> String {
    format!(
        "relaxed as (select set_config('synchronous_commit', 'off', true) where {param}::boolean)"
    )
}

/// Whether a statement on `conn` may relax its commit: only when it is its own transaction. A
/// transaction that may also move money keeps its synchronous commit.
pub fn may_relax(conn: &PgConnection) -> bool {
    !sqlx::Connection::is_in_transaction(conn)
}

/// Records that `who` opened the personal data of the debtor of claim `claim_id` (`what`: which
/// view), on the caller's connection or transaction.
pub async fn log_access(
    conn: &mut PgConnection,
    who: Accessor<'_>,
    claim_id: Uuid,
    debtor_id_number: &str,
    what: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (user_id, role, key_id) = who.parts();
    sqlx::query(&format!(
        "with {}
         insert into personal_data_access (at, actor_user_id, actor_api_key_id, actor_role, what, claim_ids, debtor_ids, ip)
         select $1, $2, $3, $4, $5, array[$6::uuid], array[$7::text], $9 where (select count(*) from relaxed) >= 0",
        relaxed_commit("$8")
    ))
    .bind(now)
    .bind(user_id)
    .bind(key_id)
    .bind(role)
    .bind(what)
    .bind(claim_id)
    .bind(debtor_id_number)
    .bind(may_relax(conn))
    .bind(crate::web::client_ip::current().map(|ip| ip.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records that `who` saw the debtors of `claims` (a list or search names them): one row for the
/// view, listing every claim shown and their debtors.
pub async fn log_access_to(
    conn: &mut PgConnection,
    who: Accessor<'_>,
    claims: &[Uuid],
    what: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    if claims.is_empty() {
        return Ok(());
    }
    let (user_id, role, key_id) = who.parts();
    sqlx::query(&format!(
        "with {}
         insert into personal_data_access (at, actor_user_id, actor_api_key_id, actor_role, what, claim_ids, debtor_ids, ip)
         select $1, $2, $3, $4, $5, array_agg(claim_id), array_agg(distinct debtor_id_number), $8
         from claim where claim_id = any($6) having count(*) > 0 and (select count(*) from relaxed) >= 0",
        relaxed_commit("$7")
    ))
    .bind(now)
    .bind(user_id)
    .bind(key_id)
    .bind(role)
    .bind(what)
    .bind(claims)
    .bind(may_relax(conn))
    .bind(crate::web::client_ip::current().map(|ip| ip.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
