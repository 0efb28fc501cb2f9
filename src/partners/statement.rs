//! Quarterly commission statements (underlag): after a quarter has ended, every commission row
//! of the partner not yet on a statement and allocated by the quarter's last day goes on one,
//! which never changes afterwards (a later reversal goes on the next). A statement with money
//! to pay gets a payout in the payout batches, due within 10 days, to the partner's account
//! with its reference. When a partner's agreement ends, a final statement (`slut`) takes the
//! rest.

use anyhow::{Result, bail};
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::domain::{money::Sek, partner::Quarter};

#[derive(askama::Template)]
#[template(path = "emails/partner_statement.txt")]
struct IssuedMail<'a> {
    partner: &'a str,
    title: &'a str,
    total: Sek,
    due: NaiveDate,
    paid: bool,
    link: &'a str,
}

/// Days from issue to the payout's due date.
pub const PAYOUT_DAYS: i64 = 10;

/// A statement as shown and exported.
#[derive(Clone, Debug, Serialize)]
pub struct Statement {
    #[serde(skip)]
    pub statement_id: Uuid,
    #[serde(skip)]
    pub number: i64,
    pub partner: String,
    #[serde(skip)]
    pub partner_name: String,
    pub quarter: String,
    #[serde(skip)]
    pub issued_on: NaiveDate,
    pub lines: Vec<Line>,
    #[serde(serialize_with = "two_decimals")]
    pub total_excl_vat: Decimal,
    #[serde(serialize_with = "two_decimals")]
    pub vat: Decimal,
    #[serde(serialize_with = "two_decimals")]
    pub total: Decimal,
    pub payout_due: NaiveDate,
    /// draft (not yet in a batch), in a batch, or executed; `None` without a payout.
    #[serde(skip)]
    pub payout_state: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Line {
    pub date: NaiveDate,
    pub creditor_org_nr: String,
    #[serde(skip)]
    pub creditor_name: String,
    pub ocr: String,
    pub kind: String,
    #[serde(serialize_with = "two_decimals")]
    pub amount_excl_vat: Decimal,
    #[serde(serialize_with = "two_decimals")]
    pub vat: Decimal,
    #[serde(serialize_with = "two_decimals")]
    pub amount: Decimal,
}

/// An amount as a decimal string with a dot and öre: `6.00`, `-26.00`.
fn two_decimals<S: serde::Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{:.2}", d.round_dp(2)))
}

/// The letter kinds a line is for, in words.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "reminder" => "Betalningspåminnelse",
        "collection" => "Inkassokrav",
        "late_payment_compensation" => "Förseningsersättning",
        _ => "Provision",
    }
}

