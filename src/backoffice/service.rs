//! What the staff dashboard reads.

use sqlx::PgConnection;

/// Something a debtor or creditor is waiting for staff to do, with the claim page where it is done.
#[derive(sqlx::FromRow)]
pub struct Todo {
    pub claim_id: uuid::Uuid,
    pub invoice_number: String,
    pub debtor_name: String,
    pub what: String,
    pub since: chrono::DateTime<chrono::Utc>,
}

/// Creditors waiting for a decision, approved creditors, and active users.
pub async fn counts(conn: &mut PgConnection) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "select (select count(*) from creditor where status = 'pending'),
                (select count(*) from creditor where status = 'approved'),
                (select count(*) from app_user where disabled_at is null)",
    )
    .fetch_one(conn)
    .await
}

/// What waits for staff: maintained or reduced disputes need a decision (never Kronofogden);
/// address changes need a check against the population register, done on one of the
/// person's claims (the newest open one). Oldest first.
pub async fn todo(conn: &mut PgConnection) -> sqlx::Result<Vec<Todo>> {
    sqlx::query_as(
        "select c.claim_id, c.invoice_number, c.debtor_name,
                case d.answer when 'maintain' then 'Bestriden, borgenären står fast: beslut om stängning eller domstol'
                              else 'Bestriden, borgenären satte ned: beslut om stängning eller domstol' end as what,
                d.answered_at as since
         from dispute d join claim c on c.claim_id = d.claim_id
         where d.answer in ('maintain', 'reduce') and d.decision is null
         union all
         select c.claim_id, c.invoice_number, c.debtor_name,
                'Adressändring att kontrollera: ' || a.street || ', ' || a.postal_code || ' ' || a.city,
                a.created_at
         from address_change a
         join lateral (select claim_id, invoice_number, debtor_name from claim
                       where debtor_id_number = a.personal_number
                       order by state in ('paid', 'withdrawn', 'written_off'), registered_at desc limit 1) c on true
         where a.status = 'pending'
         order by since",
    )
    .fetch_all(conn)
    .await
}

/// Support tickets still open.
pub async fn open_tickets(conn: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from ticket where status = 'open'").fetch_one(conn).await
}
