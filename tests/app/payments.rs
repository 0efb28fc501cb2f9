//! Money end to end against a real database: bank files in (both formats, Bankgirot's own
//! samples, refused files), OCR and manual matching, allocation to the öre, the A11 fee
//! cancellation, overpayment refunds, settlements and payout batches with a pain.001 that
//! validates against the official schema, the freshness gate, and `fordra check-ledger` after
//! every scenario.

use std::path::PathBuf;

use chrono::NaiveDate;
use fordra::{
    config::DEFAULT_IBAN,
    domain::money::Sek,
    engine,
    payments::{
        import::{ImportError, Imported, import_file},
        ledger,
        simulator::{self, Item},
    },
};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{Options, TestApp, fordra_cli, location, staff_client};
use crate::world::{World, d, world, world_with_gate};

fn sek(s: &str) -> Sek {
    Sek::from_decimal(s.parse().unwrap())
}

impl World {
    /// Registers a claim like example 1's (10 000 kr due 2025-03-31, Sven with e-mail); returns
    /// its id and OCR.
    async fn example_claim(&self, invoice: &str, extra: Value) -> (Uuid, String) {
        let mut c = json!({
            "invoice_number": invoice, "capital": "10000.00",
            "invoice_date": "2025-03-01", "due_date": "2025-03-31", "reminder_fee_agreed": true,
            "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson", "capacity": "consumer",
                       "email": "sven@example.se",
                       "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        self.register(&c).await
    }

    /// Ex 1's letters: reminder 60 kr on 2025-04-08 and inkassokrav 180 kr on 2025-04-25.
    async fn ex1_fees(&self, claim: Uuid, state: &str) {
        for (kind, amount, on) in
            [("reminder", "60", "2025-04-08"), ("collection", "180", "2025-04-25")]
        {
            sqlx::query("insert into fee (fee_id, claim_id, kind, amount, charged_on) values ($1, $2, $3, $4::numeric, $5)")
                .bind(Uuid::new_v4())
                .bind(claim)
                .bind(kind)
                .bind(amount)
                .bind(d(on))
                .execute(self.pool())
                .await
                .unwrap();
        }
        sqlx::query("update claim set state = $2, next_action_on = null where claim_id = $1")
            .bind(claim)
            .bind(state)
            .execute(self.pool())
            .await
            .unwrap();
    }

    pub(crate) async fn import(
        &self,
        name: &str,
        bytes: &[u8],
        today: &str,
    ) -> Result<Imported, ImportError> {
        let path = write_temp(name, bytes);
        let r = import_file(
            self.pool(),
            &path,
            name,
            &self.app.state.config.identity,
            None,
            fordra::clock::Clock::system().now(),
            d(today),
        )
        .await;
        let _ = std::fs::remove_file(&path);
        r
    }

    pub(crate) async fn pay(&self, msg: &str, day: &str, items: &[Item], today: &str) -> Imported {
        let xml = simulator::camt054(DEFAULT_IBAN, msg, d(day), items);
        self.import(&format!("{msg}.xml"), xml.as_bytes(), today)
            .await
            .unwrap_or_else(|e| panic!("import {msg}: {e}"))
    }

    async fn books(&self, claim: Uuid) -> fordra::domain::books::ClaimBooks {
        let mut conn = self.pool().acquire().await.unwrap();
        ledger::claim_books(&mut conn, &[claim]).await.unwrap().remove(&claim).unwrap_or_default()
    }

    async fn state(&self, claim: Uuid) -> String {
        sqlx::query_scalar("select state from claim where claim_id = $1")
            .bind(claim)
            .fetch_one(self.pool())
            .await
            .unwrap()
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(self.pool())
            .await
            .unwrap()
    }
}

fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("fordra-test-{}-{name}", Uuid::new_v4()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test]
async fn part_payment_then_the_rest_allocates_as_example_4_to_the_ore() {
    let w = world("2025-05-16").await;
    let (claim, ocr) = w.example_claim("EX4", json!({})).await;
    w.ex1_fees(claim, "collection").await;

    let r = w
        .pay(
            "EX4-1",
            "2025-05-15",
            &[Item::new(&ocr, Sek::kronor(5000), "Sven Svensson")],
            "2025-05-16",
        )
        .await;
    assert_eq!((r.matched, r.unmatched, r.paid_claims), (1, 0, 0));
    let b = w.books(claim).await;
    assert_eq!(b.received, Sek::kronor(5000));
    assert_eq!(b.to_fees, Sek::kronor(240));
    assert_eq!(b.to_interest, sek("135.62"));
    assert_eq!(b.to_capital, sek("4624.38"));
    assert!(b.unallocated.is_zero());
    w.check_ledger("2025-05-16");

    // The rest, a month later: 5 375,62 capital + 50,22 interest.
    let r = w
        .pay(
            "EX4-2",
            "2025-06-15",
            &[Item::new(&ocr, sek("5425.84"), "Sven Svensson")],
            "2025-06-16",
        )
        .await;
    assert_eq!(r.paid_claims, 1);
    let b = w.books(claim).await;
    assert_eq!(b.to_interest, sek("185.84"));
    assert_eq!(b.to_capital, Sek::kronor(10_000));
    assert!(b.overpaid.is_zero());
    assert_eq!(w.state(claim).await, "paid");
    // The debtor's receipt goes out with the next engine pass.
    let report = engine::tick(&w.app.state, d("2025-06-16")).await.unwrap();
    assert_eq!(report.notices, 1);
    assert!(
        w.app
            .mails()
            .iter()
            .any(|m| m.mail.to == "sven@example.se" && m.mail.subject.contains("Kvitto"))
    );
    let out = w.check_ledger("2025-06-16");
    assert!(out.contains("ledger ok"), "{out}");
}

#[tokio::test]
async fn a_payment_booked_before_the_demand_was_sent_cancels_its_fee() {
    let w = world("2025-04-28").await;
    let (claim, ocr) = w.example_claim("A11", json!({})).await;
    w.ex1_fees(claim, "collection").await;
    // Everything owed on 2025-04-24 (10 000 + 60 + 24 days of interest), booked the day before
    // the inkassokrav went out, but imported after it.
    let r =
        w.pay("A11", "2025-04-24", &[Item::new(&ocr, sek("10132.33"), "Sven")], "2025-04-28").await;
    assert_eq!(r.paid_claims, 1);
    assert_eq!(w.state(claim).await, "paid");
    let b = w.books(claim).await;
    assert_eq!(b.to_fees, Sek::kronor(60), "the 180 kr fee is cancelled");
    assert!(b.overpaid.is_zero());
    let cancelled: i64 = sqlx::query_scalar(
        "select count(*) from claim_event where claim_id = $1 and kind = 'fee_cancelled' and detail->>'kind' = 'collection'",
    )
    .bind(claim)
    .fetch_one(w.pool())
    .await
    .unwrap();
    assert_eq!(cancelled, 1);
    w.check_ledger("2025-04-28");
}

/// A business debtor (Stockholms stad's org.nr stands in for any company) with e-mail.
fn business_debtor() -> Value {
    json!({"debtor": {"kind": "company", "id_number": "212000-0142", "name": "Kommunen",
        "capacity": "business", "email": "ekonomi@kommunen.se",
        "address": {"street": "Stadshuset", "postal_code": "10535", "city": "Stockholm"}}})
}

impl World {
    async fn fees_of(&self, claim: Uuid) -> Vec<(String, Decimal)> {
        sqlx::query_as("select kind, amount from fee where claim_id = $1 order by charged_on, kind")
            .bind(claim)
            .fetch_all(self.pool())
            .await
            .unwrap()
    }

    async fn letter_kinds(&self, claim: Uuid) -> Vec<String> {
        sqlx::query_scalar("select kind from letter where claim_id = $1 order by created_on")
            .bind(claim)
            .fetch_all(self.pool())
            .await
            .unwrap()
    }

    async fn events_of(&self, claim: Uuid, kind: &str) -> Vec<Value> {
        sqlx::query_scalar("select detail from claim_event where claim_id = $1 and kind = $2")
            .bind(claim)
            .bind(kind)
            .fetch_all(self.pool())
            .await
            .unwrap()
    }

    async fn refund_owed(&self, claim: Uuid) -> Option<Decimal> {
        let mut conn = self.pool().acquire().await.unwrap();
        fordra::payouts::repo::refunds_owed(&mut conn, Some(claim))
            .await
            .unwrap()
            .first()
            .map(|r| r.owed)
    }
}

#[tokio::test]
async fn a_business_debtor_who_paid_by_the_due_date_owes_no_450_when_matched_after_the_letter() {
    let w = world("2025-03-20").await;
    let (claim, ocr) = w.example_claim("B2B-ONTIME", business_debtor()).await;
    // Due 2025-03-31. The payment is in no file yet, so the first letter claims the 450 kr.
    assert_eq!(w.tick("2025-04-01").await.steps, 1);
    assert_eq!(
        w.fees_of(claim).await,
        vec![("late_payment_compensation".into(), Decimal::from(450))]
    );
    // Paid in full with 23,02 kr too much, booked on the due date, matched two days later.
    let r = w
        .pay("ONTIME", "2025-03-31", &[Item::new(&ocr, sek("10023.02"), "Kommunen")], "2025-04-03")
        .await;
    assert_eq!((r.paid_claims, r.overpaid_claims), (1, 1));
    assert_eq!(w.state(claim).await, "paid");
    let b = w.books(claim).await;
    assert!(b.to_fees.is_zero(), "no delay, so no 450 kr");
    assert_eq!(b.overpaid, sek("23.02"));
    assert_eq!(w.refund_owed(claim).await, Some(Decimal::new(2302, 2)));
    let cancelled = w.events_of(claim, "fee_cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["kind"], "late_payment_compensation");
    // No inkassokrav, no final notice, no Kronofogden.
    for day in ["2025-04-20", "2025-05-20", "2025-06-20"] {
        assert_eq!(w.tick(day).await.steps, 0, "{day}");
    }
    assert_eq!(w.letter_kinds(claim).await, ["reminder"]);
    w.check_ledger("2025-06-20");
}

#[tokio::test]
async fn a_business_debtor_who_paid_late_owes_the_450_which_money_held_pays() {
    // Registered after the due date (2025-03-31), so the letter goes out on 2025-04-11.
    let w = world("2025-04-10").await;
    let (surplus, surplus_ocr) = w.example_claim("B2B-LATE", business_debtor()).await;
    let (exact, exact_ocr) = w.example_claim("B2B-EXACT", business_debtor()).await;
    assert_eq!(w.tick("2025-04-11").await.steps, 2);
    // Both paid on 2025-04-08, a week late but before the letter; matched on 04-14. Interest
    // 04-01..04-08 at 11 %: 24,11.
    let r = w
        .pay(
            "LATE",
            "2025-04-08",
            &[
                Item::new(&surplus_ocr, sek("10500.00"), "Kommunen"),
                Item::new(&exact_ocr, sek("10024.11"), "Kommunen"),
            ],
            "2025-04-14",
        )
        .await;
    assert_eq!(r.paid_claims, 1);
    // 500 kr extra: the surplus pays the 450 kr first, the rest is refunded.
    assert_eq!(w.state(surplus).await, "paid");
    let b = w.books(surplus).await;
    assert_eq!(b.to_fees, Sek::kronor(450));
    assert_eq!(b.to_interest, sek("24.11"));
    assert_eq!(b.overpaid, sek("25.89"));
    assert_eq!(w.refund_owed(surplus).await, Some(Decimal::new(2589, 2)));
    // Capital and interest exactly: the 450 kr is still owed and the claim goes on.
    assert_eq!(w.state(exact).await, "reminder");
    let b = w.books(exact).await;
    assert!(b.to_fees.is_zero() && b.overpaid.is_zero());
    assert_eq!(w.refund_owed(exact).await, None);
    let on_14th = TestApp::spawn_on(
        w.pool().clone(),
        w.db_name.clone(),
        Options { vars: vec![("FORDRA_TODAY", "2025-04-14".into())] },
    )
    .await;
    let page = on_14th
        .client
        .get(on_14th.url(&format!("/api/v1/claims/{exact}")))
        .bearer_auth(&w.key)
        .send()
        .await
        .unwrap();
    let body: Value = page.json().await.unwrap();
    assert_eq!(body["amounts"]["balance"], "450.00");
    w.check_ledger("2025-04-14");

    // A journal where that claim owes and yet holds money for refund fails the check, naming it.
    let case_number: i64 = sqlx::query_scalar("select case_number from claim where claim_id = $1")
        .bind(exact)
        .fetch_one(w.pool())
        .await
        .unwrap();
    let entry: i64 = sqlx::query_scalar(
        "insert into journal_entry (at, business_date, kind, memo) values (now(), '2025-04-14', 'allocation', 'test') returning entry_id",
    )
    .fetch_one(w.pool())
    .await
    .unwrap();
    sqlx::query(
        "insert into journal_line (entry_id, account, amount, claim_id) values
         ($1, 'creditor_payable', 100, $2), ($1, 'refund_payable', -100, $2)",
    )
    .bind(entry)
    .bind(exact)
    .execute(w.pool())
    .await
    .unwrap();
    let out = fordra_cli(&w.db_name)
        .arg("check-ledger")
        .env("FORDRA_TODAY", "2025-04-14")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains(&format!("ärende {case_number}: är skyldigt 450,00 kr men håller 100,00 kr")),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_consumer_who_paid_before_a_letter_owes_neither_its_60_nor_its_180() {
    let w = world("2025-03-20").await;
    let (early, early_ocr) = w.example_claim("C-EARLY", json!({})).await;
    let (later, later_ocr) = w.example_claim("C-LATER", json!({})).await;
    // Reminders with 60 kr go out on 2025-04-01.
    assert_eq!(w.tick("2025-04-01").await.steps, 2);
    // One debtor paid the capital on the due date; matched after the reminder.
    w.pay("EARLY", "2025-03-31", &[Item::new(&early_ocr, sek("10000.00"), "Sven")], "2025-04-02")
        .await;
    assert_eq!(w.state(early).await, "paid");
    assert!(w.books(early).await.to_fees.is_zero(), "the 60 kr is cancelled");
    // The other gets the inkassokrav (180 kr) on 2025-04-16; a payment booked the day before,
    // covering capital, 60 kr and interest with room to spare, is matched after it.
    assert_eq!(w.tick("2025-04-16").await.steps, 1);
    assert_eq!(w.letter_kinds(later).await, ["reminder", "collection"]);
    w.pay("LATER", "2025-04-15", &[Item::new(&later_ocr, sek("10200.00"), "Sven")], "2025-04-17")
        .await;
    assert_eq!(w.state(later).await, "paid");
    let b = w.books(later).await;
    assert_eq!(b.to_fees, Sek::kronor(60), "the 180 kr is cancelled, the 60 kr stands");
    // Interest 04-01..04-15 at 11 % on 10 000: 45,21.
    assert_eq!(b.overpaid, sek("94.79"));
    let cancelled = w.events_of(later, "fee_cancelled").await;
    assert_eq!(cancelled.len(), 1);
    assert_eq!(cancelled[0]["kind"], "collection");
    assert_eq!(w.tick("2025-05-20").await.steps, 0);
    w.check_ledger("2025-05-20");
}

#[tokio::test]
async fn an_overpayment_is_refunded_through_an_approved_payout_batch() {
    let w = world("2025-05-02").await;
    let (claim, ocr) = w.example_claim("OVER", json!({})).await;
    w.ex1_fees(claim, "collection").await;
    // Owed on 2025-05-01: 10 000 + 240 + 31 days of interest (93,42); 500 kr too much.
    let r = w
        .pay("OVER", "2025-05-01", &[Item::new(&ocr, sek("10833.42"), "Sven")], "2025-05-02")
        .await;
    assert_eq!((r.paid_claims, r.overpaid_claims), (1, 1));
    let b = w.books(claim).await;
    assert_eq!(b.overpaid, Sek::kronor(500));
    assert_eq!(b.to_capital, Sek::kronor(10_000));
    w.check_ledger("2025-05-02");

    let admin = staff_client(&w.app, "admin@fordra.se", "admin").await;
    // A refund account with a wrong check digit is refused on its field.
    let resp = admin
        .post(w.app.url(&format!("/admin/aterbetalningar/{claim}")))
        .form(&[("to", "account"), ("clearing", "5000"), ("account", "1234567")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let resp = admin
        .post(w.app.url(&format!("/admin/aterbetalningar/{claim}")))
        .form(&[("to", "account"), ("clearing", "5102"), ("account", "0158751")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Settle the creditor's capital too, then pay both out in one batch.
    let resp = admin.post(w.app.url("/admin/avrakningar/kor")).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    let resp = admin.post(w.app.url("/admin/utbetalningar")).send().await.unwrap();
    let batch = location(&resp);
    assert!(batch.starts_with("/admin/utbetalningar/"), "{batch}");
    let total: Decimal =
        sqlx::query_scalar("select total from payout_batch").fetch_one(w.pool()).await.unwrap();
    assert_eq!(total, Decimal::new(1_050_000, 2));
    // Exporting before approval is refused.
    admin.post(w.app.url(&format!("{batch}/pain001"))).send().await.unwrap();
    assert_eq!(w.count("payout_batch where state = 'draft'").await, 1);
    admin.post(w.app.url(&format!("{batch}/godkann"))).send().await.unwrap();
    let xml = admin
        .post(w.app.url(&format!("{batch}/pain001")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<CtrlSum>10500.00</CtrlSum>"), "{xml}");
    validate_pain001(&xml);
    admin.post(w.app.url(&format!("{batch}/utford"))).send().await.unwrap();
    assert_eq!(w.count("payout_batch where state = 'executed'").await, 1);
    let b = w.books(claim).await;
    assert_eq!(b.refunded, Sek::kronor(500));
    assert_eq!(b.settled, Sek::kronor(10_000));
    let bank: Decimal =
        sqlx::query_scalar("select sum(amount) from journal_line where account = 'bank'")
            .fetch_one(w.pool())
            .await
            .unwrap();
    assert_eq!(bank, Decimal::new(33342, 2), "fees and interest stay with Fordra");
    w.check_ledger("2025-05-02");
}

/// Validates with xmllint against the official schema (fetched by tests/run.sh).
fn validate_pain001(xml: &str) {
    let xsd = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/xsd/pain.001.001.03.xsd");
    assert!(
        xsd.exists(),
        "{} is missing: run the tests with `bash tests/run.sh`, which fetches the official schema",
        xsd.display()
    );
    let file = write_temp("pain001.xml", xml.as_bytes());
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("xmllint (Debian libxml2-utils) must be installed");
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "pain.001 does not validate:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_unmatched_payment_is_matched_by_hand_and_audited() {
    let w = world("2025-05-02").await;
    let (claim, ocr) = w.example_claim("HAND", json!({})).await;
    let last = ocr.chars().last().unwrap().to_digit(10).unwrap();
    let wrong = format!("{}{}", &ocr[..ocr.len() - 1], (last + 1) % 10);
    let r = w
        .pay(
            "HAND",
            "2025-04-30",
            &[Item::new(&wrong, Sek::kronor(3000), "Sven Svensson")],
            "2025-05-02",
        )
        .await;
    assert_eq!((r.matched, r.unmatched), (0, 1));
    w.check_ledger("2025-05-02");
    let payment: Uuid =
        sqlx::query_scalar("select payment_id from payment").fetch_one(w.pool()).await.unwrap();

    let admin = staff_client(&w.app, "admin@fordra.se", "admin").await;
    let list = admin
        .get(w.app.url("/admin/betalningar/omatchade?q=Sven"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains(&payment.to_string()));
    let page = admin
        .get(w.app.url(&format!("/admin/betalningar/{payment}?q=19811218-9876")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&claim.to_string()), "search by personnummer finds the claim");
    let resp = admin
        .post(w.app.url(&format!("/admin/betalningar/{payment}/koppla")))
        .form(&[("claim_id", claim.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let b = w.books(claim).await;
    assert_eq!(b.received, Sek::kronor(3000));
    // No fees yet; 30 days of interest from 2025-04-01 first.
    assert_eq!(b.to_interest, sek("90.41"));
    assert_eq!(b.to_capital, sek("2909.59"));
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_event where action = 'payment_matched'")
            .fetch_one(w.pool())
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // Matching twice is refused.
    let resp = admin
        .post(w.app.url(&format!("/admin/betalningar/{payment}/koppla")))
        .form(&[("claim_id", claim.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(w.books(claim).await.received, Sek::kronor(3000));
    w.check_ledger("2025-05-02");
}

async fn nothing_stored(w: &World) {
    for table in ["bank_file", "payment", "journal_entry", "journal_line", "bank_day"] {
        assert_eq!(w.count(table).await, 0, "{table}");
    }
}

#[tokio::test]
async fn files_for_another_account_are_refused_naming_it_and_store_nothing() {
    let w = world("2026-01-16").await;
    let (_, ocr) = w.example_claim("ACCT", json!({})).await;
    let items = [Item::new(&ocr, Sek::kronor(100), "Sven Svensson")];
    let day = d("2026-01-15");
    let other_iban = "SE3550000000054910000003";
    let ours = simulator::camt054(DEFAULT_IBAN, "OWN-1", day, &items);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "camt054, another IBAN",
            simulator::camt054(other_iban, "X-1", day, &items).into_bytes(),
            "Rad 6: Filen gäller IBAN SE3550000000054910000003",
        ),
        (
            "camt054, another bankgiro",
            ours.replace(
                &format!("<IBAN>{DEFAULT_IBAN}</IBAN>"),
                "<Othr><Id>56781230</Id><SchmeNm><Prtry>BGNR</Prtry></SchmeNm></Othr>",
            )
            .replace("OWN-1", "X-2")
            .into_bytes(),
            "Filen gäller bankgiro 5678-1230",
        ),
        (
            "camt054, no account",
            ours.replace(&format!("<Acct><Id><IBAN>{DEFAULT_IBAN}</IBAN></Id></Acct>"), "")
                .replace("OWN-1", "X-3")
                .into_bytes(),
            "anger inte vilket konto",
        ),
        (
            "bgmax, another receiving bankgiro",
            simulator::bgmax("5050-1055", day, 7, &items),
            "Rad 2: Filen gäller bankgiro 5050-1055",
        ),
    ];
    for (name, content, expected) in cases {
        let e = w.import("other.dat", &content, "2026-01-16").await.expect_err(name);
        assert!(matches!(e, ImportError::Invalid(_)), "{name}: {e}");
        assert!(e.to_string().contains(expected), "{name}: {e}");
        assert!(
            e.to_string().contains("som inte är Fordras konto") || name.contains("no account"),
            "{name}: {e}"
        );
    }
    for table in ["bank_file", "payment", "journal_entry", "bank_day"] {
        assert_eq!(w.count(table).await, 0, "{table}");
    }
    // The same payment to Fordra's own bankgiro and IBAN is imported.
    w.import("own.xml", ours.as_bytes(), "2026-01-16").await.unwrap();
    let own_bg = simulator::bgmax(fordra::config::DEFAULT_BANKGIRO, day, 8, &items);
    w.import("own.bgmax", &own_bg, "2026-01-16").await.unwrap();
    w.check_ledger("2026-01-16");
}

#[tokio::test]
async fn broken_files_are_refused_naming_the_line_and_store_nothing() {
    let w = world("2026-01-16").await;
    let golden =
        "01BGMAX               0120260115120000000000T                                   \r
050009912346          SEK                                                       \r
200000000000                  1234574000000000000150000210000000000010          \r
2000000000001234575                  000000000000002500310000000000020          \r
21000378351189853                    0000000000000005003200000000000300         \r
15000000000000000000058410000010098232026011500001000000000000152000SEK00000003 \r
7000000002000000010000000000000001                                              \r
";
    let cases: Vec<(&str, String, &str)> = vec![
        ("truncated", golden.lines().take(5).collect::<Vec<_>>().join("\r\n"), "utan slutpost"),
        ("tk15", golden.replace("152000SEK", "152100SEK"), "Rad 6: Insättningsbeloppet"),
        (
            "tk70",
            golden.replace("70000000020000", "70000000030000"),
            "Rad 7: Slutposten (TK70) anger 3",
        ),
        (
            "letters",
            golden.replace("000000000000150000210", "00000000000015O000210"),
            "Rad 3: Beloppet",
        ),
        (
            "unknown",
            golden.replace("050009912346", "090009912346"),
            "Rad 2: Efter startposten krävs en öppningspost (TK05)",
        ),
    ];
    for (name, content, expected) in cases {
        let e = w.import(name, content.as_bytes(), "2026-01-16").await.expect_err(name);
        assert!(matches!(e, ImportError::Invalid(_)), "{name}: {e}");
        assert!(e.to_string().contains(expected), "{name}: {e}");
    }
    let xml = simulator::camt054(
        DEFAULT_IBAN,
        "M1",
        d("2026-01-15"),
        &[Item::new("1234574", Sek::kronor(5), "A")],
    );
    let broken = xml.replace("</Ntry>", "</Ntyr>");
    let e = w.import("broken.xml", broken.as_bytes(), "2026-01-16").await.unwrap_err();
    assert!(e.to_string().contains("XML-filen är felaktig"), "{e}");
    let start = xml.find("<Ntry>").unwrap();
    let end = xml.find("</Ntry>").unwrap() + 7;
    let empty = format!("{}{}", &xml[..start], &xml[end..]);
    let e = w.import("empty.xml", empty.as_bytes(), "2026-01-16").await.unwrap_err();
    assert!(e.to_string().contains("inga poster (Ntry)"), "{e}");
    let e = w.import("x.txt", b"hello", "2026-01-16").await.unwrap_err();
    assert!(e.to_string().contains("Okänt filformat"), "{e}");
    nothing_stored(&w).await;

    // A good file goes in once; the same file, the same message id, or the same payment in
    // another file is refused.
    w.import("golden.bgmax", golden.as_bytes(), "2026-01-16").await.unwrap();
    let e = w.import("again.bgmax", golden.as_bytes(), "2026-01-16").await.unwrap_err();
    assert!(
        matches!(e, ImportError::Duplicate(_)) && e.to_string().contains("redan inläst"),
        "{e}"
    );
    let again = golden.replace("0120260115120000000000T", "0120260115130000000000T");
    let e = w.import("again2.bgmax", again.as_bytes(), "2026-01-16").await.unwrap_err();
    assert!(
        e.to_string().contains("Rad 3: betalningen är redan inläst från filen golden.bgmax"),
        "{e}"
    );
    w.import("m1.xml", xml.as_bytes(), "2026-01-16").await.unwrap();
    let same_id = simulator::camt054(
        DEFAULT_IBAN,
        "M1",
        d("2026-01-15"),
        &[Item::new("1234574", Sek::kronor(6), "A")],
    );
    let e = w.import("m1b.xml", same_id.as_bytes(), "2026-01-16").await.unwrap_err();
    assert!(e.to_string().contains("Meddelandet M1 är redan inläst"), "{e}");
    assert_eq!(w.count("bank_file").await, 2);
    w.check_ledger("2026-01-16");
}

/// Bankgirot's published example file from `../shared/samples` when that folder is beside the
/// project, else `None` (said on stderr): the project's own fixtures cover the same cases.
fn sample(name: &str) -> Option<Vec<u8>> {
    let path = format!("{}/../shared/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    let read = std::fs::read(&path).ok();
    if read.is_none() {
        eprintln!("{path} is absent; tests/fixtures covers the same cases");
    }
    read
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What one BgMax file should do to the books: its payments, the deposits' net amount (the
/// deduction reduces the unmatched funds) and the bank day.
struct Expected {
    count: u32,
    total: Sek,
    day: &'static str,
}

/// Imports a file with payments (none of them matching a claim) and one with an EUR section,
/// which is refused on the line of its first EUR payment.
async fn import_bgmax_pair(ocr_file: &[u8], eur_file: &[u8], want: Expected) {
    let w = world("2026-01-16").await;
    let r = w.import("bgmax.txt", ocr_file, "2026-01-16").await.unwrap();
    assert_eq!(r.count, want.count);
    assert_eq!(r.total, want.total);
    assert_eq!((r.matched, r.unmatched), (0, want.count));
    let bank: Decimal =
        sqlx::query_scalar("select sum(amount) from journal_line where account = 'bank'")
            .fetch_one(w.pool())
            .await
            .unwrap();
    assert_eq!(Sek::from_decimal(bank), want.total);
    let days: Vec<NaiveDate> =
        sqlx::query_scalar("select day from bank_day").fetch_all(w.pool()).await.unwrap();
    assert_eq!(days, vec![d(want.day)]);
    let e = w.import("eur.txt", eur_file, "2026-01-16").await.unwrap_err();
    assert!(e.to_string().contains("EUR"), "{e}");
    assert!(e.to_string().starts_with("Rad "), "{e}");
    assert_eq!(w.count("bank_file").await, 1);
    w.check_ledger("2026-01-16");
}

#[tokio::test]
async fn bankgirots_sample_files() {
    let (Some(ocr), Some(eur)) = (
        sample("bgmax-bankgirot-exempel-ocr-checksiffra-langd.txt"),
        sample("bgmax-bankgirot-BgMaxfil4-2004.txt"),
    ) else {
        return;
    };
    let want = Expected { count: 7, total: Sek::kronor(9900), day: "2004-05-25" };
    import_bgmax_pair(&ocr, &eur, want).await;
}

#[tokio::test]
async fn own_bgmax_fixtures_with_tabs_deductions_and_an_eur_section() {
    let want = Expected { count: 5, total: Sek::new(3150, 50), day: "2024-03-15" };
    import_bgmax_pair(&fixture("bgmax-edge-cases.txt"), &fixture("bgmax-eur-section.txt"), want)
        .await;
}

#[tokio::test]
async fn a_bgmax_file_pays_through_the_cli() {
    let w = world("2025-05-02").await;
    let (claim, ocr) = w.example_claim("CLI", json!({})).await;
    let path = write_temp(
        "cli.bgmax",
        &simulator::bgmax(
            "991-2346",
            d("2025-04-30"),
            42,
            &[Item::new(&ocr, Sek::kronor(2000), "Sven")],
        ),
    );
    let out = fordra_cli(&w.db_name)
        .arg("import-bank-file")
        .arg(&path)
        .env("FORDRA_TODAY", "2025-05-02")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("1 BgMax payments") && stdout.contains("1 matched"), "{stdout}");
    // Again: refused, non-zero exit, nothing more stored.
    let out = fordra_cli(&w.db_name).arg("import-bank-file").arg(&path).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("redan inläst"));
    let _ = std::fs::remove_file(&path);
    assert_eq!(w.books(claim).await.received, Sek::kronor(2000));
    w.check_ledger("2025-05-02");
}

/// A bank reference repeated two thousand payments later (stored by then, in an earlier chunk
/// written with COPY) is named by its line, and nothing of the file is kept.
#[tokio::test]
async fn a_payment_repeated_later_in_the_file_is_named_and_nothing_is_kept() {
    let w = world("2025-05-02").await;
    let (claim, ocr) = w.example_claim("REP", json!({})).await;
    let items: Vec<Item> = (0..2_100)
        .map(|i| match i {
            0 => Item::new(&ocr, Sek::kronor(100), "Sven"),
            _ => Item::new(&format!("Faktura {i}"), Sek::kronor(10), "Okänd"),
        })
        .collect();
    let xml = simulator::camt054(fordra::config::DEFAULT_IBAN, "REP-1", d("2025-04-30"), &items);
    // The 2,051st payment carries the bank reference of the 7th.
    let xml = xml.replacen(
        "<AcctSvcrRef>REP-1-2051-1</AcctSvcrRef>",
        "<AcctSvcrRef>REP-1-7-1</AcctSvcrRef>",
        1,
    );
    let path = write_temp("rep.xml", xml.as_bytes());
    let out = fordra_cli(&w.db_name).arg("import-bank-file").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("förekommer två gånger i filen"), "{err}");
    let line = xml.lines().position(|l| l.contains("REP-1-2051</AcctSvcrRef>")).unwrap();
    // The line of the repeated payment: its entry or its transaction, a few lines further.
    assert!((line..line + 5).any(|l| err.contains(&format!("Rad {l}:"))), "{line}: {err}");
    for table in ["payment", "bank_file", "journal_entry"] {
        let n: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
            .fetch_one(w.pool())
            .await
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    assert_eq!(w.books(claim).await.received, Sek::ZERO);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_direct_payment_after_a_part_payment_reallocates_with_a_correcting_entry() {
    let w = world("2025-05-20").await;
    let (claim, ocr) = w.example_claim("CORR", json!({})).await;
    w.ex1_fees(claim, "collection").await;
    w.pay("CORR", "2025-05-15", &[Item::new(&ocr, Sek::kronor(5000), "Sven")], "2025-05-16").await;
    let before = w.books(claim).await;
    // The creditor reports a direct payment made earlier: less interest ran before our payment.
    sqlx::query("insert into capital_reduction (capital_reduction_id, claim_id, kind, amount, on_date, created_at) values ($1, $2, 'direct_payment', 4000, '2025-04-10', now())")
        .bind(Uuid::new_v4())
        .bind(claim)
        .execute(w.pool())
        .await
        .unwrap();
    let mut tx = w.pool().begin().await.unwrap();
    let params = fordra::parameters::load(&mut tx).await.unwrap();
    ledger::sync_claims(
        &mut tx,
        &[claim],
        &params,
        d("2025-05-20"),
        fordra::clock::Clock::system().now(),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let after = w.books(claim).await;
    assert!(after.to_interest < before.to_interest);
    assert_eq!(after.received, before.received);
    // The bank file's payment was received and allocated in one entry; the correction is one more.
    let kinds: Vec<String> = sqlx::query_scalar(
        "select kind from journal_entry where kind in ('payment_matched', 'allocation') order by entry_id",
    )
    .fetch_all(w.pool())
    .await
    .unwrap();
    assert_eq!(kinds, ["payment_matched", "allocation"]);
    // The journal refuses to be edited.
    let e = sqlx::query("update journal_line set amount = amount + 1").execute(w.pool()).await;
    assert!(e.is_err());
    w.check_ledger("2025-05-20");
}

#[tokio::test]
async fn escalation_waits_for_the_previous_bank_days_payments() {
    // Friday 2026-03-06; the previous bank day is Thursday 2026-03-05.
    let w = world_with_gate("2026-03-06").await;
    let (claim, _) = w
        .example_claim(
            "GATE",
            json!({"invoice_date": "2026-01-10", "due_date": "2026-02-09", "start_with": "collection"}),
        )
        .await;
    let (reminder, _) = w
        .example_claim("GATE-R", json!({"invoice_date": "2026-01-10", "due_date": "2026-02-09"}))
        .await;
    let r = engine::tick(&w.app.state, d("2026-03-06")).await.unwrap();
    assert!(r.gated);
    assert_eq!(w.state(claim).await, "registered", "the inkassokrav waits");
    assert_eq!(w.state(reminder).await, "reminder", "reminders are not gated");

    let admin = staff_client(&w.app, "admin@fordra.se", "admin").await;
    let resp = admin
        .post(w.app.url("/admin/bankdagar"))
        .form(&[("day", "2026-03-05"), ("note", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422, "a reason is required");
    let resp = admin
        .post(w.app.url("/admin/bankdagar"))
        .form(&[("day", "2026-03-05"), ("note", "Banken: inga inbetalningar")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let r = engine::tick(&w.app.state, d("2026-03-06")).await.unwrap();
    assert!(!r.gated);
    assert_eq!(w.state(claim).await, "collection");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'bank_day_without_file'",
    )
    .fetch_one(w.pool())
    .await
    .unwrap();
    assert_eq!(audited, 1);

    // The next Monday is covered by importing Friday's file.
    let r = engine::tick(&w.app.state, d("2026-03-09")).await.unwrap();
    assert!(r.gated);
    w.pay("FRI", "2026-03-06", &[Item::new("55", Sek::kronor(1), "X")], "2026-03-09").await;
    assert!(!engine::tick(&w.app.state, d("2026-03-09")).await.unwrap().gated);
}

#[tokio::test]
async fn settlements_pay_the_creditor_with_a_second_approval_over_the_limit_and_new_accounts_wait()
{
    let w = world("2025-05-02").await;
    let (claim, ocr) = w.example_claim("SET", json!({"capital": "150000.00"})).await;
    w.pay("SET", "2025-04-30", &[Item::new(&ocr, Sek::kronor(120_000), "Sven")], "2025-05-02")
        .await;
    let to_capital = w.books(claim).await.to_capital;

    let admin = staff_client(&w.app, "admin@fordra.se", "admin").await;
    let admin2 = staff_client(&w.app, "admin2@fordra.se", "admin").await;
    admin.post(w.app.url("/admin/avrakningar/kor")).send().await.unwrap();
    let (settlement, total): (Uuid, Decimal) =
        sqlx::query_as("select settlement_id, total from settlement")
            .fetch_one(w.pool())
            .await
            .unwrap();
    assert_eq!(Sek::from_decimal(total), to_capital);
    // Running again settles nothing twice.
    admin.post(w.app.url("/admin/avrakningar/kor")).send().await.unwrap();
    assert_eq!(w.count("settlement").await, 1);
    let csv = admin
        .get(w.app.url(&format!("/admin/avrakningar/{settlement}/csv")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(csv.starts_with("\u{feff}Avräkning;".as_bytes()));
    let pdf = admin
        .get(w.app.url(&format!("/admin/avrakningar/{settlement}/pdf")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));

    let batch = location(&admin.post(w.app.url("/admin/utbetalningar")).send().await.unwrap());
    admin.post(w.app.url(&format!("{batch}/godkann"))).send().await.unwrap();
    // Over 100 000 kr: the same admin cannot approve twice.
    admin.post(w.app.url(&format!("{batch}/godkann"))).send().await.unwrap();
    assert_eq!(w.count("payout_batch where state = 'draft'").await, 1);
    admin2.post(w.app.url(&format!("{batch}/godkann"))).send().await.unwrap();
    assert_eq!(w.count("payout_batch where state = 'approved'").await, 1);
    let xml = admin
        .post(w.app.url(&format!("{batch}/pain001")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(xml.contains("<Prtry>BGNR</Prtry>") && xml.contains("<Id>9912346</Id>"), "{xml}");
    validate_pain001(&xml);
    admin.post(w.app.url(&format!("{batch}/utford"))).send().await.unwrap();
    // Nothing left to put in a batch.
    let resp = admin.post(w.app.url("/admin/utbetalningar")).send().await.unwrap();
    assert_eq!(location(&resp), "/admin/avrakningar");
    w.check_ledger("2025-05-02");

    // The creditor changes its payout account: the old one is used for 10 bank days.
    let creditor_user = crate::harness::create_user(w.pool(), "c@test.se", "creditor").await;
    sqlx::query("update app_user set creditor_id = $2 where user_id = $1")
        .bind(creditor_user)
        .bind(w.creditor)
        .execute(w.pool())
        .await
        .unwrap();
    w.app.login("c@test.se", crate::harness::PASSWORD).await;
    let resp = w
        .app
        .post_form(
            "/borgenar/utbetalningskonto",
            &[("kind", "bank_account"), ("clearing", "5102"), ("account", "0158752")],
        )
        .await;
    assert_eq!(resp.status(), 422, "wrong check digit");
    let resp = w
        .app
        .post_form(
            "/borgenar/utbetalningskonto",
            &[("kind", "bank_account"), ("clearing", "5102"), ("account", "0158751")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let mut conn = w.pool().acquire().await.unwrap();
    use fordra::payouts::repo::payout_account;
    let now_account =
        payout_account(&mut conn, w.creditor, d("2025-05-02")).await.unwrap().unwrap();
    assert_eq!(now_account.0.display(), "Bankgiro 991-2346");
    // 10 bank days after Friday 2025-05-02 is Friday 2025-05-16.
    let before = payout_account(&mut conn, w.creditor, d("2025-05-15")).await.unwrap().unwrap();
    assert_eq!(before.0.display(), "Bankgiro 991-2346");
    let later = payout_account(&mut conn, w.creditor, d("2025-05-16")).await.unwrap().unwrap();
    assert_eq!(later.0.display(), "Konto 5102-0158751");
    assert_eq!(later.1, d("2025-05-16"));
    drop(conn);
    let html = w.app.get("/borgenar/avrakningar").await.text().await.unwrap();
    assert!(html.contains(&settlement.to_string()));
}
