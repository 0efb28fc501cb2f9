//! Mina sidor over real HTTP: BankID login through the simulator's HTTP API, what a debtor may
//! see, disputes, payment plans, contact details and the GDPR export.

use std::time::Duration;

use chrono::NaiveDate;
use fordra::{
    bankid,
    domain::money::Sek,
    payments::{import::import_file, simulator},
};
use reqwest::{Client, StatusCode, multipart};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::harness::{TestApp, bare_client, browser_client, fetch, location, staff_client};
pub(crate) use crate::world::{World, d, world};

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");
const ASA: (&str, &str, &str) = ("199001012385", "Åsa", "Öberg");
const ERIK: (&str, &str, &str) = ("197205302396", "Erik", "Exempelsson");

const QR_VECTORS: [&str; 3] = [
    "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.0.dc69358e712458a66a7525beef148ae8526b1c71610eff2c16cdffb4cdac9bf8",
    "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.1.949d559bf23403952a94d103e67743126381eda00f0b3cbddbf7c96b1adcbce2",
    "bankid.67df3917-fa0d-44e5-b327-edcc928297f8.2.a9e5ec59cb4eee4ef4117150abc58fad7a85439a6a96ccbecc3668b41795b3f3",
];

impl World {
    /// Registers a claim of 10 000 kr due 2026-10-01 against `debtor`; returns (id, ocr).
    pub(crate) async fn claim(&self, invoice: &str, debtor: Value, extra: Value) -> (Uuid, String) {
        let mut c = json!({
            "invoice_number": invoice, "capital": "10000.00", "description": "Snickeriarbete",
            "invoice_date": "2026-09-01", "due_date": "2026-10-01", "reminder_fee_agreed": true,
            "debtor": debtor,
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        self.register(&c).await
    }
}

pub(crate) fn person(who: (&str, &str, &str), email: Option<&str>) -> Value {
    json!({"kind": "person", "id_number": who.0, "name": format!("{} {}", who.1, who.2), "capacity": "consumer",
           "email": email, "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}})
}

pub(crate) fn company() -> Value {
    json!({"kind": "company", "id_number": "5560360793", "name": "Exempelbolaget AB", "capacity": "business",
           "address": {"street": "Box 12", "postal_code": "41101", "city": "Göteborg"}})
}

/// The simulator's pending orders, newest first.
pub(crate) async fn sim_orders(app: &TestApp) -> Vec<String> {
    let v: Value = bare_client()
        .get(app.url("/bankid-sim/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["orderRef"].as_str().unwrap().to_string())
        .collect()
}

pub(crate) async fn sim_control(app: &TestApp, path: &str, body: Value) -> StatusCode {
    bare_client().post(app.url(path)).json(&body).send().await.unwrap().status()
}

/// Starts a BankID login in `client`; returns the order page path and the simulator's orderRef.
async fn start_login(app: &TestApp, client: &Client) -> (String, String) {
    let before = sim_orders(app).await;
    let r =
        client.post(app.url("/mina-sidor/logga-in")).form(&[("next", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let page = location(&r);
    assert!(page.starts_with("/mina-sidor/bankid/"), "{page}");
    let order = sim_orders(app)
        .await
        .into_iter()
        .find(|o| !before.contains(o))
        .expect("a new order at the simulator");
    (page, order)
}

async fn status(app: &TestApp, client: &Client, page: &str) -> Value {
    let r = client.get(app.url(&format!("{page}/status"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// Polls the order page's status (on `app`, which may be another instance than the one that
/// started it) until it names where to go next; returns that path and the last status.
pub(crate) async fn next_after_bankid(
    app: &TestApp,
    client: &Client,
    page: &str,
) -> (String, Value) {
    loop {
        // Fordra collects about every two seconds, whatever the browser's polling.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let s = status(app, client, page).await;
        if let Some(n) = s["next"].as_str() {
            return (n.to_string(), s);
        }
    }
}

/// Logs `who` in with BankID through the simulator's control endpoint; returns the client.
pub(crate) async fn login(app: &TestApp, who: (&str, &str, &str)) -> Client {
    let client = browser_client(&app.base);
    let (page, order) = start_login(app, &client).await;
    assert_eq!(status(app, &client, &page).await["status"], "pending");
    let done = sim_control(
        app,
        &format!("/bankid-sim/orders/{order}/complete"),
        json!({"personalNumber": who.0, "givenName": who.1, "surname": who.2}),
    )
    .await;
    assert_eq!(done, StatusCode::OK);
    let (next, s) = next_after_bankid(app, &client, &page).await;
    assert_eq!(s["status"], "complete");
    let r = client.get(app.url(&next)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r), "/mina-sidor");
    // The completed order cannot be turned into a second session.
    // (the browser binding is gone with the session cookie's arrival).
    let again = client.get(app.url(&next)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    client
}

/// Asks for a payment plan as a debtor does: shows the exact plan for `months`, then confirms
/// the total it showed. Returns the confirmation's answer.
pub(crate) async fn propose_plan(
    client: &Client,
    app: &TestApp,
    claim: Uuid,
    months: &str,
) -> reqwest::Response {
    let path = format!("/mina-sidor/arenden/{claim}/amorteringsplan");
    let (code, page) = fetch(client, app, &format!("{path}?months={months}")).await;
    assert_eq!(code, StatusCode::OK);
    let total = page
        .split("name=\"total\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the preview carries the total it shows")
        .to_string();
    client
        .post(app.url(&path))
        .form(&[("months", months), ("total", total.as_str())])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn bankid_login_shows_the_official_qr_codes_and_only_the_persons_own_cases() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let (sven_claim, _) = w.claim("S-1", person(SVEN, None), json!({})).await;
    let (asa_claim, _) = w.claim("A-1", person(ASA, None), json!({})).await;
    let (company_claim, company_ocr) = w.claim("C-1", company(), json!({})).await;
    w.tick("2026-11-02").await;

    // Not logged in: to the BankID login, never a page.
    let anon = browser_client(&app.base);
    let r = anon.get(app.url("/mina-sidor")).send().await.unwrap();
    assert_eq!(location(&r), "/mina-sidor/logga-in?next=%2Fmina-sidor");

    // The QR codes equal the official test vectors for the same tokens and seconds.
    let client = browser_client(&app.base);
    let (page, order) = start_login(app, &client).await;
    let mut seen = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    while seen.len() < 3 && started.elapsed() < Duration::from_secs(6) {
        let s = status(app, &client, &page).await;
        assert_eq!(s["status"], "pending");
        assert_eq!(s["message"], bankid::RFA1);
        let t = s["qrTime"].as_u64().unwrap();
        if t < 3 {
            assert_eq!(s["qr"].as_str().unwrap(), QR_VECTORS[t as usize], "second {t}");
            assert!(
                s["qrSvg"].as_str().unwrap().starts_with("<?xml")
                    || s["qrSvg"].as_str().unwrap().contains("<svg")
            );
            seen.insert(t);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(seen.len(), 3, "saw QR times {seen:?}");
    // The order page shows the same code, and nobody else may follow the order.
    let (code, html) = fetch(&client, app, &page).await;
    assert_eq!(code, StatusCode::OK);
    assert!(html.contains("<svg"), "QR on the page");
    assert_eq!(
        anon.get(app.url(&format!("{page}/status"))).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // A pending hint from the app changes the message; then the user cancels in the app.
    sim_control(app, &format!("/bankid-sim/orders/{order}/hint"), json!({"hintCode": "userSign"}))
        .await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let s = status(app, &client, &page).await;
    assert_eq!(s["message"], bankid::RFA9);
    assert!(s["qr"].is_null(), "no QR once the app has the order");

    // Sven logs in and sees his case only.
    let sven = login(app, SVEN).await;
    let (code, home) = fetch(&sven, app, "/mina-sidor").await;
    assert_eq!(code, StatusCode::OK);
    assert!(
        home.contains("Faktura S-1") && !home.contains("A-1") && !home.contains("C-1"),
        "{home}"
    );
    let (code, case) = fetch(&sven, app, &format!("/mina-sidor/arenden/{sven_claim}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(case.contains("id=\"pay-ocr\"") && case.contains("uqr"));
    // Someone else's case, by changing ids in URLs: 404, and nothing about it.
    for path in [
        format!("/mina-sidor/arenden/{asa_claim}"),
        format!("/mina-sidor/arenden/{company_claim}"),
        format!("/mina-sidor/arenden/{asa_claim}/bestrid"),
        format!("/mina-sidor/arenden/{asa_claim}/amorteringsplan"),
        format!("/mina-sidor/arenden/{asa_claim}/brev/{}", Uuid::new_v4()),
        format!("/mina-sidor/arenden/{}", Uuid::new_v4()),
        "/mina-sidor/arenden/inte-ett-id".to_string(),
    ] {
        let (code, body) = fetch(&sven, app, &path).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.contains("Öberg") && !body.contains("Exempelbolaget"), "{path}");
    }
    let asa_letter: Uuid =
        w.scalar("select letter_id from letter where claim_id = $1", asa_claim).await;
    let (code, _) =
        fetch(&sven, app, &format!("/mina-sidor/arenden/{asa_claim}/brev/{asa_letter}/pdf")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{asa_claim}/amorteringsplan")))
        .form(&[("months", "3")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A company's representative adds its case with the OCR and the case code from the letter.
    let erik = login(app, ERIK).await;
    let code_of: String =
        w.scalar("select case_code from claim where claim_id = $1", company_claim).await;
    let r = erik
        .post(app.url("/mina-sidor/foretag"))
        .form(&[("ocr", company_ocr.as_str()), ("case_code", "AAAABBBB")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Vi hittar inget ärende"));
    let r = erik
        .post(app.url("/mina-sidor/foretag"))
        .form(&[("ocr", company_ocr.as_str()), ("case_code", code_of.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("/mina-sidor/arenden/{company_claim}"));
    let (code, _) = fetch(&erik, app, &format!("/mina-sidor/arenden/{company_claim}")).await;
    assert_eq!(code, StatusCode::OK);
    // A private person's letter does not make anyone its representative.
    let (asa_ocr, asa_code): (String, String) =
        sqlx::query_as("select ocr, case_code from claim where claim_id = $1")
            .bind(asa_claim)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = erik
        .post(app.url("/mina-sidor/foretag"))
        .form(&[("ocr", asa_ocr.as_str()), ("case_code", asa_code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_event where action = 'debtor_representation_added'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    // Logging out ends the session.
    let r = erik.post(app.url("/mina-sidor/logga-ut")).form(&[("x", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&erik.get(app.url("/mina-sidor")).send().await.unwrap()),
        "/mina-sidor/logga-in?next=%2Fmina-sidor"
    );
}

#[tokio::test]
async fn cancel_and_every_failure_hint_code_give_the_recommended_swedish_message() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let cases = [
        ("expiredTransaction", bankid::RFA8),
        ("certificateErr", bankid::RFA16),
        ("userCancel", bankid::RFA6),
        ("cancelled", bankid::RFA3),
        ("startFailed", bankid::RFA17B),
        ("userDeclinedCall", bankid::CALL_DECLINED),
        ("notSupportedByUserApp", bankid::RFA22),
        ("transactionRiskBlocked", bankid::RFA22),
        ("somethingBrandNew", bankid::RFA22),
    ];
    for (hint, message) in cases {
        let client = browser_client(&app.base);
        let (page, order) = start_login(app, &client).await;
        let r = sim_control(
            app,
            &format!("/bankid-sim/orders/{order}/fail"),
            json!({"hintCode": hint}),
        )
        .await;
        assert_eq!(r, StatusCode::OK);
        let s = status(app, &client, &page).await;
        assert_eq!(
            (s["status"].as_str(), s["message"].as_str()),
            (Some("failed"), Some(message)),
            "{hint}"
        );
        // The page says the same and offers to try again.
        let (_, html) = fetch(&client, app, &page).await;
        assert!(html.contains(&askama_escape(message)), "{hint}");
    }
    // Cancelling on Fordra's page cancels the order at BankID.
    let client = browser_client(&app.base);
    let (page, order) = start_login(app, &client).await;
    let r =
        client.post(app.url(&format!("{page}/avbryt"))).form(&[("x", "")]).send().await.unwrap();
    assert_eq!(location(&r), "/mina-sidor/logga-in");
    assert!(!sim_orders(app).await.contains(&order));
    let (_, html) = fetch(&client, app, "/mina-sidor/logga-in").await;
    assert!(html.contains(bankid::RFA6));
    // BankID in maintenance: the start page says so in Swedish and nothing is stored.
    sim_control(app, "/bankid-sim/errors", json!({"status": 503, "errorCode": "maintenance"}))
        .await;
    let before: i64 =
        sqlx::query_scalar("select count(*) from bankid_order").fetch_one(&app.pool).await.unwrap();
    let r =
        client.post(app.url("/mina-sidor/logga-in")).form(&[("next", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains(bankid::RFA5));
    let after: i64 =
        sqlx::query_scalar("select count(*) from bankid_order").fetch_one(&app.pool).await.unwrap();
    assert_eq!(before, after);
    // An order nobody scans fails with startFailed when the simulator's clock passes 30 s.
    let client = browser_client(&app.base);
    let (page, _) = start_login(app, &client).await;
    sim_control(app, "/bankid-sim/clock", json!({"advanceSeconds": 31})).await;
    let s = status(app, &client, &page).await;
    assert_eq!(s["message"], bankid::RFA17B);
    // The simulator answers like the real service to wrong calls.
    let api = app.url("/bankid-sim/rp/v6.0/collect");
    let r = bare_client().post(&api).json(&json!({"orderRef": "okänd"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "invalidParameters");
    let r = bare_client().get(&api).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let r = bare_client()
        .post(&api)
        .header("content-type", "application/json; charset=utf-8")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;").replace('\'', "&#39;")
}

pub(crate) fn pdf_bytes() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
}

pub(crate) async fn dispute(
    app: &TestApp,
    client: &Client,
    claim: Uuid,
    reason: &str,
    file: Option<(&str, Vec<u8>)>,
) -> reqwest::Response {
    let mut form = multipart::Form::new()
        .text("reason", reason.to_string())
        .text("body", "Jag har aldrig beställt något av er.".to_string());
    if let Some((name, bytes)) = file {
        form = form.part("attachment", multipart::Part::bytes(bytes).file_name(name.to_string()));
    }
    client
        .post(app.url(&format!("/mina-sidor/arenden/{claim}/bestrid")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dispute_stops_the_engine_and_a_maintained_claim_waits_for_staff_never_for_kronofogden() {
    let w = world("2026-10-05").await;
    let app = &w.app;
    let (claim, _) = w.claim("D-1", person(SVEN, Some("sven@exempel.se")), json!({})).await;
    let sven = login(app, SVEN).await;

    // Wrong attachments are refused on the field, and nothing is stored.
    let r = dispute(
        app,
        &sven,
        claim,
        "not_ordered",
        Some(("virus.pdf", b"MZ\x90\x00 not a pdf".to_vec())),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("PDF-, JPEG- eller PNG-fil"));
    let mut big = pdf_bytes();
    big.resize(5 * 1024 * 1024 + 1, b' ');
    let r = dispute(app, &sven, claim, "not_ordered", Some(("stor.pdf", big))).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("högst 5 MB"));
    let r = dispute(app, &sven, claim, "", None).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // "I cannot pay" is not a dispute: it leads to the payment plan.
    let r = dispute(app, &sven, claim, "cannot_pay", None).await;
    assert_eq!(location(&r), format!("/mina-sidor/arenden/{claim}/amorteringsplan"));
    let n: i64 = w.scalar("select count(*) from dispute where claim_id = $1", claim).await;
    assert_eq!(n, 0);
    assert!(!w.scalar::<bool>("select disputed from claim where claim_id = $1", claim).await);

    // The dispute, with a PDF: everything automated stops at once.
    let r = dispute(app, &sven, claim, "not_ordered", Some(("kvitto.pdf", pdf_bytes()))).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(w.scalar::<bool>("select disputed from claim where claim_id = $1", claim).await);
    let to_creditor: i64 = sqlx::query_scalar(
        "select count(*) from mail_queue where claim_id = $1 and subject like 'Bestridande%'",
    )
    .bind(claim)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(to_creditor >= 1);
    for day in ["2026-10-05", "2026-10-20", "2026-12-20"] {
        let r = w.tick(day).await;
        assert_eq!((r.steps, r.dispatched), (0, 0), "{day}");
    }
    let letters: i64 = w.scalar("select count(*) from letter where claim_id = $1", claim).await;
    assert_eq!(letters, 0);

    // The creditor sees it, downloads the attachment and maintains the claim.
    let creditor = w.creditor_client().await;
    let (code, page) = fetch(&creditor, app, &format!("/borgenar/krav/{claim}")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("Jag har aldrig beställt"));
    let r = creditor
        .get(app.url(&format!("/borgenar/krav/{claim}/bestridande/bilaga")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert_eq!(r.bytes().await.unwrap().to_vec(), pdf_bytes());
    let r = creditor
        .post(app.url(&format!("/borgenar/krav/{claim}/bestridande")))
        .form(&[
            ("answer", "maintain"),
            ("answer_text", "Beställningen gjordes i butiken den 1 september."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The debtor sees the answer; nothing resumes.
    let (_, case) = fetch(&sven, app, &format!("/mina-sidor/arenden/{claim}")).await;
    assert!(
        case.contains("Borgenären står fast vid kravet")
            && case.contains("butiken den 1 september")
    );
    assert_eq!(w.tick("2027-01-10").await.steps, 0);

    // Staff release it for court: still disputed, never enforcement-ready.
    let staff = staff_client(app, "handlaggare@fordra.se", "admin").await;
    let (_, home) = fetch(&staff, app, "/admin").await;
    assert!(
        home.contains(&format!("/admin/krav/{claim}")) && home.contains("borgenären står fast"),
        "the back office lists the claim waiting for a decision"
    );
    let (_, staff_page) = fetch(&staff, app, &format!("/admin/krav/{claim}")).await;
    assert!(staff_page.contains("tingsrätt"));
    let r = staff
        .post(app.url(&format!("/admin/krav/{claim}/bestridande")))
        .form(&[("decision", "court"), ("decision_note", "Tvist om avtal, prövas i domstol.")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.tick("2027-03-01").await.steps, 0);
    let state: String = w.scalar("select state from claim where claim_id = $1", claim).await;
    assert_eq!(state, "registered");
    let decision: Option<String> =
        w.scalar("select decision from dispute where claim_id = $1", claim).await;
    assert_eq!(decision.as_deref(), Some("court"));
    let (_, home) = fetch(&staff, app, "/admin").await;
    assert!(!home.contains(&format!("/admin/krav/{claim}")), "decided");
    // Both sides see what was decided, and the debtor is not offered to dispute again.
    let (_, case) = fetch(&sven, app, &format!("/mina-sidor/arenden/{claim}")).await;
    assert!(case.contains("id=\"dispute-decision\"") && case.contains("tingsrätten"));
    assert!(!case.contains("id=\"dispute-link\""), "no second dispute");
    let creditor = w.creditor_client().await;
    let (_, creditor_page) = fetch(&creditor, app, &format!("/borgenar/krav/{claim}")).await;
    assert!(creditor_page.contains("id=\"dispute-decision\""));
    let again = dispute(app, &sven, claim, "not_ordered", None).await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let disputes: i64 = w.scalar("select count(*) from dispute where claim_id = $1", claim).await;
    assert_eq!(disputes, 1);
    // Staff and the creditor opening the claim are in the debtor's access log.
    let (_, mine) = fetch(&sven, app, "/mina-sidor/mina-uppgifter").await;
    assert!(mine.contains("Fordras administratör") && mine.contains("borgenär"), "{mine}");
}

#[tokio::test]
async fn a_kept_plan_pauses_escalation_and_a_missed_instalment_resumes_it() {
    let w = world("2026-10-20").await;
    let app = &w.app;
    let (claim, _) = w.claim("P-1", person(SVEN, None), json!({"capital": "3000.00"})).await;
    // The reminder goes out; the next step would be due in November.
    w.tick("2026-10-20").await;
    let sven = login(app, SVEN).await;
    let (code, form) =
        fetch(&sven, app, &format!("/mina-sidor/arenden/{claim}/amorteringsplan")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(form.contains("170,00 kr"), "the consumer's plan fee is shown");
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{claim}/amorteringsplan")))
        .form(&[("months", "13")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The exact plan is shown before the debtor confirms it; a stale total is shown again.
    let (code, preview) =
        fetch(&sven, app, &format!("/mina-sidor/arenden/{claim}/amorteringsplan?months=3")).await;
    assert_eq!(code, StatusCode::OK);
    assert!(preview.contains("id=\"plan-schedule\"") && preview.contains("2026-11-03"));
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{claim}/amorteringsplan")))
        .form(&[("months", "3"), ("total", "1.00")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("Beloppen har ändrats"));
    let r = propose_plan(&sven, app, claim, "3").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Within the default policy: active at once, with the fee, a letter and three OCRs.
    let status: String =
        w.scalar("select status from payment_plan where claim_id = $1", claim).await;
    assert_eq!(status, "active");
    let fee: rust_decimal::Decimal = w
        .scalar("select amount from fee where claim_id = $1 and kind = 'payment_plan'", claim)
        .await;
    assert_eq!(fee.to_string(), "170.00");
    let inst: Vec<(NaiveDate, rust_decimal::Decimal, String)> = sqlx::query_as(
        "select i.due_date, i.amount, i.ocr from plan_instalment i join payment_plan p using (plan_id) where p.claim_id = $1 order by seq",
    )
    .bind(claim)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(inst.len(), 3);
    assert_eq!(inst[0].0, d("2026-11-03"));
    assert!(inst.iter().all(|(_, _, ocr)| fordra::domain::ocr::validate(ocr).is_ok()));
    let r = w.tick("2026-10-20").await;
    assert_eq!(r.dispatched, 1, "the plan letter goes out");
    let (_, case) = fetch(&sven, app, &format!("/mina-sidor/arenden/{claim}")).await;
    assert!(case.contains("Amorteringsplan") && case.contains(&inst[1].2));
    // The plan letter asks for exactly its instalments.
    let letter: Value = w
        .scalar("select snapshot from letter where claim_id = $1 and kind = 'payment_plan'", claim)
        .await;
    let sum: rust_decimal::Decimal = inst.iter().map(|i| i.1).sum();
    assert_eq!(letter["total"].as_str().unwrap(), sum.to_string());
    // "Så betalar du" asks for the next instalment with its own OCR, not the whole debt.
    let pay_ocr = case.split("id=\"pay-ocr\">").nth(1).unwrap().split('<').next().unwrap();
    assert_eq!(pay_ocr, inst[0].2);
    let pay_amount = case.split("id=\"pay-amount\">").nth(1).unwrap().split('<').next().unwrap();
    assert_eq!(pay_amount, fordra::domain::money::Sek::from_decimal(inst[0].1).to_string());

    // The first instalment is paid with its own OCR on time: the plan is kept.
    let xml = simulator::camt054(
        fordra::config::DEFAULT_IBAN,
        "PLAN-1",
        inst[0].0,
        &[simulator::Item {
            amount: Sek::from_decimal(inst[0].1),
            reference: inst[0].2.clone(),
            payer_name: "Sven Svensson".into(),
        }],
    );
    let path = std::env::temp_dir().join(format!("plan-{}.xml", Uuid::new_v4()));
    std::fs::write(&path, xml).unwrap();
    let imported = import_file(
        &app.pool,
        &path,
        "plan.xml",
        &app.state.config.identity,
        None,
        fordra::clock::Clock::system().now(),
        inst[0].0,
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(imported.matched, 1, "the instalment OCR matches the claim");
    for day in ["2026-11-20", "2026-12-03", "2026-12-13"] {
        let r = w.tick(day).await;
        assert_eq!((r.steps, r.plans_broken), (0, 0), "{day}: escalation paused while kept");
    }
    // The second instalment is more than ten days late: the plan breaks and the lifecycle resumes.
    let second_due = inst[1].0;
    let late = second_due + chrono::Duration::days(11);
    let r = w.tick(&late.to_string()).await;
    assert_eq!(r.plans_broken, 1);
    assert!(r.steps >= 1, "escalation resumes on the same pass");
    let status: String =
        w.scalar("select status from payment_plan where claim_id = $1", claim).await;
    assert_eq!(status, "broken");
    let kinds: Vec<String> =
        sqlx::query_scalar("select kind from letter where claim_id = $1 order by created_on, kind")
            .bind(claim)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(
        kinds.contains(&"plan_broken".to_string()) && kinds.contains(&"collection".to_string()),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn plans_outside_policy_wait_for_the_creditor_and_business_debtors_pay_no_plan_fee() {
    let w = world("2026-10-20").await;
    let app = &w.app;
    let (claim, ocr) = w.claim("B-1", company(), json!({"capital": "40000.00"})).await;
    let erik = login(app, ERIK).await;
    let code: String = w.scalar("select case_code from claim where claim_id = $1", claim).await;
    erik.post(app.url("/mina-sidor/foretag"))
        .form(&[("ocr", ocr.as_str()), ("case_code", code.as_str())])
        .send()
        .await
        .unwrap();
    let r = propose_plan(&erik, app, claim, "6").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Over the 20 000 kr auto-approval: the creditor decides; escalation waits meanwhile.
    let status: String =
        w.scalar("select status from payment_plan where claim_id = $1", claim).await;
    assert_eq!(status, "proposed");
    assert_eq!(w.tick("2026-10-20").await.steps, 0);
    // The debtor may take the proposal back before the creditor decides: the pause ends.
    let (_, case) = fetch(&erik, app, &format!("/mina-sidor/arenden/{claim}")).await;
    assert!(case.contains("Återkalla förslaget"));
    let withdraw = format!("/mina-sidor/arenden/{claim}/amorteringsplan/aterkalla");
    let r = erik.post(app.url(&withdraw)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status: String =
        w.scalar("select status from payment_plan where claim_id = $1", claim).await;
    assert_eq!(status, "withdrawn");
    assert!(
        !w.scalar::<bool>("select payment_plan_active from claim where claim_id = $1", claim).await
    );
    let (_, case) = fetch(&erik, app, &format!("/mina-sidor/arenden/{claim}")).await;
    assert!(case.contains("Förslaget återkallades") && !case.contains("Återkalla förslaget"));
    // Nothing left to withdraw; and a stranger's withdrawal is a 404.
    let r = erik.post(app.url(&withdraw)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sven = login(app, SVEN).await;
    let r = sven.post(app.url(&withdraw)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Proposed again, and this time the creditor decides.
    let r = propose_plan(&erik, app, claim, "6").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let creditor = w.creditor_client().await;
    let r = creditor
        .post(app.url(&format!("/borgenar/krav/{claim}/amorteringsplan")))
        .form(&[("decision", "approve")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let status: String = w
        .scalar(
            "select status from payment_plan where claim_id = $1 order by proposed_at desc limit 1",
            claim,
        )
        .await;
    assert_eq!(status, "active");
    let plan_fees: i64 = w
        .scalar("select count(*) from fee where claim_id = $1 and kind = 'payment_plan'", claim)
        .await;
    assert_eq!(plan_fees, 0, "no plan fee on top of a business debtor's 450 kr");
    // A creditor policy is validated on its fields.
    let r = creditor
        .post(app.url("/borgenar/amorteringsplaner"))
        .form(&[("max_months", "24"), ("min_instalment", "abc"), ("auto_approve_up_to", "5000")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let n: i64 =
        sqlx::query_scalar("select count(*) from plan_policy").fetch_one(&app.pool).await.unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn contact_refund_account_messages_and_the_gdpr_export() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    let (claim, ocr) = w.claim("G-1", person(SVEN, None), json!({"capital": "500.00"})).await;
    let sven = login(app, SVEN).await;

    // E-mail and phone: refused when malformed, applied to open cases when valid.
    let r = sven
        .post(app.url("/mina-sidor/kontakt"))
        .form(&[("email", "inte-en-adress"), ("phone", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("namn@exempel.se") && body.contains("7–15 siffror"));
    let r = sven
        .post(app.url("/mina-sidor/kontakt"))
        .form(&[("email", "sven@exempel.se"), ("phone", "070-123 45 67")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let email: Option<String> =
        w.scalar("select debtor_email from claim where claim_id = $1", claim).await;
    assert_eq!(email.as_deref(), Some("sven@exempel.se"));
    // A new address waits for staff, who approve it on the claim.
    let r = sven
        .post(app.url("/mina-sidor/adress"))
        .form(&[("street", "Nygatan 5"), ("postal_code", "123"), ("city", "Uppsala")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = sven
        .post(app.url("/mina-sidor/adress"))
        .form(&[("street", "Nygatan 5"), ("postal_code", "753 20"), ("city", "Uppsala")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let street: String =
        w.scalar("select debtor_street from claim where claim_id = $1", claim).await;
    assert_eq!(street, "Storgatan 1", "not before staff checked it");
    let staff = staff_client(app, "support@fordra.se", "support").await;
    let (_, home) = fetch(&staff, app, "/admin").await;
    assert!(
        home.contains("Adressändring att kontrollera: Nygatan 5")
            && home.contains(&format!("/admin/krav/{claim}")),
        "the back office lists the change with a claim to decide it on"
    );
    let (_, hits) = fetch(&staff, app, &format!("/admin/krav?q={ocr}")).await;
    assert!(hits.contains(&format!("/admin/krav/{claim}")));
    let (_, page) = fetch(&staff, app, &format!("/admin/krav/{claim}")).await;
    assert!(page.contains("Nygatan 5"));
    let change: Uuid =
        sqlx::query_scalar("select address_change_id from address_change where status = 'pending'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let r = staff
        .post(app.url(&format!("/admin/adressandringar/{change}")))
        .form(&[("decision", "approve"), ("back", &format!("/admin/krav/{claim}"))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let street: String =
        w.scalar("select debtor_street from claim where claim_id = $1", claim).await;
    assert_eq!(street, "Nygatan 5");
    let (_, home) = fetch(&staff, app, "/admin").await;
    assert!(!home.contains("Nygatan 5"), "checked");

    // Overpaid: the debtor gives a refund account, validated, stored for staff's refund.
    let xml = simulator::camt054(
        fordra::config::DEFAULT_IBAN,
        "OVER-1",
        d("2026-11-02"),
        &[simulator::Item {
            amount: Sek::kronor(900),
            reference: ocr.clone(),
            payer_name: "Sven Svensson".into(),
        }],
    );
    let path = std::env::temp_dir().join(format!("over-{}.xml", Uuid::new_v4()));
    std::fs::write(&path, xml).unwrap();
    import_file(
        &app.pool,
        &path,
        "over.xml",
        &app.state.config.identity,
        None,
        fordra::clock::Clock::system().now(),
        d("2026-11-02"),
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{claim}/aterbetalning")))
        .form(&[("clearing", "8327"), ("account", "123")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{claim}/aterbetalning")))
        .form(&[("clearing", "5102"), ("account", "0158751")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let stored: String = w
        .scalar("select clearing || '-' || account from refund_account where claim_id = $1", claim)
        .await;
    assert!(stored.starts_with("5102-"));

    // A message becomes a support ticket.
    let r = sven
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[("claim", ""), ("subject", ""), ("body", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let claim_s = claim.to_string();
    let r = sven
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[
            ("claim", claim_s.as_str()),
            ("subject", "Fråga om räntan"),
            ("body", "Hur räknas räntan?"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let tickets: i64 = w.scalar("select count(*) from ticket where claim_id = $1", claim).await;
    assert_eq!(tickets, 1);

    // The creditor's system reads the claim through the API: that is an access too.
    let r = app
        .client
        .get(app.url(&format!("/api/v1/claims/{claim}")))
        .bearer_auth(&w.key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Everything held about the person, as JSON; and who looked at it.
    let r = sven.get(app.url("/mina-sidor/mina-uppgifter.json")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["person"]["personal_number"], SVEN.0);
    assert_eq!(e["person"]["email"], "sven@exempel.se");
    assert_eq!(e["cases"][0]["invoice_number"], "G-1");
    assert_eq!(e["cases"][0]["payments"][0]["amount"], "900.00");
    assert!(e["cases"][0]["refund_account"].as_str().unwrap().starts_with("5102-"));
    assert_eq!(e["messages"][0]["subject"], "Fråga om räntan");
    assert_eq!(e["address_requests"][0]["status"], "approved");
    assert!(!e["logins"].as_array().unwrap().is_empty());
    let who: Vec<&str> =
        e["access_log"].as_array().unwrap().iter().map(|a| a["role"].as_str().unwrap()).collect();
    assert!(who.contains(&"support"), "{who:?}");
    let what: Vec<&str> =
        e["access_log"].as_array().unwrap().iter().map(|a| a["what"].as_str().unwrap()).collect();
    assert!(what.contains(&"sökträff i back office"), "{what:?}");
    let api = e["access_log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["role"] == "api")
        .expect("the API read is logged");
    assert_eq!(api["what"], "fordran via API");
    assert!(api["who"].as_str().unwrap().contains("API-nyckel fordra_"), "{api}");
    let (_, page) = fetch(&sven, app, "/mina-sidor/mina-uppgifter").await;
    assert!(page.contains("borgenärens system via API"));
}

/// Staff/creditor and debtor sessions share one store, and neither kind of token opens the
/// other audience's pages; a debtor session idles out after 15 minutes.
#[tokio::test]
async fn one_session_store_keeps_each_audience_to_its_own_cookie() {
    let w = world("2026-11-02").await;
    let app = &w.app;
    w.claim("S-1", person(SVEN, None), json!({})).await;
    login(app, SVEN).await;
    let mut conn = w.pool().acquire().await.unwrap();
    let order: Uuid = sqlx::query_scalar(
        "select bankid_order_id from bankid_order where personal_number = $1 limit 1",
    )
    .bind(SVEN.0)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let user: Uuid = sqlx::query_scalar("select user_id from app_user where email = $1")
        .bind(&w.creditor_email)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let now = app.state.clock.now();
    let debtor = fordra::auth::session::create_debtor(&mut conn, SVEN.0, order, now).await.unwrap();
    let stage = fordra::auth::session::Stage::Full;
    let creditor = fordra::auth::session::create(&mut conn, user, stage, None, now).await.unwrap();
    let kinds: (i64, i64) = sqlx::query_as(
        "select count(*) filter (where personal_number is not null), count(*) filter (where user_id is not null) from session",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(kinds, (2, 1), "the debtor's two logins and the creditor's, in one table");
    drop(conn);

    let get = |path: &'static str, cookie: String| {
        let url = app.url(path);
        async move { bare_client().get(url).header("cookie", cookie).send().await.unwrap() }
    };
    let r = get("/mina-sidor", format!("fordra_mina={debtor}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    // A debtor's token as the staff/creditor cookie, and a creditor's as the debtor cookie.
    let r = get("/borgenar", format!("fordra_session={debtor}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).starts_with("/logga-in"), "{}", location(&r));
    let r = get("/mina-sidor", format!("fordra_mina={creditor}")).await;
    assert!(location(&r).starts_with("/mina-sidor/logga-in"), "{}", location(&r));
    let r = get("/borgenar", format!("fordra_session={creditor}")).await;
    assert_eq!(r.status(), StatusCode::OK);

    // 16 minutes idle: the debtor is logged out; the creditor (2 hours idle) is not.
    app.state.clock.advance(chrono::Duration::minutes(16));
    let r = get("/mina-sidor", format!("fordra_mina={debtor}")).await;
    assert!(location(&r).starts_with("/mina-sidor/logga-in"), "{}", location(&r));
    let r = get("/borgenar", format!("fordra_session={creditor}")).await;
    assert_eq!(r.status(), StatusCode::OK);
}
