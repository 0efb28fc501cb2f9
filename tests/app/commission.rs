//! Partner commission end to end: claims of a partner's customer go through reminder and
//! inkassokrav, debtors pay through camt.054 files, commission is booked as each fee is paid in
//! full, and the quarter's statement is issued by the command line with totals that equal its
//! lines. `fordra check-ledger` passes after each step.

use chrono::NaiveDate;
use fordra::{
    domain::money::Sek,
    payments::{import::import_file, simulator},
};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::fordra_cli;
use crate::mina_sidor::{company, person};
use crate::world::{World, d, world};

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");

/// Makes the world's creditor the customer (since 2026-01-01) of a new approved partner;
/// returns the partner's number.
async fn partner_for(w: &World) -> String {
    let mut conn = w.pool().acquire().await.unwrap();
    let org = fordra::domain::ids::IdNumber::parse("5566778899", d("2026-01-01")).unwrap();
    let now = fordra::clock::Clock::system().now();
    let number = fordra::partners::service::create(
        &mut conn,
        &org,
        "Siffror AB",
        true,
        now,
        d("2026-01-01"),
    )
    .await
    .unwrap()
    .unwrap();
    sqlx::query(
        "update partner set payout_kind = 'bankgiro', payout_bankgiro = '991-2346', payout_reference = 'Provision', contact_email = 'ekonomi@siffror.se' where partner_number = $1",
    )
    .bind(&number)
    .execute(&mut *conn)
    .await
    .unwrap();
    sqlx::query(
        "insert into partner_customer (partner_customer_id, partner_id, creditor_id, via, since)
         select gen_random_uuid(), partner_id, $2, 'created', '2026-01-01' from partner where partner_number = $1",
    )
    .bind(&number)
    .bind(w.creditor)
    .execute(&mut *conn)
    .await
    .unwrap();
    number
}

/// Ticks the claim's due days until it is in `state`.
async fn advance_to(w: &World, claim: Uuid, state: &str) {
    for _ in 0..6 {
        let (now, next): (String, Option<NaiveDate>) =
            sqlx::query_as("select state, next_action_on from claim where claim_id = $1")
                .bind(claim)
                .fetch_one(w.pool())
                .await
                .unwrap();
        if now == state {
            return;
        }
        w.tick(&next.expect("a next step").to_string()).await;
    }
    panic!("claim never reached {state}");
}

async fn pay(w: &World, msg: &str, ocr: &str, amount: Sek, booked: &str, today: &str) {
    let xml = simulator::camt054(
        fordra::config::DEFAULT_IBAN,
        msg,
        d(booked),
        &[simulator::Item::new(ocr, amount, "Sven Svensson")],
    );
    let path = std::env::temp_dir().join(format!("{msg}-{}.xml", Uuid::new_v4()));
    std::fs::write(&path, xml).unwrap();
    let now = fordra::clock::Clock::system().now();
    let r = import_file(w.pool(), &path, msg, &w.app.state.config.identity, None, now, d(today))
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(r.matched, 1);
}

/// The commission rows of a claim: (fee kind, amount incl. VAT, booking date).
async fn commission(w: &World, claim: Uuid) -> Vec<(String, Decimal, NaiveDate)> {
    sqlx::query_as("select fee_kind, amount, booked_on from commission where claim_id = $1 order by created_at, fee_kind")
        .bind(claim)
        .fetch_all(w.pool())
        .await
        .unwrap()
}

