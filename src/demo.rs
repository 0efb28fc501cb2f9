//! Demo data, seeded on the first start of a demo database: two admins and a support user, one
//! creditor company with a user, claims and a question to support, and one partner. Their passwords are printed once and listed on the login page.

use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::password;

pub struct SeededAccount {
    pub label: &'static str,
    pub email: &'static str,
    pub password: String,
}

/// Seeds when there are no users yet; returns the accounts created (empty if none were).
pub async fn seed_if_empty(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<SeededAccount>> {
    let mut tx = pool.begin().await?;
    // Serialises concurrent first starts.
    sqlx::query("lock table app_user in exclusive mode").execute(&mut *tx).await?;
    let users: i64 =
        sqlx::query_scalar("select count(*) from app_user").fetch_one(&mut *tx).await?;
    if users > 0 {
        return Ok(vec![]);
    }
    let creditor_id = Uuid::new_v4();
    sqlx::query!("insert into creditor (creditor_id, org_nr, name, status, created_at, payout_bankgiro, terms_version, terms_accepted_at)
         select $1, $2, $3, 'approved', $4, '5050-1055', version, $4 from terms where kind = 'creditor' order by published_on desc limit 1", creditor_id, "165566778899", "Demo Bygg AB", now)
        .execute(&mut *tx)
        .await?;
    let partner_id = Uuid::new_v4();
    sqlx::query!(
        "insert into partner (partner_id, org_nr, name, created_at, status, approved_at, agreement_signed_on,
            contact_name, contact_email, payout_kind, payout_bankgiro, payout_reference)
         values ($1, $2, $3, $4, 'approved', $4, $5, 'Pia Partner', 'partner@demoredovisning.test',
            'bankgiro', '5050-1055', 'Provision Fordra')",
        partner_id,
        "165591234561",
        "Demo Redovisning AB",
        now,
        crate::clock::stockholm_date(now)
    )
    .execute(&mut *tx)
    .await?;
    let today = crate::clock::stockholm_date(now);
    crate::partners::service::accept_current_agreement(&mut tx, partner_id, now, today).await?;
    let accounts = [
        ("Administratör", "admin@fordra.test", "admin", "Ada Admin", None, None),
        (
            "Borgenär (Demo Bygg AB)",
            "kund@demobygg.test",
            "creditor",
            "Bo Borgenär",
            Some(creditor_id),
            None,
        ),
        (
            "Partner (Demo Redovisning AB)",
            "partner@demoredovisning.test",
            "partner",
            "Pia Partner",
            None,
            Some(partner_id),
        ),
        // A second admin: payout batches over the four-eyes limit need two.
        ("Administratör 2", "admin2@fordra.test", "admin", "Alva Andersson", None, None),
        ("Support", "support@fordra.test", "support", "Sam Support", None, None),
    ];
    let mut seeded = vec![];
    for (position, (label, email, role, name, creditor, partner)) in
        accounts.into_iter().enumerate()
    {
        let pw = readable_password();
        let hash = password::hash(pw.clone()).await?;
        sqlx::query!("insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, partner_id, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8)", Uuid::new_v4(), email, hash, role, name, creditor, partner, now)
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into demo_account (email, password, label, position) values ($1, $2, $3, $4)",
            email,
            &pw,
            label,
            position as i32
        )
        .execute(&mut *tx)
        .await?;
        seeded.push(SeededAccount { label, email, password: pw });
    }
    seed_claims(&mut tx, creditor_id, now).await?;
    // A question in the support inbox, from the creditor about one of its claims.
    let (bo, claim): (Uuid, Option<Uuid>) = sqlx::query_as(
        "select u.user_id, (select claim_id from claim where creditor_id = $1 order by invoice_number limit 1)
         from app_user u where u.creditor_id = $1",
    )
    .bind(creditor_id)
    .fetch_one(&mut *tx)
    .await?;
    let from = crate::tickets::From::Creditor { creditor_id, user_id: bo };
    let message = (
        "Gäldenären säger att hon har betalat".to_string(),
        "Kunden ringde och sa att fakturan är betald. Kan ni se en betalning?".to_string(),
    );
    crate::tickets::open(&mut tx, from, claim, message, now).await?;
    tx.commit().await?;
    Ok(seeded)
}

/// A few claims for Demo Bygg AB, dated relative to today, so the engine has work on its first
/// pass and the creditor pages are not empty.
async fn seed_claims(
    conn: &mut sqlx::PgConnection,
    creditor_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    let today = crate::clock::stockholm_date(now);
    let params = crate::parameters::load(conn).await?;
    let day = |n: i64| (today - chrono::Duration::days(n)).to_string();
    let rows = [
        (
            "D-1001",
            "Köksrenovering",
            "18 750,00",
            75,
            45,
            "person",
            "198112189876",
            "Sven Svensson",
            "consumer",
            "Storgatan 1",
            "111 22",
            "Stockholm",
            Some("sven@exempel.se"),
            true,
        ),
        (
            "D-1002",
            "Byte av fönster",
            "6 200,00",
            40,
            10,
            "person",
            "199001012385",
            "Åsa Öberg",
            "consumer",
            "Kyrkgatan 3",
            "722 11",
            "Västerås",
            None,
            false,
        ),
        (
            "D-1003",
            "Takarbete lager",
            "42 000,00",
            50,
            20,
            "company",
            "5560360793",
            "Exempelbolaget AB",
            "business",
            "Box 12",
            "411 01",
            "Göteborg",
            Some("ekonomi@exempelbolaget.se"),
            false,
        ),
        (
            "D-1004",
            "Altanbygge",
            "9 900,00",
            10,
            -20,
            "person",
            "198507143918",
            "Karin Lind",
            "consumer",
            "Sjövägen 8",
            "831 30",
            "Östersund",
            None,
            true,
        ),
    ];
    let mut claims = Vec::new();
    for (
        invoice,
        what,
        capital,
        issued,
        due,
        kind,
        id,
        name,
        capacity,
        street,
        postal,
        city,
        email,
        fee,
    ) in rows
    {
        let input: crate::claims::input::ClaimInput = serde_json::from_value(serde_json::json!({
            "invoice_number": invoice, "description": what, "capital": capital,
            "invoice_date": day(issued), "due_date": day(due), "reminder_fee_agreed": fee,
            "debtor": {"kind": kind, "id_number": id, "name": name, "capacity": capacity, "email": email,
                       "address": {"street": street, "postal_code": postal, "city": city}}
        }))?;
        match crate::claims::input::validate(&input, today, &params) {
            Ok(c) => claims.push(c),
            Err(e) => anyhow::bail!("demo claim {invoice} is invalid: {e:?}"),
        }
    }
    crate::claims::insert_many(conn, creditor_id, &claims, None, now, today)
        .await
        .map_err(|e| anyhow::anyhow!("demo claims: {e}"))?;
    Ok(())
}

/// Three groups of four letters and digits, without look-alikes (0/O, 1/l).
fn readable_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the OS random number generator failed");
    let chars: Vec<char> =
        bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}
