//! Hostile input: SQL- and script-injection strings through forms and the API are stored as
//! typed and shown inert; oversized bodies and uploads are refused with 413 and a Swedish
//! message, storing nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::*;
use crate::mina_sidor::{login, person};
use crate::world::world;

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");

/// Strings that would do harm if they were ever spliced into SQL or HTML.
const SQL: &str = "Robert'); DROP TABLE claim;-- ' OR '1'='1";
const SCRIPT: &str = "<script>alert('x')</script><img src=x onerror=alert(1)>";

fn inert(html: &str) -> bool {
    !html.contains("<script>alert")
        && !html.contains("<img src=x")
        && (html.contains("&lt;script&gt;") || html.contains("&#60;script&#62;"))
}

#[tokio::test]
async fn injection_strings_are_stored_literally_and_shown_inert() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    // Through the API: the debtor's name and the description.
    let mut debtor = person(SVEN, None);
    debtor["name"] = json!(SQL);
    let (claim, _) = w.claim("INJ-1", debtor, json!({"description": SCRIPT})).await;
    let (name, description): (String, String) =
        sqlx::query_as("select debtor_name, description from claim where claim_id = $1")
            .bind(claim)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), description.as_str()), (SQL, SCRIPT), "stored as typed");
    let api: Value = app
        .client
        .get(app.url(&format!("/api/v1/claims/{claim}")))
        .bearer_auth(&w.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["debtor"]["name"], SQL);
    let creditor = w.creditor_client().await;
    let (_, html) = fetch(&creditor, app, &format!("/borgenar/krav/{claim}")).await;
    assert!(inert(&html), "the creditor's claim page escapes it");
    // Through forms: a debtor's message, a creditor's question, staff's answer and a new staff
    // member's name; and the searches.
    let sven = login(app, SVEN).await;
    let r = sven
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[("claim", ""), ("subject", SQL), ("body", SCRIPT)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = creditor
        .post(app.url("/borgenar/kontakt"))
        .form(&[("claim", ""), ("subject", SCRIPT), ("body", SQL)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let admin = staff_client(app, "ada@fordra.test", "admin").await;
    let r = admin
        .post(app.url("/admin/personal"))
        .form(&[("name", SCRIPT), ("email", "nya@fordra.test"), ("role", "support")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let stored: Vec<String> = sqlx::query_scalar(
        "select subject from ticket union all select body from ticket_message union all select display_name from app_user where email = 'nya@fordra.test'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored.iter().filter(|s| *s == SQL).count(), 2, "{stored:?}");
    assert_eq!(stored.iter().filter(|s| *s == SCRIPT).count(), 3, "{stored:?}");
    for path in ["/admin/arenden", "/admin/personal", &format!("/admin/krav/{claim}")] {
        let (_, html) = fetch(&admin, app, path).await;
        assert!(inert(&html) || !html.contains("script"), "{path} escapes it");
        assert!(!html.contains("<script>alert"), "{path}");
    }
    let ticket: uuid::Uuid =
        sqlx::query_scalar("select ticket_id from ticket where personal_number is not null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = admin
        .post(app.url(&format!("/admin/arenden/{ticket}/skriv")))
        .form(&[("kind", "answer"), ("body", SCRIPT), ("minutes", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = fetch(&sven, app, &format!("/mina-sidor/meddelanden/{ticket}")).await;
    assert!(inert(&html), "Mina sidor escapes staff's answer and the debtor's own words");
    // Searches treat it as text: no error, no match, nothing dropped.
    for path in [
        "/admin/krav?q=",
        "/borgenar/krav?q=",
        "/admin/logg?person=",
        "/admin/betalningar/omatchade?q=",
    ] {
        let client = if path.starts_with("/admin") { &admin } else { &creditor };
        let url = format!(
            "{path}{}",
            serde_urlencoded::to_string([("", SQL)]).unwrap().trim_start_matches('=')
        );
        let r = client.get(app.url(&url)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let claims: i64 =
        sqlx::query_scalar("select count(*) from claim").fetch_one(&app.pool).await.unwrap();
    assert_eq!(claims, 1, "the claim table is there and untouched");
}

#[tokio::test]
async fn oversized_bodies_and_uploads_are_refused_with_413_in_swedish() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let big = "x".repeat(3 * 1024 * 1024);
    // The API: a JSON error with the code and a Swedish message.
    let r = app
        .client
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&w.key)
        .header("content-type", "application/json")
        .body(format!("{{\"invoice_number\": \"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("för stor"));
    // A form: a Swedish page.
    let sven = login(app, SVEN).await;
    let r = sven
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[("claim", ""), ("subject", "Stort"), ("body", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("För stort"));
    // An upload beyond its limit (8 MB for a claims CSV).
    let creditor = w.creditor_client().await;
    let part = reqwest::multipart::Part::bytes(vec![b'a'; 9 * 1024 * 1024]).file_name("stor.csv");
    let r = creditor
        .post(app.url("/borgenar/krav/import"))
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("för stor"));
    let stored: i64 = sqlx::query_scalar("select (select count(*) from claim) + (select count(*) from ticket) + (select count(*) from claim_import)")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored");
}