fn statement(w: &World, number: &str, quarter: &str, today: &str, format: &str) -> String {
    let out = fordra_cli(&w.db_name)
        .env("FORDRA_TODAY", today)
        .args(["partner-statement", "--partner", number, "--quarter", quarter, "--format", format])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn commission_is_earned_per_fee_paid_and_stated_per_quarter() {
    let w = world("2026-10-20").await;
    let number = partner_for(&w).await;

    // A: the debtor pays only the 60 kr reminder fee: 6 kr, not 26.
    let (a, ocr_a) = w.claim("A-1", person(SVEN, None), json!({})).await;
    advance_to(&w, a, "reminder").await;
    pay(&w, "A60", &ocr_a, Sek::kronor(60), "2026-10-23", "2026-10-26").await;
    assert_eq!(commission(&w, a).await, [("reminder".into(), Decimal::from(6), d("2026-10-23"))]);
    w.check_ledger("2026-10-26");

    // B: the debtor pays everything after the inkassokrav: 6 + 20 kr.
    let (b, ocr_b) = w.claim("B-1", person(SVEN, None), json!({})).await;
    advance_to(&w, b, "collection").await;
    pay(&w, "B", &ocr_b, Sek::kronor(20_000), "2026-11-27", "2026-11-30").await;
    let rows = commission(&w, b).await;
    let total: Decimal = rows.iter().map(|r| r.1).sum();
    assert_eq!(total, Decimal::from(26), "{rows:?}");
    w.check_ledger("2026-11-30");

    // C: a business debtor's 450 kr stands for the reminder and the inkassokrav: 26 kr.
    let (c, ocr_c) = w.claim("C-1", company(), json!({})).await;
    advance_to(&w, c, "collection").await;
    pay(&w, "C", &ocr_c, Sek::kronor(20_000), "2026-12-01", "2026-12-02").await;
    let rows = commission(&w, c).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1), ("late_payment_compensation", Decimal::from(26)));
    w.check_ledger("2026-12-02");

    // No statement while the quarter runs.
    let early = fordra_cli(&w.db_name)
        .env("FORDRA_TODAY", "2026-12-15")
        .args(["partner-statement", "--partner", &number, "--quarter", "2026Q4"])
        .output()
        .unwrap();
    assert!(!early.status.success());

    // After the quarter: one statement whose totals and VAT split equal the sum of its lines.
    let json: Value =
        serde_json::from_str(&statement(&w, &number, "2026Q4", "2027-01-04", "json")).unwrap();
    assert_eq!(json["partner"], number.as_str());
    assert_eq!(json["quarter"], "2026Q4");
    let lines = json["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 4);
    let sum = |k: &str| -> Decimal {
        lines.iter().map(|l| l[k].as_str().unwrap().parse::<Decimal>().unwrap()).sum()
    };
    let field = |k: &str| json[k].as_str().unwrap().parse::<Decimal>().unwrap();
    assert_eq!(field("total"), Decimal::from(58));
    assert_eq!(field("total_excl_vat"), sum("amount_excl_vat"));
    assert_eq!(field("vat"), sum("vat"));
    assert_eq!(field("total"), sum("amount"));
    assert_eq!(field("total"), field("total_excl_vat") + field("vat"));
    assert_eq!(json["payout_due"], "2027-01-14");
    // The partner is told by e-mail, with the link to it.
    let body: String = sqlx::query_scalar(
        "select body from mail_queue where to_addr = 'ekonomi@siffror.se' and subject like '%2026Q4%'",
    )
    .fetch_one(w.pool())
    .await
    .unwrap();
    assert!(
        body.contains("58,00 kr")
            && body.contains("/partner/provision/2026Q4")
            && body.contains("2027-01-14"),
        "{body}"
    );
    // It never changes: asked again, the same; as CSV for Swedish Excel.
    let again: Value =
        serde_json::from_str(&statement(&w, &number, "2026Q4", "2027-02-01", "json")).unwrap();
    assert_eq!(again, json);
    let csv = statement(&w, &number, "2026Q4", "2027-02-01", "csv");
    assert!(csv.starts_with('\u{feff}') && csv.contains(";58,00\r\n"), "{csv}");
    // Its payout waits in the payout batches, to the partner's account with its reference.
    let (amount, reference): (Decimal, String) =
        sqlx::query_as("select amount, reference from payout where kind = 'commission'")
            .fetch_one(w.pool())
            .await
            .unwrap();
    assert_eq!((amount, reference.as_str()), (Decimal::from(58), "Provision"));
    w.check_ledger("2027-01-04");

    // The partner sees it in its portal (page, PDF, CSV); another partner does not.
    let user = crate::harness::create_user(w.pool(), "p@siffror.se", "partner").await;
    sqlx::query("update app_user set partner_id = (select partner_id from partner where partner_number = $1) where user_id = $2")
        .bind(&number)
        .bind(user)
        .execute(w.pool())
        .await
        .unwrap();
    let partner = crate::harness::logged_in(&w.app, "p@siffror.se").await;
    let html =
        partner.get(w.app.url("/partner/provision")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("href=\"/partner/provision/2026Q4\"")
            && html.contains("<svg class=\"chart\""),
        "{html}"
    );
    let page = partner
        .get(w.app.url("/partner/provision/2026Q4"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"statement-total\">58,00 kr"), "{page}");
    let pdf =
        partner.get(w.app.url("/partner/provision/2026Q4/underlag.pdf")).send().await.unwrap();
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
    crate::harness::create_user(w.pool(), "other@byran.se", "partner").await;
    let other = crate::harness::logged_in(&w.app, "other@byran.se").await;
    for path in ["/partner/provision/2026Q4", "/partner/provision/2026Q4/underlag.pdf"] {
        assert_eq!(other.get(w.app.url(path)).send().await.unwrap().status(), 404, "{path}");
    }

    // 13 months after the relationship ended: nothing more.
    sqlx::query("update partner_customer set since = '2025-01-01', ended_on = '2025-12-01'")
        .execute(w.pool())
        .await
        .unwrap();
    let (e, ocr_e) = w.claim("E-1", person(SVEN, None), json!({})).await;
    advance_to(&w, e, "collection").await;
    let paid_on = sqlx::query_scalar::<_, Option<NaiveDate>>(
        "select next_action_on from claim where claim_id = $1",
    )
    .bind(e)
    .fetch_one(w.pool())
    .await
    .unwrap()
    .unwrap_or(d("2027-02-01"));
    let today = paid_on.max(d("2027-01-05")).to_string();
    pay(&w, "E", &ocr_e, Sek::kronor(20_000), &today, &today).await;
    assert!(commission(&w, e).await.is_empty());
    w.check_ledger(&today);
}

