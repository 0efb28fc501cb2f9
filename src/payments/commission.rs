//! Partner commission in the books: booked as allocations pay fees in full
//! (`domain::commission::earned`) and reversed when a fee stops being paid in full. Runs inside the transaction that brings the
//! claims' money up to date, with the claims locked, so a claim's commission is booked once.
//!
//! Each row is also a journal entry (commission expense against commission payable, with the
//! claim as dimension); `fordra check-ledger` ties the two together.

use std::collections::HashMap;

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{
    claims::ClaimRecord,
    domain::{
        commission::{self, Commission},
        fees::{FeeKind, LetterKind},
        money::Sek,
        statement::Statement,
    },
    parameters::Parameters,
    payments::ledger::{self, Account, Dims, Entry},
};

/// The partner a claim's creditor has (or had), as far as commission goes.
struct Relation {
    partner_id: Uuid,
    since: NaiveDate,
    ended_on: Option<NaiveDate>,
    /// The partner's own agreement ended (revoked, or notice run out) on this day.
    partner_end: Option<NaiveDate>,
    approved: bool,
}

/// A commission row still standing (earned, not reversed).
struct Standing {
    commission_id: Uuid,
    partner_id: Uuid,
    fee_kind: String,
    amount: Decimal,
    net: Decimal,
    vat: Decimal,
}

struct Row {
    partner_id: Uuid,
    creditor_id: Uuid,
    claim_id: Uuid,
    fee_kind: &'static str,
    letters: String,
    c: Commission,
    booked_on: NaiveDate,
    reverses: Option<Uuid>,
}

