//! The public interest calculator and `fordra interest`, on the rates stored in the database.

use reqwest::StatusCode;

use crate::harness::{self, TestApp};

#[tokio::test]
async fn calculator_page_shows_the_breakdown() {
    let app = TestApp::spawn().await;
    let empty = app.get("/rantekalkylator").await;
    assert_eq!(empty.status(), StatusCode::OK);
    let page = app.get("/rantekalkylator?capital=10+000&from=2025-06-11&to=2025-08-15").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("2025-06-11 – 2025-06-30") && html.contains("2025-07-01 – 2025-08-15"));
    assert!(html.contains("11,00 %") && html.contains("10,00 %"));
    assert!(html.contains("60,27 kr") && html.contains("126,03 kr"));
    assert!(html.contains("<strong>186,30 kr</strong>"));
}

#[tokio::test]
async fn calculator_errors_are_swedish_and_on_the_field() {
    let app = TestApp::spawn().await;
    let bad = app.get("/rantekalkylator?capital=tio&from=2025-13-01&to=2025-01-01").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("id=\"f-capital-error\">Ange beloppet med siffror"));
    assert!(html.contains("id=\"f-from-error\">Ange första räntedag"));
    let no_rate = app.get("/rantekalkylator?capital=100&from=2019-01-01&to=2019-02-01").await;
    assert_eq!(no_rate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_rate.text().await.unwrap().contains("Referensränta saknas för 2019-01-01"));
    let backwards = app.get("/rantekalkylator?capital=100&from=2025-02-01&to=2025-01-01").await;
    assert!(
        backwards.text().await.unwrap().contains("Sista räntedagen kan inte vara före den första.")
    );
}

#[tokio::test]
async fn rates_are_data_an_admin_can_correct() {
    let app = TestApp::spawn().await;
    // Correcting the unverified 2026-H2 rate changes the result without a code change.
    sqlx::query("update reference_rate set percent = 2.50, status = 'confirmed' where valid_from = '2026-07-01'")
        .execute(&app.pool)
        .await
        .unwrap();
    let html = app
        .get("/rantekalkylator?capital=10000&from=2026-07-01&to=2026-07-31")
        .await
        .text()
        .await
        .unwrap();
    // 10 000 × 10,5 % × 31 / 365 = 89,18
    assert!(html.contains("10,50 %") && html.contains("<strong>89,18 kr</strong>"), "{html}");
}

#[tokio::test]
async fn interest_command_prints_periods_and_total() {
    let (_pool, name) = harness::fresh_db().await;
    let run = |capital: &str| {
        harness::fordra_cli(&name)
            .args(["interest", capital, "--from", "2025-04-01", "--to", "2025-06-15"])
            .output()
            .unwrap()
    };
    let out = run("--capital=10000");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        ["2025-04-01..2025-06-15  76 days  11.00% 229.04", "total 229.04"]
    );
    let bad = run("--capital=-5");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("större än noll"));
}