/// Staff take a paid claim's payment off it (with a reason): the claim owes again, the 26 kr
/// commission is reversed, and the reversal is a −26 kr line on the next quarter's statement.
#[tokio::test]
async fn a_reversed_payment_reverses_its_commission_on_the_next_statement() {
    let w = world("2026-10-20").await;
    let number = partner_for(&w).await;
    let (b, ocr_b) = w.claim("B-1", person(SVEN, None), json!({})).await;
    advance_to(&w, b, "collection").await;
    pay(&w, "B", &ocr_b, Sek::kronor(20_000), "2026-11-27", "2026-11-30").await;
    let state: String = w.scalar("select state from claim where claim_id = $1", b).await;
    assert_eq!(state, "paid");
    let q4: Value =
        serde_json::from_str(&statement(&w, &number, "2026Q4", "2027-01-04", "json")).unwrap();
    assert_eq!(q4["total"], "26.00");

    let later = w
        .app
        .again(crate::harness::Options { vars: vec![("FORDRA_TODAY", "2027-01-10".into())] })
        .await;
    let payment: Uuid = w.scalar("select payment_id from payment where claim_id = $1", b).await;
    // Support may not move money; an admin must give a reason.
    let support = crate::harness::staff_client(&later, "stod@fordra.se", "support").await;
    let path = later.url(&format!("/admin/betalningar/{payment}/ta-bort"));
    let r = support.post(&path).form(&[("reason", "fel ärende")]).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let admin = crate::harness::staff_client(&later, "admin@fordra.se", "admin").await;
    admin.post(&path).form(&[("reason", "")]).send().await.unwrap();
    assert_eq!(commission(&w, b).await.len(), 2, "nothing reversed without a reason");
    let r = admin
        .post(&path)
        .form(&[("reason", "Banken återkallade betalningen")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    let rows = commission(&w, b).await;
    let total: Decimal = rows.iter().map(|r| r.1).sum();
    assert_eq!((rows.len(), total), (4, Decimal::ZERO), "{rows:?}");
    let (state, unmatched): (String, Option<Uuid>) = sqlx::query_as(
        "select c.state, p.claim_id from claim c, payment p where c.claim_id = $1 and p.payment_id = $2",
    )
    .bind(b)
    .bind(payment)
    .fetch_one(w.pool())
    .await
    .unwrap();
    assert_eq!(
        (state.as_str(), unmatched),
        ("collection", None),
        "owes again; the money is unmatched"
    );
    let audited: i64 = w.scalar("select count(*) from audit_event where action = 'payment_reversed' and subject = $1::text", payment).await;
    assert_eq!(audited, 1);
    w.check_ledger("2027-01-10");

    // Q4 never changes; the reversal is on Q1.
    let again: Value =
        serde_json::from_str(&statement(&w, &number, "2026Q4", "2027-04-02", "json")).unwrap();
    assert_eq!(again, q4);
    let q1: Value =
        serde_json::from_str(&statement(&w, &number, "2027Q1", "2027-04-02", "json")).unwrap();
    assert_eq!(q1["total"], "-26.00", "{q1}");
    assert_eq!(q1["lines"].as_array().unwrap().len(), 2);
    // A negative statement has no payout.
    let payouts: i64 = sqlx::query_scalar("select count(*) from payout where kind = 'commission'")
        .fetch_one(w.pool())
        .await
        .unwrap();
    assert_eq!(payouts, 1);
    w.check_ledger("2027-04-02");
}

/// When Fordra ends a partner's agreement it earns nothing for allocations after that day, and
/// the engine issues a final statement (slutunderlag) with everything earned up to then.
#[tokio::test]
async fn an_ended_agreement_earns_nothing_more_and_gets_a_final_statement() {
    let w = world("2026-10-20").await;
    let number = partner_for(&w).await;
    let (a, ocr_a) = w.claim("A-1", person(SVEN, None), json!({})).await;
    advance_to(&w, a, "reminder").await;
    pay(&w, "A60", &ocr_a, Sek::kronor(60), "2026-10-23", "2026-10-26").await;
    assert_eq!(commission(&w, a).await.len(), 1);
    sqlx::query("update partner set status = 'revoked', revoked_on = '2026-11-01' where partner_number = $1")
        .bind(&number)
        .execute(w.pool())
        .await
        .unwrap();
    let (b, ocr_b) = w.claim("B-1", person(SVEN, None), json!({})).await;
    advance_to(&w, b, "collection").await;
    pay(&w, "B", &ocr_b, Sek::kronor(20_000), "2026-11-27", "2026-11-30").await;
    assert!(commission(&w, b).await.is_empty(), "nothing after the agreement ended");
    w.tick("2026-11-30").await;
    let (total, lines): (Decimal, i64) = sqlx::query_as(
        "select s.total, (select count(*) from commission k where k.statement_id = s.statement_id)
         from partner_statement s where s.quarter = 'slut'",
    )
    .fetch_one(w.pool())
    .await
    .unwrap();
    assert_eq!((total, lines), (Decimal::from(6), 1));
    w.check_ledger("2026-11-30");
}

/// A payment booked on the quarter's last day that arrives in a file after it goes on the next
/// quarter's statement, dated its booking day.
#[tokio::test]
async fn a_payment_booked_in_one_quarter_and_read_in_the_next_goes_on_the_next() {
    let w = world("2026-12-01").await;
    let number = partner_for(&w).await;
    let (a, ocr_a) = w.claim("A-1", person(SVEN, None), json!({})).await;
    advance_to(&w, a, "reminder").await;
    pay(&w, "A60", &ocr_a, Sek::kronor(60), "2026-12-31", "2027-01-04").await;
    let q4: Value =
        serde_json::from_str(&statement(&w, &number, "2026Q4", "2027-01-05", "json")).unwrap();
    assert_eq!((q4["total"].as_str(), q4["lines"].as_array().unwrap().len()), (Some("0.00"), 0));
    let q1: Value =
        serde_json::from_str(&statement(&w, &number, "2027Q1", "2027-04-01", "json")).unwrap();
    assert_eq!(q1["lines"][0]["date"], "2026-12-31");
    assert_eq!(q1["total"], "6.00");
    w.check_ledger("2027-04-01");
}