/// Issues the partner's statement for `quarter` (or returns the one issued) once the quarter
/// has ended; `None` while it runs. `period` is the quarter, or the final statement's last day.
pub async fn issue(
    conn: &mut PgConnection,
    partner_id: Uuid,
    period: Period,
    (now, today): (DateTime<Utc>, NaiveDate),
    public_url: &str,
) -> Result<Option<Uuid>> {
    let (label, last) = match period {
        Period::Quarter(q) => (q.to_string(), q.last_day()),
        Period::Final(end) => ("slut".to_string(), end),
    };
    if today <= last {
        return Ok(None);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // One issuer at a time per partner: the partner row is the lock.
    let p = sqlx::query!(
        "select name, payout_kind, payout_bankgiro, payout_clearing, payout_account, payout_reference, contact_email
         from partner where partner_id = $1 for update",
        partner_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(p) = p else { bail!("no partner {partner_id}") };
    if let Some(id) = sqlx::query_scalar!(
        "select statement_id from partner_statement where partner_id = $1 and quarter = $2",
        partner_id,
        label
    )
    .fetch_optional(&mut *tx)
    .await?
    {
        return Ok(Some(id));
    }
    let id = Uuid::new_v4();
    let due = today + Duration::days(PAYOUT_DAYS);
    let sums = sqlx::query!(
        r#"select coalesce(sum(amount_excl_vat), 0) as "net!", coalesce(sum(vat), 0) as "vat!",
                  coalesce(sum(amount), 0) as "total!"
           from commission where partner_id = $1 and statement_id is null and allocated_on <= $2"#,
        partner_id,
        last
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "insert into partner_statement (statement_id, partner_id, quarter, period_to, issued_on, issued_at,
            total_excl_vat, vat, total, payout_due)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        id,
        partner_id,
        label,
        last,
        today,
        now,
        sums.net,
        sums.vat,
        sums.total,
        due
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "update commission set statement_id = $1 where partner_id = $2 and statement_id is null and allocated_on <= $3",
        id,
        partner_id,
        last
    )
    .execute(&mut *tx)
    .await?;
    let account = match p.payout_kind.as_deref() {
        Some("bankgiro") => p.payout_bankgiro.clone().map(|bg| ("bankgiro", bg, None)),
        Some("bank_account") => {
            p.payout_account.clone().map(|a| ("bank_account", a, p.payout_clearing.clone()))
        }
        _ => None,
    };
    if let (true, Some((kind, number, clearing))) = (sums.total > Decimal::ZERO, account) {
        let number: String = if kind == "bankgiro" {
            number.chars().filter(char::is_ascii_digit).collect()
        } else {
            number
        };
        let reference = if p.payout_reference.is_empty() {
            format!("Provision {label}")
        } else {
            p.payout_reference.clone()
        };
        sqlx::query!(
            "insert into payout (payout_id, kind, partner_statement_id, amount, payee_name, account_kind, account,
                clearing, reference, created_at)
             values ($1, 'commission', $2, $3, $4, $5, $6, $7, $8, $9)",
            Uuid::new_v4(),
            id,
            sums.total,
            p.name,
            kind,
            number,
            clearing,
            reference,
            now
        )
        .execute(&mut *tx)
        .await?;
    }
    if !p.contact_email.is_empty() {
        let title = if label == "slut" {
            "slutunderlaget".to_string()
        } else {
            format!("underlaget för {label}")
        };
        let text = IssuedMail {
            partner: &p.name,
            title: &title,
            total: Sek::from_decimal(sums.total),
            due,
            paid: sums.total > Decimal::ZERO,
            link: &format!("{public_url}/partner/provision/{label}"),
        }
        .render()?;
        let subject = format!("Provisionsunderlag från Fordra: {title}");
        crate::mail::queue(&mut tx, &p.contact_email, &subject, &text, None, now).await?;
    }
    crate::auth::audit(
        &mut tx,
        now,
        None,
        "partner_statement_issued",
        Some(&id.to_string()),
        serde_json::json!({"partner_id": partner_id, "quarter": label, "total": sums.total}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

#[derive(Clone, Copy, Debug)]
pub enum Period {
    Quarter(Quarter),
    /// The final statement when the agreement ended on this day.
    Final(NaiveDate),
}

/// The engine's pass: the statements of the last ended quarter for every partner that has
/// signed an agreement, and final statements for agreements that have ended. Returns how many
/// were issued or found.
pub async fn issue_due(
    conn: &mut PgConnection,
    (now, today): (DateTime<Utc>, NaiveDate),
    public_url: &str,
) -> Result<usize> {
    let last = Quarter::of(today).previous();
    let due = sqlx::query!(
        "select p.partner_id, least(p.revoked_on, p.agreement_ends_on) as ended,
                exists (select 1 from partner_statement s where s.partner_id = p.partner_id and s.quarter = $1) as \"has_quarter!\",
                exists (select 1 from partner_statement s where s.partner_id = p.partner_id and s.quarter = 'slut') as \"has_final!\"
         from partner p
         where p.agreement_signed_on is not null and p.agreement_signed_on <= $2",
        last.to_string(),
        last.last_day()
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut issued = 0;
    for p in due {
        let ended_before = p.ended.is_some_and(|e| e < last.first_day());
        if !p.has_quarter && !ended_before {
            issued += usize::from(
                issue(conn, p.partner_id, Period::Quarter(last), (now, today), public_url)
                    .await?
                    .is_some(),
            );
        }
        if let (Some(end), false) = (p.ended, p.has_final) {
            issued += usize::from(
                issue(conn, p.partner_id, Period::Final(end), (now, today), public_url)
                    .await?
                    .is_some(),
            );
        }
    }
    Ok(issued)
}

/// The statement `label` of the partner, with its lines.
pub async fn load(
    conn: &mut PgConnection,
    partner_id: Uuid,
    label: &str,
) -> sqlx::Result<Option<Statement>> {
    let Some(h) = sqlx::query!(
        r#"select s.statement_id, s.number, p.partner_number, p.name, s.quarter, s.issued_on, s.total_excl_vat,
                  s.vat, s.total, s.payout_due,
                  (select case when b.state is null then 'draft' else b.state end
                     from payout o left join payout_batch b using (batch_id)
                     where o.partner_statement_id = s.statement_id) as payout_state
           from partner_statement s join partner p using (partner_id)
           where s.partner_id = $1 and s.quarter = $2"#,
        partner_id,
        label
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines = sqlx::query!(
        "select k.booked_on, cr.org_nr, cr.name, c.ocr, k.fee_kind, k.amount_excl_vat, k.vat, k.amount
         from commission k join claim c using (claim_id) join creditor cr on cr.creditor_id = k.creditor_id
         where k.statement_id = $1 order by k.booked_on, c.ocr, k.fee_kind, k.amount desc",
        h.statement_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|l| Line {
        date: l.booked_on,
        creditor_org_nr: crate::domain::ids::IdNumber::from_stored(&l.org_nr).display(),
        creditor_name: l.name,
        ocr: l.ocr,
        kind: l.fee_kind,
        amount_excl_vat: l.amount_excl_vat,
        vat: l.vat,
        amount: l.amount,
    })
    .collect();
    Ok(Some(Statement {
        statement_id: h.statement_id,
        number: h.number,
        partner: h.partner_number,
        partner_name: h.name,
        quarter: h.quarter,
        issued_on: h.issued_on,
        lines,
        total_excl_vat: h.total_excl_vat,
        vat: h.vat,
        total: h.total,
        payout_due: h.payout_due,
        payout_state: h.payout_state,
    }))
}

/// The statement as CSV the way Swedish Excel opens it: UTF-8 with BOM, `;`, decimal comma.
pub fn csv(s: &Statement) -> Vec<u8> {
    use crate::web::excel::{BOM, amount as comma, cell};
    let mut out = format!("{BOM}Datum;Kund;Org.nr;OCR;Avser;Belopp exkl. moms;Moms;Belopp\r\n");
    for l in &s.lines {
        out += &format!(
            "{};{};{};{};{};{};{};{}\r\n",
            l.date,
            cell(&l.creditor_name),
            l.creditor_org_nr,
            l.ocr,
            kind_label(&l.kind),
            comma(l.amount_excl_vat),
            comma(l.vat),
            comma(l.amount)
        );
    }
    out +=
        &format!(";;;;Summa;{};{};{}\r\n", comma(s.total_excl_vat), comma(s.vat), comma(s.total));
    out.into_bytes()
}

/// The statement as PDF, through the letters' PDF path.
pub fn pdf(s: &Statement, identity: &crate::config::Identity) -> Vec<u8> {
    use crate::letters::pdf::{Document, Face};
    let mut d = Document::new();
    d.line_at(56.0, &identity.name, 10.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("Org.nr {} · {}", identity.org_nr, identity.address),
        8.0,
        Face::Regular,
    );
    d.space(18.0);
    let title = if s.quarter == "slut" {
        "Slutunderlag".to_string()
    } else {
        format!("Provisionsunderlag {}", s.quarter)
    };
    d.line_at(56.0, &format!("{title} (nr {})", s.number), 16.0, Face::Bold);
    d.line_at(
        56.0,
        &format!("{}, partnernummer {}", s.partner_name, s.partner),
        10.0,
        Face::Regular,
    );
    d.line_at(
        56.0,
        &format!("Utställt {} · betalas senast {}", s.issued_on, s.payout_due),
        10.0,
        Face::Regular,
    );
    d.space(12.0);
    d.row("Datum · kund · OCR · avser", "Belopp inkl. moms", 9.0, Face::Bold);
    for l in &s.lines {
        d.row(
            &format!("{} · {} · {} · {}", l.date, l.creditor_name, l.ocr, kind_label(&l.kind)),
            &Sek::from_decimal(l.amount).to_string(),
            9.0,
            Face::Regular,
        );
    }
    d.space(6.0);
    d.row(
        "Summa exkl. moms",
        &Sek::from_decimal(s.total_excl_vat).to_string(),
        10.0,
        Face::Regular,
    );
    d.row("Moms", &Sek::from_decimal(s.vat).to_string(), 10.0, Face::Regular);
    d.row("Att betala", &Sek::from_decimal(s.total).to_string(), 10.0, Face::Bold);
    d.finish()
}
