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

/// The agreement version a partner accepted last, with its text.
pub struct Signed {
    pub partner_name: String,
    pub org_nr: String,
    pub partner_number: String,
    pub status: String,
    pub version: String,
    pub title: String,
    pub body: String,
    pub sha256: String,
    pub via: String,
    pub signed_on: NaiveDate,
    pub signer_name: Option<String>,
    pub ends_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
}

pub async fn signed(conn: &mut PgConnection, partner_id: Uuid) -> sqlx::Result<Option<Signed>> {
    sqlx::query_as!(
        Signed,
        "select p.name as partner_name, p.org_nr, p.partner_number, p.status, a.terms_version as version,
                t.title, t.body, a.agreement_sha256 as sha256, a.via, a.signed_on,
                a.signer_name, p.agreement_ends_on as ends_on, p.revoked_on
         from partner_agreement a
         join partner p using (partner_id)
         join terms t on t.kind = a.terms_kind and t.version = a.terms_version
         where a.partner_id = $1
         order by a.signed_at desc limit 1",
        partner_id
    )
    .fetch_optional(conn)
    .await
}

/// A statement issued to the partner, with its payout's state.
pub struct Past {
    pub quarter: String,
    pub issued_on: NaiveDate,
    pub total: rust_decimal::Decimal,
    pub payout_state: Option<String>,
}

pub async fn statements(conn: &mut PgConnection, partner_id: Uuid) -> sqlx::Result<Vec<Past>> {
    sqlx::query_as!(
        Past,
        r#"select s.quarter, s.issued_on, s.total,
                  (select case when b.state is null then 'draft' else b.state end
                     from payout o left join payout_batch b using (batch_id)
                     where o.partner_statement_id = s.statement_id) as payout_state
           from partner_statement s where s.partner_id = $1 order by s.issued_at desc"#,
        partner_id
    )
    .fetch_all(conn)
    .await
}

/// Commission earned up to `today` and not yet on a statement.
pub async fn running_total(
    conn: &mut PgConnection,
    partner_id: Uuid,
    today: NaiveDate,
) -> sqlx::Result<rust_decimal::Decimal> {
    sqlx::query_scalar!(
        r#"select coalesce(sum(amount), 0) as "s!" from commission
           where partner_id = $1 and statement_id is null and allocated_on <= $2"#,
        partner_id,
        today
    )
    .fetch_one(conn)
    .await
}

/// Commission per month earned (the month's first day, the sum) from `first` to `today`.
pub async fn by_month(
    conn: &mut PgConnection,
    partner_id: Uuid,
    first: NaiveDate,
    today: NaiveDate,
) -> sqlx::Result<Vec<(NaiveDate, rust_decimal::Decimal)>> {
    let rows = sqlx::query!(
        r#"select date_trunc('month', allocated_on)::date as "month!", sum(amount) as "s!"
           from commission where partner_id = $1 and allocated_on >= $2 and allocated_on <= $3 group by 1"#,
        partner_id,
        first,
        today
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.month, r.s)).collect())
}
