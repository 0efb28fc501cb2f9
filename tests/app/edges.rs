//! "Correct at the edges": the half-year turn of the reference rate, and other edges a user met.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    harness::{Options, fetch, fordra_cli, staff_client},
    mina_sidor::{World, login, person, world},
};

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");

/// The CLI against the test database on business date `today`.
fn cli(w: &World, today: &str, args: &[&str]) -> (bool, String, String) {
    let out = fordra_cli(&w.app.db_name).env("FORDRA_TODAY", today).args(args).output().unwrap();
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
            .form(&[("email", w.creditor_email.as_str()), ("password", crate::harness::PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        c
    };
    for path in [format!("/borgenar/krav/{claim}"), "/borgenar/krav".into(), "/borgenar".into()] {
        let (status, html) = fetch(&creditor, &jan, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if path.contains(&claim.to_string()) {
            assert!(html.contains("id=\"claim-preliminary\""), "{path}");
        }
    }
    // Mina sidor.
    let sven = login(&jan, SVEN).await;
    let (status, _) = fetch(&sven, &jan, "/mina-sidor").await;
    assert_eq!(status, StatusCode::OK);
    let (status, html) = fetch(&sven, &jan, &format!("/mina-sidor/arenden/{claim}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"case-preliminary\""));
    // Verify this letter.
    let case_code: String = sqlx::query_scalar("select case_code from claim where claim_id = $1")
        .bind(claim)
        .fetch_one(&jan.pool)
        .await
        .unwrap();
    let r = jan
        .post_form("/kontrollera-brev", &[("ocr", ocr.as_str()), ("case_code", case_code.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Staff: the red alert, the claim, the payment simulator, the rates page.
    let admin = staff_client(&jan, "admin@fordra.se", "admin").await;
    let (status, html) = fetch(&admin, &jan, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"rate-alert\""), "the back office warns");
    for path in [
        format!("/admin/krav/{claim}"),
        "/admin/betalningssimulator".into(),
        "/admin/referensranta".into(),
        "/admin/betalningar".into(),
    ] {
        let (status, _) = fetch(&admin, &jan, &path).await;
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
    let (ok, out, err) = cli(&w, "2027-01-10", &["import-bank-file", file.to_str().unwrap()]);
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
    let (_, html) = fetch(&admin, &jan, "/admin").await;
    assert!(!html.contains("id=\"rate-alert\""));
    let after: Value = api(&jan, &w.key, paying).await;
    assert_eq!(after["amounts"]["preliminary"], false);
    assert_ne!(
        after["amounts"]["interest"], before["amounts"]["interest"],
        "recomputed at 10,50 %"
    );

    // Corrected with the CLI to the real 2,00 %: audited, and the letters go out.
    let (ok, out, err) =
        cli(&w, "2027-01-10", &["set-reference-rate", "--from", "2027-01-01", "--rate", "2.00"]);
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

/// NUL (U+0000) in any text field of any route that takes text is refused with 422 by the one
/// extraction layer, before any handler stores anything; single-line fields refuse line breaks,
/// and every field has a maximum length.
#[tokio::test]
async fn nul_and_control_characters_are_refused_on_every_route_that_takes_text() {
    let w = world("2026-11-20").await;
    let (claim, _) = w.claim("NUL-1", person(SVEN, None), json!({})).await;
    let app = &w.app;
    let creditor = w.creditor_client().await;
    let admin = staff_client(app, "admin@fordra.se", "admin").await;
    let sven = login(app, SVEN).await;
    let anon = crate::harness::browser_client(&app.base);
    let creditor_id: Uuid = sqlx::query_scalar("select creditor_id from claim where claim_id = $1")
        .bind(claim)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let nul = "a\u{0}b";
    let c = claim.to_string();
    // (who, method, path, field that carries the NUL)
    let forms: Vec<(&reqwest::Client, &str, String, &str)> = vec![
        (&anon, "POST", "/logga-in".into(), "email"),
        (&anon, "POST", "/losenord/glomt".into(), "email"),
        (&anon, "POST", "/losenord/ny".into(), "password"),
        (&anon, "POST", "/bli-kund".into(), "company_name"),
        (&anon, "POST", "/kontrollera-brev".into(), "ocr"),
        (&anon, "POST", "/mina-sidor/logga-in".into(), "next"),
        (&creditor, "POST", "/borgenar/krav/ny".into(), "debtor.address.street"),
        (&creditor, "POST", format!("/borgenar/krav/{c}/atgard"), "note"),
        (&creditor, "POST", format!("/borgenar/krav/{c}/amorteringsplan"), "reject_note"),
        (&creditor, "POST", format!("/borgenar/krav/{c}/bestridande"), "answer_text"),
        (&creditor, "POST", "/borgenar/anvandare".into(), "email"),
        (&creditor, "POST", "/borgenar/amorteringsplaner".into(), "max_months"),
        (&creditor, "POST", "/borgenar/utbetalningskonto".into(), "account"),
        (&sven, "POST", "/mina-sidor/kontakt".into(), "email"),
        (&sven, "POST", "/mina-sidor/adress".into(), "street"),
        (&sven, "POST", "/mina-sidor/meddelanden".into(), "body"),
        (&sven, "POST", "/mina-sidor/foretag".into(), "ocr"),
        (&sven, "POST", format!("/mina-sidor/arenden/{c}/aterbetalning"), "clearing"),
        (&sven, "POST", format!("/mina-sidor/arenden/{c}/amorteringsplan"), "months"),
        (&admin, "POST", format!("/admin/krav/{c}/flaggor"), "flag"),
        (&admin, "POST", format!("/admin/krav/{c}/bestridande"), "decision_note"),
        (&admin, "POST", format!("/admin/borgenarer/{creditor_id}/beslut"), "reason"),
        (&admin, "POST", "/admin/bankdagar".into(), "day"),
        (&admin, "POST", "/admin/referensranta".into(), "source"),
        (&admin, "POST", format!("/admin/aterbetalningar/{c}"), "clearing"),
        (&admin, "POST", "/admin/betalningssimulator".into(), "day"),
        (&admin, "GET", "/admin/krav".into(), "q"),
        (&admin, "GET", "/admin/betalningar/omatchade".into(), "q"),
        (&creditor, "GET", "/borgenar/krav".into(), "q"),
        (&anon, "GET", "/rantekalkylator".into(), "capital"),
        (&anon, "GET", "/logga-in".into(), "next"),
        (&anon, "GET", "/losenord/ny".into(), "token"),
    ];
    for (client, method, path, field) in &forms {
        let resp = if *method == "GET" {
            client
                .get(app.url(&format!(
                    "{path}?{}",
                    serde_urlencoded::to_string([(field, nul)]).unwrap()
                )))
                .send()
                .await
                .unwrap()
        } else {
            client
                .post(app.url(path))
                .form(&[(*field, nul), ("csrf_token", "")])
                .send()
                .await
                .unwrap()
        };
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {field}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("otillåtet tecken"), "{method} {path}: {html}");
    }
    // A line break in a single-line field, and a field beyond its length.
    let r = sven
        .post(app.url("/mina-sidor/adress"))
        .form(&[
            ("street", "Storgatan 1\nc/o Svensson"),
            ("postal_code", "11122"),
            ("city", "Stockholm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = sven
        .post(app.url("/mina-sidor/adress"))
        .form(&[
            ("street", "x".repeat(100_000).as_str()),
            ("postal_code", "11122"),
            ("city", "Stockholm"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A multi-line field keeps its lines.
    let r = sven
        .post(app.url("/mina-sidor/meddelanden"))
        .form(&[("subject", "Fråga"), ("body", "Rad ett\r\nRad två"), ("claim", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // The dispute form is multipart: its text goes through the same rule.
    let form =
        reqwest::multipart::Form::new().text("reason", "not_ordered").text("body", nul.to_string());
    let r = sven
        .post(app.url(&format!("/mina-sidor/arenden/{c}/bestrid")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A CSV cell.
    let csv = "fakturanummer;belopp;fakturadatum;forfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort\nCSV-1;100,00;2026-10-01;2026-10-31;person;811218-9876;Sven\u{0}Svensson;konsument;Storgatan 1;11122;Stockholm\n".to_string();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("krav.csv"));
    let r = creditor.post(app.url("/borgenar/krav/import")).multipart(form).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("otillåtet tecken"));
    // The API, on the field.
    let r = app
        .client
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&w.key)
        .json(&json!({"invoice_number": nul}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(body["error"]["field"], "invoice_number");
    // Nothing was stored on the way.
    let claims: i64 =
        sqlx::query_scalar("select count(*) from claim").fetch_one(&app.pool).await.unwrap();
    assert_eq!(claims, 1);
    let addresses: i64 = sqlx::query_scalar("select count(*) from address_change")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(addresses, 0);
}

/// A malformed query, a wrong content type, a body that is too large and a wrong method get the
/// site's Swedish error page, or the API's JSON error shape; never the framework's text.
#[tokio::test]
async fn framework_rejections_answer_in_swedish() {
    let w = world("2026-11-20").await;
    let app = &w.app;
    let anon = crate::harness::browser_client(&app.base);
    let swedish_page = |status: StatusCode, html: &str| {
        assert!(html.contains("<html lang=\"sv\""), "{status}: {html}");
        assert!(!html.contains("Failed to") && !html.contains("deserialize"), "{html}");
    };
    // A malformed query: a page number that is no number.
    let creditor = w.creditor_client().await;
    let r = creditor.get(app.url("/borgenar/krav?page=tre")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    swedish_page(r.status(), &r.text().await.unwrap());
    // Wrong content type for a form.
    let r = anon
        .post(app.url("/logga-in"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    swedish_page(r.status(), &r.text().await.unwrap());
    // Too large.
    let big = "x".repeat(3 * 1024 * 1024);
    let r = anon.post(app.url("/logga-in")).form(&[("email", big.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    swedish_page(r.status(), &r.text().await.unwrap());
    // A wrong method.
    let r = anon.delete(app.url("/logga-in")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().get("allow").is_some());
    swedish_page(r.status(), &r.text().await.unwrap());
    // The API: JSON errors for the same cases.
    let api = |r: reqwest::Response| async move {
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        (status, body["error"]["code"].as_str().unwrap_or("").to_string())
    };
    let post = || app.client.post(app.url("/api/v1/claims")).bearer_auth(&w.key);
    assert_eq!(
        api(post().header("content-type", "text/plain").body("{}").send().await.unwrap()).await,
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type".into())
    );
    assert_eq!(
        api(post()
            .header("content-type", "application/json")
            .body("{\"invoice_number\": ")
            .send()
            .await
            .unwrap())
        .await,
        (StatusCode::BAD_REQUEST, "invalid_json".into())
    );
    let huge = json!({"description": "x".repeat(3 * 1024 * 1024)});
    assert_eq!(
        api(post().json(&huge).send().await.unwrap()).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    assert_eq!(
        api(app.client.delete(app.url("/api/v1/claims")).bearer_auth(&w.key).send().await.unwrap())
            .await,
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
    );
    // A wrong type names the field.
    let r = post().json(&json!({"reminder_fee_agreed": "ja"})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["field"], "reminder_fee_agreed");
    assert!(body["error"]["message"].as_str().unwrap().contains("true eller false"));
}

/// Dates are exactly ÅÅÅÅ-MM-DD; a time-barred claim's error names the date its period runs
/// from; a capital over the rule set's maximum is refused.
#[tokio::test]
async fn dates_limitation_and_capital_edges() {
    let w = world("2026-11-20").await;
    let app = &w.app;
    let post = |body: Value| {
        let c = app.client.post(app.url("/api/v1/claims")).bearer_auth(&w.key).json(&body);
        async move {
            let r = c.send().await.unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            (status, v)
        }
    };
    let base = |extra: Value| {
        let mut c = json!({"invoice_number": "E-1", "capital": "100.00", "invoice_date": "2026-10-01",
            "due_date": "2026-10-31", "debtor": person(SVEN, None)});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for bad in ["2026-1-1", "+2026-01-01", "2026-10-1"] {
        let (status, v) = post(base(json!({"invoice_date": bad}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(v["error"]["field"], "invoice_date", "{bad}");
    }
    // Consumer claims lapse after three years: from the invoice date when no other date is given.
    let (status, v) =
        post(base(json!({"invoice_date": "2023-01-02", "due_date": "2023-02-01"}))).await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("time_barred"))
    );
    assert_eq!(v["error"]["field"], "invoice_date");
    let (_, v) = post(base(json!({"claim_arose_date": "2023-01-02"}))).await;
    assert_eq!(v["error"]["field"], "claim_arose_date");
    let (status, v) = post(base(json!({"capital": "10000000.01"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["error"]["field"], "capital");
    let (status, _) = post(base(json!({"capital": "10000000.00"}))).await;
    assert_eq!(status, StatusCode::CREATED);
}

/// The security findings of "Correct at the edges".
#[tokio::test]
async fn security_edges_mail_reset_api_limit_metrics_and_access_rows() {
    let w = world("2026-11-20").await;
    let app = &w.app;
    // Support may not read outgoing mail; an admin reads it with password links masked.
    crate::harness::create_user(&app.pool, "kund@exempel.se", "creditor").await;
    for _ in 0..4 {
        let r = app.post_form("/losenord/glomt", &[("email", "kund@exempel.se")]).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "the same answer every time");
    }
    // At most three reset mails an hour to one address.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let resets = app.mails().into_iter().filter(|m| m.mail.to == "kund@exempel.se").count();
    assert_eq!(resets, 3);
    let support = staff_client(app, "support@fordra.se", "support").await;
    assert_eq!(
        support.get(app.url("/admin/e-post")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let admin = staff_client(app, "admin@fordra.se", "admin").await;
    let file = app.mails()[0].file.clone();
    let (status, html) = fetch(&admin, app, &format!("/admin/e-post/{file}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("/losenord/ny?token=••••"), "{html}");
    let token = app.mails()[0]
        .mail
        .text
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(!html.contains(&token));

    // The claim list writes one access row listing the claims it showed.
    w.claim("LIST-1", person(SVEN, None), json!({})).await;
    w.claim("LIST-2", person(("199001012385", "Åsa", "Öberg"), None), json!({})).await;
    let creditor = w.creditor_client().await;
    let (status, _) = fetch(&creditor, app, "/borgenar/krav").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<(i32, i32)> = sqlx::query_as(
        "select cardinality(claim_ids), cardinality(debtor_ids) from personal_data_access where what = 'fordringslistan'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(rows, vec![(2, 2)]);
    // Each debtor sees that row on Mina sidor.
    let sven = login(app, SVEN).await;
    let (_, mine) = fetch(&sven, app, "/mina-sidor/mina-uppgifter").await;
    assert!(mine.contains("LIST-1") && !mine.contains("LIST-2"));

    // The API: FORDRA_API_RATE_LIMIT requests a minute per key, 429 with Retry-After beyond.
    let limited = app
        .again(Options {
            vars: vec![
                ("FORDRA_TODAY", "2026-11-20".into()),
                ("FORDRA_API_RATE_LIMIT", "5".into()),
                ("FORDRA_METRICS_TOKEN", "hemlig-token-4711".into()),
            ],
        })
        .await;
    let get = |key: &str| {
        limited
            .client
            .get(limited.url("/api/v1/claims/00000000-0000-0000-0000-000000000000"))
            .bearer_auth(key)
            .send()
    };
    let creditor_id: Uuid = sqlx::query_scalar("select creditor_id from api_key limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let key = fordra::auth::api_key::create(
        &mut conn,
        fordra::auth::api_key::Owner::Creditor(creditor_id),
        fordra::clock::Clock::system().now(),
    )
    .await
    .unwrap();
    drop(conn);
    for _ in 0..5 {
        assert_eq!(get(&key).await.unwrap().status(), StatusCode::NOT_FOUND);
    }
    let over = get(&key).await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = over.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = over.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // A wrong key counts too, under its own bucket.
    for _ in 0..5 {
        assert_eq!(get("fordra_fel").await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(get("fordra_fel").await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // With a metrics token, /metrics needs it.
    assert_eq!(
        limited.client.get(limited.url("/metrics")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let ok = limited
        .client
        .get(limited.url("/metrics"))
        .bearer_auth("hemlig-token-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("fordra_http_requests_total"));
}

/// 64 clients at once on the pages that write an access row: the claim page and the API read
/// (and the list and /healthz beside them) answer without a single 5xx, on a pool of the
/// default size.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_readers_of_claim_pages_and_the_api_get_no_errors() {
    let (pool, name) = crate::harness::fresh_db_with_pool(20).await;
    let app = crate::harness::TestApp::spawn_on(
        pool,
        name,
        Options { vars: vec![("FORDRA_TODAY", "2026-11-20".into())] },
    )
    .await;
    let email = "last@exempel.se";
    crate::harness::create_user(&app.pool, email, "creditor").await;
    let creditor_id: Uuid =
        sqlx::query_scalar("select creditor_id from creditor").fetch_one(&app.pool).await.unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let key = fordra::auth::api_key::create(
        &mut conn,
        fordra::auth::api_key::Owner::Creditor(creditor_id),
        fordra::clock::Clock::system().now(),
    )
    .await
    .unwrap();
    drop(conn);
    let r = app
        .client
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&key)
        .json(
            &json!({"invoice_number": "LOAD-1", "capital": "1000.00", "invoice_date": "2026-10-01",
            "due_date": "2026-10-31", "debtor": person(SVEN, None)}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let creditor = crate::harness::browser_client(&app.base);
    let r = creditor
        .post(app.url("/logga-in"))
        .form(&[("email", email), ("password", crate::harness::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (c, k) = (creditor.clone(), key.clone());
        let (page, api) =
            (app.url(&format!("/borgenar/krav/{id}")), app.url(&format!("/api/v1/claims/{id}")));
        let (list, health) = (app.url("/borgenar/krav"), app.url("/healthz"));
        tasks.spawn(async move {
            let mut statuses = vec![];
            for round in 0..5 {
                let req = match (i + round) % 4 {
                    0 => c.get(&page),
                    1 => c.get(&api).bearer_auth(&k),
                    2 => c.get(&list),
                    _ => c.get(&health),
                };
                statuses.push(req.send().await.unwrap().status());
            }
            statuses
        });
    }
    let mut all = vec![];
    while let Some(r) = tasks.join_next().await {
        all.extend(r.unwrap());
    }
    assert_eq!(all.len(), 320);
    assert!(
        all.iter().all(|s| *s == StatusCode::OK),
        "{:?}",
        all.iter().filter(|s| **s != StatusCode::OK).collect::<Vec<_>>()
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from personal_data_access")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(rows, 240, "one access row per page view, list and API read");
    let page_rows: i64 = sqlx::query_scalar(
        "select count(*) from personal_data_access where what = 'fordrans sida' and claim_ids = array[$1::uuid]",
    )
    .bind(Uuid::parse_str(&id).unwrap())
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(page_rows, 80);
    // A claim the reader may not see is 404 and writes no row.
    let other = Uuid::new_v4();
    let r = creditor.get(app.url(&format!("/borgenar/krav/{other}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = creditor
        .get(app.url(&format!("/api/v1/claims/{other}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let after: i64 = sqlx::query_scalar("select count(*) from personal_data_access")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(after, 240);
}

/// Access rows commit without waiting for the WAL flush only when their statement is its own
/// transaction: inside a transaction that may also move money, the commit stays synchronous.
#[tokio::test]
async fn access_rows_relax_only_their_own_commit() {
    use fordra::auth::access_log::{may_relax, relaxed_commit};
    let (pool, _name) = crate::harness::fresh_db().await;
    let relaxed = format!("with {} select count(*) from relaxed", relaxed_commit("$1"));
    let mut conn = pool.acquire().await.unwrap();
    assert!(may_relax(&conn), "a statement on its own may relax its commit");
    let alone: i64 =
        sqlx::query_scalar(&relaxed).bind(may_relax(&conn)).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(alone, 1);
    let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
    // The test cluster runs without fsync; a production transaction commits synchronously.
    sqlx::query("set local synchronous_commit = on").execute(&mut *tx).await.unwrap();
    assert!(!may_relax(&tx));
    let inside: i64 =
        sqlx::query_scalar(&relaxed).bind(may_relax(&tx)).fetch_one(&mut *tx).await.unwrap();
    assert_eq!(inside, 0);
    let setting: String =
        sqlx::query_scalar("show synchronous_commit").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(setting, "on", "the transaction keeps its synchronous commit");
    // What the CTE does when allowed: this transaction's commit stops waiting for the flush.
    sqlx::query_scalar::<_, i64>(&relaxed).bind(true).fetch_one(&mut *tx).await.unwrap();
    let setting: String =
        sqlx::query_scalar("show synchronous_commit").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(setting, "off");
    tx.rollback().await.unwrap();
}
