//! SQL for the partner's own tables.

use chrono::NaiveDate;
use sqlx::PgConnection;
use uuid::Uuid;

/// What the partner's overview shows of it.
pub struct Overview {
    pub name: String,
    pub partner_number: String,
    pub status: String,
    pub agreement_signed_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
    pub customers: i64,
}

pub async fn overview(conn: &mut PgConnection, partner_id: Uuid) -> sqlx::Result<Option<Overview>> {
    sqlx::query_as!(
        Overview,
        r#"select p.name, p.partner_number, p.status, p.agreement_signed_on, p.revoked_on,
                  (select count(*) from partner_customer pc where pc.partner_id = p.partner_id
                     and pc.ended_on is null) as "customers!"
           from partner p where p.partner_id = $1"#,
        partner_id
    )
    .fetch_optional(conn)
    .await
}

/// A creditor that is or was the partner's customer.
pub struct CustomerRow {
    pub creditor_id: Uuid,
    pub name: String,
    pub org_nr: String,
    pub via: String,
    pub since: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub claims: i64,
    pub open_claims: i64,
}

pub async fn customers(
    conn: &mut PgConnection,
    partner_id: Uuid,
) -> sqlx::Result<Vec<CustomerRow>> {
    sqlx::query_as!(
        CustomerRow,
        r#"select c.creditor_id, c.name, c.org_nr, pc.via, pc.since, pc.ended_on,
                  (select count(*) from claim k where k.creditor_id = c.creditor_id) as "claims!",
                  (select count(*) from claim k where k.creditor_id = c.creditor_id
                     and k.state not in ('paid', 'withdrawn', 'written_off')) as "open_claims!"
           from partner_customer pc join creditor c using (creditor_id)
           where pc.partner_id = $1 order by pc.ended_on nulls first, c.name"#,
        partner_id
    )
    .fetch_all(conn)
    .await
}

/// A company the partner referred.
pub struct ReferralRow {
    pub name: String,
    pub org_nr: String,
    pub email: String,
    pub referred_on: NaiveDate,
}

pub async fn referrals(
    conn: &mut PgConnection,
    partner_id: Uuid,
) -> sqlx::Result<Vec<ReferralRow>> {
    sqlx::query_as!(
        ReferralRow,
        "select name, org_nr, email, referred_on from partner_referral
         where partner_id = $1 order by referred_on desc, created_at desc",
        partner_id
    )
    .fetch_all(conn)
    .await
}

/// A company that came through the partner but is not its customer, and why.
pub struct NotAttributedRow {
    pub company_name: String,
    pub org_nr: String,
    pub reason: String,
    pub on_date: NaiveDate,
}

pub async fn not_attributed(
    conn: &mut PgConnection,
    partner_id: Uuid,
) -> sqlx::Result<Vec<NotAttributedRow>> {
    sqlx::query_as!(
        NotAttributedRow,
        "select company_name, org_nr, reason, on_date from partner_not_attributed
         where partner_id = $1 order by on_date desc, created_at desc",
        partner_id
    )
    .fetch_all(conn)
    .await
}

/// A partner as staff see it in the list.
pub struct PartnerRow {
    pub partner_id: Uuid,
    pub partner_number: String,
    pub name: String,
    pub org_nr: String,
    pub status: String,
    pub revoked_on: Option<NaiveDate>,
    pub customers: i64,
}

pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<PartnerRow>> {
    sqlx::query_as!(
        PartnerRow,
        r#"select p.partner_id, p.partner_number, p.name, p.org_nr, p.status, p.revoked_on,
                  (select count(*) from partner_customer pc where pc.partner_id = p.partner_id
                     and pc.ended_on is null) as "customers!"
           from partner p order by p.status = 'pending' desc, p.name"#
    )
    .fetch_all(conn)
    .await
}
