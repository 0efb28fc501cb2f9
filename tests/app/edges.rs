//! "Correct at the edges": the half-year turn of the reference rate, and other edges a user met.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{Options, fordra_cli, staff_client},
    mina_sidor::{World, login, person, text, world},
};

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");

/// The CLI against the test database on business date `today`.
fn cli(w: &World, today: &str, args: &[&str]) -> (bool, String, String) {
    let out = fordra_cli(&w.app.db_name)
        .env("FORDRA_TODAY", today)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn api(app: &crate::harness::TestApp, key: &str, id: Uuid) -> Value {
    let r = app
        .client
        .get(app.url(&format!("/api/v1/claims/{id}")))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// 2027-01-10 with no reference rate for 2027-H1: every page still answers, amounts are marked
/// preliminary, registration and bank files work, the engine holds its letters; once an admin
/// enters the rate the letters go out and the allocations are recomputed.
#[tokio::test]
async fn the_half_year_turn_without_a_published_rate_breaks_nothing() {
    let w = world("2026-12-01").await;
    let (claim, ocr) = w
        .claim(
            "TURN-1",
            person(SVEN, Some("sven@exempel.se")),
            json!({"invoice_date": "2026-11-15", "due_date": "2026-12-15"}),
        )
        .await;
    let (paying, paying_ocr) = w
        .claim(
            "TURN-2",
            person(SVEN, None),
            json!({"invoice_date": "2026-11-15", "due_date": "2026-12-15"}),
        )
        .await;
    // Reminders go out in December, with every rate known.
    assert_eq!(w.tick("2026-12-16").await.steps, 2);

    let jan = w
        .app
        .again(Options {
            vars: vec![
                ("FORDRA_TODAY", "2027-01-10".into()),
                // Demo mode has the payment simulator.
                ("FORDRA_DEMO", "on".into()),
                ("FORDRA_BANKID", "simulator".into()),
                ("FORDRA_BANKID_SIM_FIXED_TOKENS", "on".into()),
            ],
        })
        .await;
    // The API: 200, amounts with the last known rate, marked preliminary.
    let body = api(&jan, &w.key, claim).await;
    assert_eq!(body["amounts"]["preliminary"], true, "{body}");
    assert_eq!(body["amounts"]["as_of"], "2027-01-10");
    // The creditor's claim page and list.
    let creditor = {
        let c = crate::harness::browser_client(&jan.base);
        let r = c
            .post(jan.url("/logga-in"))
            .form(&[
                ("email", w.creditor_email.as_str()),
                ("password", crate::harness::PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        c
    };
    for path in [
        format!("/borgenar/krav/{claim}"),
        "/borgenar/krav".into(),
        "/borgenar".into(),
    ] {
        let (status, html) = text(&creditor, &jan, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if path.contains(&claim.to_string()) {
            assert!(html.contains("id=\"claim-preliminary\""), "{path}");
        }
    }
    // Mina sidor.
    let sven = login(&jan, SVEN).await;
    let (status, _) = text(&sven, &jan, "/mina-sidor").await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = text(&sven, &jan, &format!("/mina-sidor/arenden/{claim}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"case-preliminary\""));
    // Verify this letter.
    let case_code: String = sqlx::query_scalar("select case_code from claim where claim_id = $1")
        .bind(claim)
        .fetch_one(&jan.pool)
        .await
        .unwrap();
    let r = jan
        .post_form(
            "/kontrollera-brev",
            &[("ocr", ocr.as_str()), ("case_code", case_code.as_str())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Staff: the red alert, the claim, the payment simulator, the rates page.
    let admin = staff_client(&jan, "admin@fordra.se", "admin").await;
    let (status, html) = text(&admin, &jan, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"rate-alert\""), "the back office warns");
    for path in [
        format!("/admin/krav/{claim}"),
        "/admin/betalningssimulator".into(),
        "/admin/referensranta".into(),
        "/admin/betalningar".into(),
    ] {
        let (status, _) = text(&admin, &jan, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // Registration accepts claims.
    let r = jan
        .client
        .post(jan.url("/api/v1/claims"))
        .bearer_auth(&w.key)
        .json(&json!({
            "invoice_number": "TURN-3", "capital": "500.00", "invoice_date": "2027-01-02", "due_date": "2027-01-05",
            "debtor": person(SVEN, None)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // A bank file is allocated with the last known rate: 2 000 kr booked 2027-01-08.
    let file = std::env::temp_dir().join(format!("turn-{}.xml", Uuid::new_v4()));
    std::fs::write(
        &file,
        fordra::payments::simulator::camt054(
            fordra::config::DEFAULT_IBAN,
            "TURN-FILE",
            "2027-01-08".parse().unwrap(),
            &[fordra::payments::simulator::Item::new(
                &paying_ocr,
                fordra::domain::money::Sek::kronor(2000),
                "Sven",
            )],
        ),
    )
    .unwrap();
    let (ok, out, err) = cli(
        &w,
        "2027-01-10",
        &["import-bank-file", file.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    let before: Value = api(&jan, &w.key, paying).await;
    assert_eq!(before["amounts"]["preliminary"], true);

    // The engine holds the inkassokrav (its interest would cover 2027) and says so.
    let (ok, out, err) = cli(&w, "2027-01-10", &["tick"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("letters held: no reference rate published for the half-year from 2027-01-01"),
        "{out}"
    );
    let held: i64 = sqlx::query_scalar("select count(*) from letter where kind = 'collection'")
        .fetch_one(&jan.pool)
        .await
        .unwrap();
    assert_eq!(held, 0);

    // Support cannot enter the rate; an admin can, in the back office.
    let support = staff_client(&jan, "support@fordra.se", "support").await;
    let r = support
        .post(jan.url("/admin/referensranta"))
        .form(&[("from", "2027-01-01"), ("rate", "2,50"), ("source", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = admin
        .post(jan.url("/admin/referensranta"))
        .form(&[("from", "2027-01-01"), ("rate", "två"), ("source", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"f-rate-error\"") && html.contains("id=\"f-source-error\""));
    let r = admin
        .post(jan.url("/admin/referensranta"))
        .form(&[
            ("from", "2027-01-01"),
            ("rate", "2,50"),
            ("decided_on", "2026-12-29"),
            ("source", "Riksbankens beslut 2026-12-29"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = text(&admin, &jan, "/admin").await;
    assert!(!html.contains("id=\"rate-alert\""));
    let after: Value = api(&jan, &w.key, paying).await;
    assert_eq!(after["amounts"]["preliminary"], false);
    assert_ne!(
        after["amounts"]["interest"], before["amounts"]["interest"],
        "recomputed at 10,50 %"
    );

    // Corrected with the CLI to the real 2,00 %: audited, and the letters go out.
    let (ok, out, err) = cli(
        &w,
        "2027-01-10",
        &[
            "set-reference-rate",
            "--from",
            "2027-01-01",
            "--rate",
            "2.00",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("(was 2.50)"), "{out}");
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action in ('reference_rate_entered', 'reference_rate_corrected')",
    )
    .fetch_one(&jan.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);
    let (ok, out, err) = cli(&w, "2027-01-10", &["tick"]);
    assert!(ok, "{err}");
    assert!(!out.contains("held"), "{out}");
    let sent: i64 = sqlx::query_scalar(
        "select count(*) from letter where kind = 'collection' and dispatched_on = '2027-01-10'",
    )
    .fetch_one(&jan.pool)
    .await
    .unwrap();
    assert_eq!(sent, 2);
    let snapshot: Value = sqlx::query_scalar(
        "select snapshot from letter where kind = 'collection' and claim_id = $1",
    )
    .bind(claim)
    .fetch_one(&jan.pool)
    .await
    .unwrap();
    let lines = snapshot["interest_lines"].as_array().unwrap();
    assert_eq!(lines.last().unwrap()["rate_percent"], "10,00", "2,00 + 8");
    let (ok, out, err) = cli(&w, "2027-01-10", &["check-ledger"]);
    assert!(ok, "{out}{err}");
}
