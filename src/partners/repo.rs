//! SQL for the partner's own tables.

use sqlx::PgConnection;
use uuid::Uuid;

/// The partner's company name.
pub async fn company_name(
    conn: &mut PgConnection,
    partner_id: Uuid,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select name from partner where partner_id = $1")
        .bind(partner_id)
        .fetch_optional(conn)
        .await
}
