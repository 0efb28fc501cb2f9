//! Staff's actions on a claim page (flags, address changes); the creditor's actions live in
//! `claims::actions`, shared with the API.

use serde_json::json;
use sqlx::PgConnection;

use crate::{
    auth::Acting,
    claims::{self, web::record_change},
    web::AppError,
};

/// Staff set or clear a blocking flag on a claim (`deceased`, `returned_mail`, `on_hold`) or
/// mark its address as checked (`address_verified`); the timeline and the audit log say who.
/// Returns the message for staff.
pub async fn set_flag(
    conn: &mut PgConnection,
    rec: &claims::ClaimRecord,
    flag: &str,
    on: bool,
    by: &Acting<'_>,
) -> Result<String, AppError> {
    let (user_id, ip, now, today) = (by.user_id, by.ip, by.now, by.today);
    let mut tx = sqlx::Connection::begin(conn).await?;
    let (event, detail, message) = match flag {
        "address_verified" => {
            sqlx::query!("update claim set address_verified_at = $2, returned_mail = false where claim_id = $1", rec.claim_id, now)
                .execute(&mut *tx)
                .await?;
            ("address_verified", json!({}), "Adressen är markerad som kontrollerad.".to_string())
        }
        flag @ ("deceased" | "returned_mail" | "on_hold") => {
            sqlx::query!(
                "update claim set
                    deceased = case when $3 = 'deceased' then $2 else deceased end,
                    returned_mail = case when $3 = 'returned_mail' then $2 else returned_mail end,
                    on_hold = case when $3 = 'on_hold' then $2 else on_hold end
                 where claim_id = $1",
                rec.claim_id,
                on,
                flag
            )
            .execute(&mut *tx)
            .await?;
            let verb = if on { "satt" } else { "borttagen" };
            (
                if on { "flag_set" } else { "flag_cleared" },
                json!({"flag": flag}),
                format!("Markeringen ”{}” är {verb}.", super::flag_label(flag)),
            )
        }
        _ => return Err(AppError::BadRequest("okänd markering".into())),
    };
    record_change(&mut tx, rec, Some(user_id), ip, event, detail, now, today).await?;
    tx.commit().await?;
    Ok(message)
}

/// An address change the debtor asked for, waiting for staff.
#[derive(sqlx::FromRow)]
pub struct AddressChange {
    pub address_change_id: uuid::Uuid,
    pub street: String,
    pub postal_code: String,
    pub city: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The address changes waiting for staff for the person or company `id_number`, oldest first.
pub async fn pending_address_changes(
    conn: &mut PgConnection,
    id_number: &str,
) -> sqlx::Result<Vec<AddressChange>> {
    sqlx::query_as!(
        AddressChange,
        "select address_change_id, street, postal_code, city, created_at from address_change
         where personal_number = $1 and status = 'pending' order by created_at",
        id_number
    )
    .fetch_all(conn)
    .await
}
