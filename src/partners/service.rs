//! Partners made and given customers outside the portal (the command line, for now).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    domain::{
        ids::IdNumber,
        partner::{self, Arrival, NotAttributed, Via},
    },
    parameters::Parameters,
};

/// A partner as [`create`] made it.
pub struct Created {
    pub partner_id: Uuid,
    pub number: String,
}

/// Creates a partner (`pending`, or `approved` having accepted the agreement on `today`); the
/// database gives it its number. `None` when the org.nr is a partner already.
pub async fn create(
    conn: &mut PgConnection,
    org_nr: &IdNumber,
    name: &str,
    approved: bool,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> sqlx::Result<Option<Created>> {
    let partner_id = Uuid::new_v4();
    let number = sqlx::query_scalar!(
        "insert into partner (partner_id, org_nr, name, status, approved_at, agreement_signed_on, created_at)
         values ($1, $2, $3, case when $4 then 'approved' else 'pending' end,
                 case when $4 then $5::timestamptz end, case when $4 then $6::date end, $5)
         on conflict (org_nr) do nothing
         returning partner_number",
        partner_id,
        org_nr.as_str(),
        name,
        approved,
        now,
        today
    )
    .fetch_optional(conn)
    .await?;
    Ok(number.map(|number| Created { partner_id, number }))
}

/// Why a creditor could not be given to a partner.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error("Partnernumret finns inte.")]
    UnknownPartner,
    #[error("{0}")]
    NotAttributed(#[from] NotAttributed),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Makes `creditor_id` the customer of the partner numbered `number` from `today`, if the
/// rules allow (see `domain::partner::attribute`); call in the transaction that created or
/// signed up the creditor.
pub async fn add_customer(
    conn: &mut PgConnection,
    number: &str,
    creditor_id: Uuid,
    via: Via,
    params: &Parameters,
    today: NaiveDate,
) -> Result<Uuid, CustomerError> {
    let serial = partner::parse_number(number).map_err(|_| CustomerError::UnknownPartner)?;
    let number = partner::number(serial);
    let row = sqlx::query!(
        r#"select p.partner_id,
                  p.status = 'approved' and (p.revoked_on is null or p.revoked_on > $2) as "active!",
                  exists(select 1 from partner_customer pc where pc.creditor_id = $3 and pc.ended_on is null
                         and pc.partner_id <> p.partner_id) as "other_customer!",
                  (select min(r.referred_on) from partner_referral r join creditor c on c.org_nr = r.org_nr
                    where c.creditor_id = $3 and r.partner_id = p.partner_id) as own_referral,
                  exists(select 1 from partner_referral r join creditor c on c.org_nr = r.org_nr
                         where c.creditor_id = $3 and r.partner_id <> p.partner_id and r.referred_on <= $2
                           and r.referred_on >= $2 - $4::int) as "other_referral!"
           from partner p where p.partner_number = $1"#,
        number,
        today,
        creditor_id,
        params.book.in_force(today).referral_valid_days as i32
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(CustomerError::UnknownPartner)?;
    let arrival = Arrival {
        via,
        partner_active: row.active,
        // The creditor is being created or signing up now; one that was a customer before a
        // referral is refused when the partner enters the referral.
        existed_before: false,
        other_partner: row.other_customer || row.other_referral,
        referred_on: row.own_referral.filter(|_| via == Via::Referral),
        on: today,
    };
    partner::attribute(&arrival, params.book.in_force(today))?;
    let id = Uuid::new_v4();
    sqlx::query!(
        "insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since)
         values ($1, $2, $3, $4, $5)",
        id,
        row.partner_id,
        creditor_id,
        via.as_str(),
        today
    )
    .execute(conn)
    .await?;
    Ok(id)
}
