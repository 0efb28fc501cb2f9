//! The partner programme's transactions: partners made and decided on, creditors made their
//! customers (created, signed up through a link or a referral), referrals, relationships ended.

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

/// Creates a partner (`pending`, or `approved` having accepted the agreement on `today`); the
/// database gives it its number, which is returned. `None` when the org.nr is a partner already.
pub async fn create(
    conn: &mut PgConnection,
    org_nr: &IdNumber,
    name: &str,
    approved: bool,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> sqlx::Result<Option<String>> {
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
    .fetch_optional(&mut *conn)
    .await?;
    if number.is_some() && approved {
        accept_current_agreement(conn, partner_id, now, today).await?;
    }
    Ok(number)
}

/// Records that the partner accepted the current agreement version on `today`, by the
/// operator's word (partners made from the command line or in the demo); registrations sign it
/// with BankID instead.
pub async fn accept_current_agreement(
    conn: &mut PgConnection,
    partner_id: Uuid,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into partner_agreement (partner_id, terms_version, agreement_sha256, via, signed_at, signed_on)
         select $1, version, encode(sha256(convert_to(body, 'UTF8')), 'hex'), 'cli', $2, $3
         from terms where kind = 'partner' and published_on <= $3 order by published_on desc, version desc limit 1",
        partner_id,
        now,
        today
    )
    .execute(conn)
    .await?;
    Ok(())
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

/// The partner with this number (as typed: spaces and dashes ignored, check digit checked).
pub async fn find(conn: &mut PgConnection, number: &str) -> sqlx::Result<Option<Uuid>> {
    let Ok(serial) = partner::parse_number(number) else { return Ok(None) };
    sqlx::query_scalar!(
        "select partner_id from partner where partner_number = $1",
        partner::number(serial)
    )
    .fetch_optional(conn)
    .await
}

/// Makes `creditor_id` the customer of `partner_id` from `today`, if the rules allow (see
/// `domain::partner::attribute`); call in the transaction that created or signed up the
/// creditor.
pub async fn add_customer(
    conn: &mut PgConnection,
    partner_id: Uuid,
    creditor_id: Uuid,
    via: Via,
    params: &Parameters,
    today: NaiveDate,
) -> Result<Uuid, CustomerError> {
    let row = sqlx::query!(
        r#"select p.status = 'approved' and (p.revoked_on is null or p.revoked_on > $2)
                    and (p.agreement_ends_on is null or p.agreement_ends_on >= $2) as "active!",
                  exists(select 1 from partner_customer pc where pc.creditor_id = $3 and pc.ended_on is null
                         and pc.partner_id <> p.partner_id) as "other_customer!",
                  (select min(r.referred_on) from partner_referral r join creditor c on c.org_nr = r.org_nr
                    where c.creditor_id = $3 and r.partner_id = p.partner_id) as own_referral,
                  exists(select 1 from partner_referral r join creditor c on c.org_nr = r.org_nr
                         where c.creditor_id = $3 and r.partner_id <> p.partner_id and r.referred_on <= $2
                           and r.referred_on >= $2 - $4::int) as "other_referral!"
           from partner p where p.partner_id = $1"#,
        partner_id,
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
        partner_id,
        creditor_id,
        via.as_str(),
        today
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// A creditor that signed up: whose customer it is. The earliest referral of its org.nr still
/// within its days wins (`Via::Referral`); otherwise the partner whose link or code it used
/// (`Via::Link`). A partner whose link or referral did not count is told why
/// (`partner_not_attributed`).
#[allow(clippy::too_many_arguments)]
pub async fn on_sign_up(
    conn: &mut PgConnection,
    code: Option<&str>,
    creditor_id: Uuid,
    org_nr: &str,
    company_name: &str,
    params: &Parameters,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> sqlx::Result<()> {
    let limit = params.book.in_force(today).referral_valid_days;
    let referrals = sqlx::query!(
        "select partner_id, referred_on from partner_referral
         where org_nr = $1 and referred_on <= $2 order by referred_on, created_at",
        org_nr,
        today
    )
    .fetch_all(&mut *conn)
    .await?;
    let age = |on: NaiveDate| (today - on).num_days();
    // The first referral still within its days wins; partners whose referral is too old hear so.
    let referred = referrals.iter().find(|r| age(r.referred_on) <= i64::from(limit));
    let mut told: Vec<(Uuid, String)> = Vec::new();
    for r in referrals.iter().filter(|r| age(r.referred_on) > i64::from(limit)) {
        if told.iter().all(|(p, _)| *p != r.partner_id) {
            let why = NotAttributed::ReferralExpired { days: age(r.referred_on), limit };
            told.push((r.partner_id, why.to_string()));
        }
    }
    let referred = referred.map(|r| r.partner_id);
    let linked = match code {
        Some(code) => find(conn, code).await?,
        None => None,
    };
    let chosen = match (referred, linked) {
        (Some(r), _) => Some((r, Via::Referral)),
        (None, Some(l)) => Some((l, Via::Link)),
        (None, None) => None,
    };
    if let Some((partner_id, via)) = chosen {
        match add_customer(conn, partner_id, creditor_id, via, params, today).await {
            // It came through this partner after all: an old referral of its own is no news.
            Ok(_) => told.retain(|(p, _)| *p != partner_id),
            Err(CustomerError::NotAttributed(why)) => told.push((partner_id, why.to_string())),
            Err(CustomerError::UnknownPartner) => {}
            Err(CustomerError::Db(e)) => return Err(e),
        }
    }
    if let (Some(l), Some((r, _))) = (linked, chosen)
        && l != r
    {
        told.push((l, NotAttributed::OtherPartner.to_string()));
    }
    for (partner_id, reason) in told {
        sqlx::query!(
            "insert into partner_not_attributed (partner_id, org_nr, company_name, reason, on_date, created_at)
             values ($1, $2, $3, $4, $5, $6)",
            partner_id,
            org_nr,
            company_name,
            reason,
            today,
            now
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A referral the partner enters: the company's org.nr, name and e-mail.
pub struct Referral<'a> {
    pub org_nr: &'a IdNumber,
    pub name: &'a str,
    pub email: &'a str,
}

/// Records a referral, or says on which field why it cannot count: the company is a Fordra
/// customer already, another partner referred it within the referral's days (the first
/// referral wins), or this partner referred it already.
pub async fn refer(
    conn: &mut PgConnection,
    partner_id: Uuid,
    r: &Referral<'_>,
    params: &Parameters,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> sqlx::Result<Result<(), String>> {
    let days = params.book.in_force(today).referral_valid_days as i32;
    let seen = sqlx::query!(
        r#"select exists(select 1 from creditor where org_nr = $1) as "customer!",
                  (select max(referred_on) from partner_referral where org_nr = $1 and partner_id = $2
                     and referred_on >= $3::date - $4::int) as own,
                  exists(select 1 from partner_referral where org_nr = $1 and partner_id <> $2
                         and referred_on >= $3::date - $4::int) as "other!""#,
        r.org_nr.as_str(),
        partner_id,
        today,
        days
    )
    .fetch_one(&mut *conn)
    .await?;
    if seen.customer {
        return Ok(Err(NotAttributed::ExistedBefore.to_string()));
    }
    if let Some(on) = seen.own {
        return Ok(Err(format!(
            "Ni hänvisade företaget redan {on}; hänvisningen gäller i {days} dagar."
        )));
    }
    if seen.other {
        return Ok(Err(NotAttributed::OtherPartner.to_string()));
    }
    sqlx::query!(
        "insert into partner_referral (referral_id, partner_id, org_nr, name, email, referred_on, created_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        Uuid::new_v4(),
        partner_id,
        r.org_nr.as_str(),
        r.name,
        r.email,
        today,
        now
    )
    .execute(conn)
    .await?;
    Ok(Ok(()))
}

/// What an admin decides about a partner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A pending partner starts: it can earn from today.
    Approve,
    /// An approved partner stops earning from today; its customers stay Fordra's customers.
    Revoke,
}

/// Applies `decision` if the partner is in the state it needs (pending to approve, approved to
/// revoke); audited with the reason. `false` when it was not (decided meanwhile).
pub async fn decide(
    conn: &mut PgConnection,
    partner_id: Uuid,
    decision: Decision,
    reason: &str,
    by: &crate::auth::Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let changed = match decision {
        Decision::Approve => sqlx::query!(
            "update partner set status = 'approved', approved_at = $2 where partner_id = $1 and status = 'pending'",
            partner_id,
            by.now
        ),
        Decision::Revoke => sqlx::query!(
            "update partner set status = 'revoked', revoked_on = $2 where partner_id = $1 and status = 'approved'",
            partner_id,
            by.today
        ),
    }
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    let action = match decision {
        Decision::Approve => "partner_approved",
        Decision::Revoke => "partner_revoked",
    };
    by.audit(&mut tx, action, Some(&partner_id.to_string()), serde_json::json!({"reason": reason}))
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// The partner a creditor is a customer of now: (partner's name, number, since).
pub async fn current_partner(
    conn: &mut PgConnection,
    creditor_id: Uuid,
) -> sqlx::Result<Option<(String, String, NaiveDate)>> {
    let row = sqlx::query!(
        "select p.name, p.partner_number, pc.since from partner_customer pc join partner p using (partner_id)
         where pc.creditor_id = $1 and pc.ended_on is null",
        creditor_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.name, r.partner_number, r.since)))
}

/// Ends a creditor's relationship with its partner on the business date, from either side:
/// `partner_id` is the partner ending it (only its own customers), `None` when the creditor
/// ends it. Kept with its end date (commission still accrues for a while after it; see
/// `domain::commission::eligible`); audited. `false` when there was none to end.
pub async fn end_relationship(
    conn: &mut PgConnection,
    creditor_id: Uuid,
    partner_id: Option<Uuid>,
    by: &crate::auth::Acting<'_>,
) -> sqlx::Result<bool> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let ended = sqlx::query_scalar!(
        "update partner_customer set ended_on = greatest($3, since)
         where creditor_id = $1 and ended_on is null and ($2::uuid is null or partner_id = $2)
         returning partner_id",
        creditor_id,
        partner_id,
        by.today
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(of) = ended else { return Ok(false) };
    let side = if partner_id.is_some() { "partner" } else { "creditor" };
    let detail = serde_json::json!({"partner_id": of, "ended_by": side});
    by.audit(&mut tx, "partner_relationship_ended", Some(&creditor_id.to_string()), detail).await?;
    tx.commit().await?;
    Ok(true)
}

/// The partner gives notice: its agreement ends on `end` (the end of the period running).
/// Audited; a second notice changes nothing.
pub async fn give_notice(
    conn: &mut PgConnection,
    partner_id: Uuid,
    end: NaiveDate,
    by: &crate::auth::Acting<'_>,
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let updated = sqlx::query!(
        "update partner set agreement_ends_on = $2 where partner_id = $1 and agreement_ends_on is null",
        partner_id,
        end
    )
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 1 {
        let detail = serde_json::json!({"ends_on": end});
        by.audit(&mut tx, "partner_notice_given", Some(&partner_id.to_string()), detail).await?;
    }
    tx.commit().await
}

/// A company a partner registers as its customer.
pub struct NewCustomer<'a> {
    pub org_nr: &'a IdNumber,
    pub name: &'a str,
    pub contact_name: &'a str,
    pub email: &'a str,
}

#[derive(askama::Template)]
#[template(path = "emails/partner_customer.txt")]
struct CustomerInvitation<'a> {
    partner: &'a str,
    company: &'a str,
    link: &'a str,
    hours: i64,
}

/// The partner creates a customer: a pending creditor (Fordra's customer assessment still
/// decides before any letter goes out) that is the partner's customer from `today`, and its
/// contact, who gets an invitation to choose a password and accept the terms. `Err` with the
/// field and why when the company is a Fordra customer already, the address has an account, or
/// the partner may not get customers; nothing is stored then.
pub async fn create_customer(
    conn: &mut PgConnection,
    partner_id: Uuid,
    c: &NewCustomer<'_>,
    placeholder: &str,
    params: &Parameters,
    (by, public_url): (&crate::auth::Acting<'_>, &str),
) -> anyhow::Result<Result<Uuid, (&'static str, String)>> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let creditor_id = Uuid::new_v4();
    let form = crate::domain::company::CompanyForm::default_for(c.org_nr);
    let inserted = sqlx::query!(
        "insert into creditor (creditor_id, org_nr, name, status, contact_name, contact_email, company_form, created_at)
         values ($1, $2, $3, 'pending', $4, $5, $6, $7) on conflict (org_nr) do nothing",
        creditor_id,
        c.org_nr.as_str(),
        c.name,
        c.contact_name,
        c.email,
        form.as_str(),
        by.now
    )
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        let why =
            "Företaget är redan kund hos Fordra. En kund som fanns före er kan inte bli er kund.";
        return Ok(Err(("org_nr", why.into())));
    }
    match add_customer(&mut tx, partner_id, creditor_id, Via::Created, params, by.today).await {
        Ok(_) => {}
        Err(CustomerError::Db(e)) => return Err(e.into()),
        Err(e) => return Ok(Err(("org_nr", e.to_string()))),
    }
    let user = sqlx::query_scalar!(
        "insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, email_verified_at)
         values ($1, $2, $3, 'creditor', $4, $5, null)
         on conflict (lower(email)) do nothing returning user_id",
        Uuid::new_v4(),
        c.email,
        placeholder,
        c.contact_name,
        creditor_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = user else {
        let why = "Det finns redan ett konto med den e-postadressen. Ange kundens egen adress.";
        return Ok(Err(("email", why.into())));
    };
    let partner: String =
        sqlx::query_scalar!("select name from partner where partner_id = $1", partner_id)
            .fetch_one(&mut *tx)
            .await?;
    let hours = crate::auth::service::INVITATION_HOURS;
    let link = crate::auth::service::one_time_link(
        &mut tx,
        public_url,
        user,
        crate::auth::service::LinkPurpose::Password,
        by.now,
        chrono::Duration::hours(hours),
    )
    .await?;
    let text = askama::Template::render(&CustomerInvitation {
        partner: &partner,
        company: c.name,
        link: &link,
        hours,
    })?;
    let subject = format!("{partner} har registrerat {} hos Fordra", c.name);
    crate::mail::queue(&mut tx, c.email, &subject, &text, None, by.now).await?;
    let detail = serde_json::json!({"org_nr": c.org_nr.as_str(), "partner_id": partner_id, "email": c.email});
    by.audit(&mut tx, "partner_created_customer", Some(&creditor_id.to_string()), detail).await?;
    tx.commit().await?;
    Ok(Ok(creditor_id))
}

/// The creditor, if it is the partner's customer now (else `None`: another's is not shown).
pub async fn own_customer(
    conn: &mut PgConnection,
    partner_id: Uuid,
    creditor_id: Uuid,
) -> sqlx::Result<Option<(String, String, String)>> {
    let row = sqlx::query!(
        "select c.name, c.org_nr, c.status from partner_customer pc join creditor c using (creditor_id)
         where pc.partner_id = $1 and pc.creditor_id = $2 and pc.ended_on is null",
        partner_id,
        creditor_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.name, r.org_nr, r.status)))
}

/// The claim of one of the partner's current customers with this OCR or invoice number.
pub async fn claim_of_customers(
    conn: &mut PgConnection,
    partner_id: Uuid,
    reference: &str,
) -> sqlx::Result<Option<Uuid>> {
    let digits: String = reference.chars().filter(char::is_ascii_digit).collect();
    sqlx::query_scalar!(
        "select c.claim_id from claim c
         join partner_customer pc on pc.creditor_id = c.creditor_id and pc.partner_id = $1 and pc.ended_on is null
         where c.ocr = $2 or c.invoice_number = $3 order by c.registered_at desc limit 1",
        partner_id,
        digits,
        reference.trim()
    )
    .fetch_optional(conn)
    .await
}