/// Books commission earned and reverses commission no longer earned for the claims `recs`,
/// whose statements are `statements`, on the business date `today`.
pub async fn book(
    conn: &mut PgConnection,
    recs: &[ClaimRecord],
    statements: &HashMap<Uuid, Statement>,
    params: &Parameters,
    (today, now): (NaiveDate, DateTime<Utc>),
    user: Option<Uuid>,
) -> Result<()> {
    let claims: Vec<Uuid> = recs.iter().map(|r| r.claim_id).collect();
    let creditors: Vec<Uuid> = recs.iter().map(|r| r.creditor_id).collect();
    // Most claims have no partner and no commission: one query says which do.
    let rows = sqlx::query!(
        r#"select c.claim_id as "claim_id!", pc.partner_id as "partner_id?", pc.since as "since?", pc.ended_on,
                  least(p.revoked_on, p.agreement_ends_on) as partner_end, p.status as "status?"
           from unnest($1::uuid[], $2::uuid[]) as c(claim_id, creditor_id)
           left join lateral (select partner_id, since, ended_on from partner_customer
                              where creditor_id = c.creditor_id order by since desc limit 1) pc on true
           left join partner p on p.partner_id = pc.partner_id
           where pc.partner_id is not null or exists (select 1 from commission k where k.claim_id = c.claim_id)"#,
        &claims,
        &creditors
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(());
    }
    let mut relation: HashMap<Uuid, Option<Relation>> = HashMap::new();
    for r in rows {
        let rel = match (r.partner_id, r.since) {
            (Some(partner_id), Some(since)) => Some(Relation {
                partner_id,
                since,
                ended_on: r.ended_on,
                partner_end: r.partner_end,
                approved: r.status.as_deref() != Some("pending"),
            }),
            _ => None,
        };
        relation.insert(r.claim_id, rel);
    }
    let ids: Vec<Uuid> = relation.keys().copied().collect();
    let mut standing: HashMap<Uuid, Vec<Standing>> = HashMap::new();
    for s in sqlx::query!(
        "select k.claim_id, k.commission_id, k.partner_id, k.fee_kind, k.amount, k.amount_excl_vat, k.vat
         from commission k
         where k.claim_id = any($1) and k.reverses is null
           and not exists (select 1 from commission r where r.reverses = k.commission_id)",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        standing.entry(s.claim_id).or_default().push(Standing {
            commission_id: s.commission_id,
            partner_id: s.partner_id,
            fee_kind: s.fee_kind,
            amount: s.amount,
            net: s.amount_excl_vat,
            vat: s.vat,
        });
    }
    let mut letters: HashMap<Uuid, Vec<(LetterKind, NaiveDate)>> = HashMap::new();
    for l in
        sqlx::query!("select claim_id, kind, created_on from letter where claim_id = any($1)", &ids)
            .fetch_all(&mut *conn)
            .await?
    {
        if let Some(kind) = LetterKind::parse(&l.kind) {
            letters.entry(l.claim_id).or_default().push((kind, l.created_on));
        }
    }
    let rules = params.book.in_force(today);
    let mut new = Vec::new();
    for rec in recs.iter().filter(|r| relation.contains_key(&r.claim_id)) {
        let Some(s) = statements.get(&rec.claim_id) else { continue };
        let earned =
            commission::earned(s, letters.get(&rec.claim_id).map_or(&[][..], Vec::as_slice), rules);
        let held = standing.get(&rec.claim_id).map_or(&[][..], Vec::as_slice);
        // Taken back: the fee is no longer paid in full (a payment was reversed).
        for h in held.iter().filter(|h| !earned.iter().any(|e| e.fee.as_str() == h.fee_kind)) {
            let fee_kind = FeeKind::parse(&h.fee_kind).map_or("reminder", FeeKind::as_str);
            new.push(Row {
                partner_id: h.partner_id,
                creditor_id: rec.creditor_id,
                claim_id: rec.claim_id,
                fee_kind,
                letters: String::new(),
                c: Commission {
                    gross: -Sek::from_decimal(h.amount),
                    net: -Sek::from_decimal(h.net),
                    vat: -Sek::from_decimal(h.vat),
                },
                booked_on: today,
                reverses: Some(h.commission_id),
            });
        }
        let Some(Some(rel)) = relation.get(&rec.claim_id) else { continue };
        let earning = rel.approved
            && rel.partner_end.is_none_or(|end| today <= end)
            && commission::eligible(rel.since, rel.ended_on, today, rules);
        if !earning {
            continue;
        }
        for e in earned.iter().filter(|e| !held.iter().any(|h| h.fee_kind == e.fee.as_str())) {
            new.push(Row {
                partner_id: rel.partner_id,
                creditor_id: rec.creditor_id,
                claim_id: rec.claim_id,
                fee_kind: e.fee.as_str(),
                letters: e.letters.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(","),
                c: e.commission,
                booked_on: e.booked_on,
                reverses: None,
            });
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let cases: HashMap<Uuid, i64> = recs.iter().map(|r| (r.claim_id, r.case_number)).collect();
    let entries: Vec<Entry> = new
        .iter()
        .map(|r| {
            let what = if r.reverses.is_some() { "Återförd provision" } else { "Provision" };
            let claim = Dims::claim(r.claim_id);
            Entry::new("commission", format!("{what} ärende {}", cases[&r.claim_id]))
                .debit(Account::CommissionExpense, r.c.gross, claim)
                .credit(Account::CommissionPayable, r.c.gross, claim)
        })
        .collect();
    ledger::post(conn, &entries, now, today, user).await?;
    let col = |f: fn(&Row) -> Decimal| new.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "insert into commission (commission_id, partner_id, creditor_id, claim_id, fee_kind, letters,
            amount_excl_vat, vat, amount, booked_on, allocated_on, created_at, reverses)
         select gen_random_uuid(), p, cr, cl, f, l, n, v, a, b, $11, $12, r
         from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::numeric[],
                     $7::numeric[], $8::numeric[], $9::date[], $10::uuid[]) as t(p, cr, cl, f, l, n, v, a, b, r)",
    )
    .bind(new.iter().map(|r| r.partner_id).collect::<Vec<_>>())
    .bind(new.iter().map(|r| r.creditor_id).collect::<Vec<_>>())
    .bind(new.iter().map(|r| r.claim_id).collect::<Vec<_>>())
    .bind(new.iter().map(|r| r.fee_kind).collect::<Vec<_>>())
    .bind(new.iter().map(|r| r.letters.clone()).collect::<Vec<_>>())
    .bind(col(|r| r.c.net.amount()))
    .bind(col(|r| r.c.vat.amount()))
    .bind(col(|r| r.c.gross.amount()))
    .bind(new.iter().map(|r| r.booked_on).collect::<Vec<_>>())
    .bind(new.iter().map(|r| r.reverses).collect::<Vec<_>>())
    .bind(today)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
