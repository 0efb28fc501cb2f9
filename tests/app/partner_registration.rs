//! A partner registers at `/partner/registrera`: the form, the BankID signature of the partner
//! agreement through the simulator (the signature checked to cover the agreement's version and
//! SHA-256), the pending partner that results, and the agreement page and PDF.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Options, TestApp, browser_client, location};
use crate::mina_sidor::{sim_control, sim_orders};

const SIGNER: (&str, &str, &str) = ("198112189876", "Karin", "Berg");

fn form<'a>(
    org_nr: &'a str,
    name: &'a str,
    business: &'a str,
    email: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("org_nr", org_nr),
        ("company_name", name),
        ("business", business),
        ("contact_name", "Karin Berg"),
        ("email", email),
        ("password", "ett långt lösenord"),
        ("password_repeat", "ett långt lösenord"),
        ("payout_type", "bankgiro"),
        ("bankgiro", "991-2346"),
        ("payout_reference", "Provision Fordra"),
        ("confirm", "on"),
        ("terms_version", "2026-1"),
    ]
}

async fn spawn() -> TestApp {
    let vars = vec![("FORDRA_TODAY", "2026-03-02".into()), ("FORDRA_BANKID", "simulator".into())];
    TestApp::spawn_with(Options { vars }).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// Posts the form in a new browser; returns the browser, the order page and the simulator's
/// order (with the text shown in the app).
async fn start(app: &TestApp, fields: &[(&str, &str)]) -> (Client, String, Value) {
    let client = browser_client(&app.base);
    let before = sim_orders(app).await;
    let r = client.post(app.url("/partner/registrera")).form(fields).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", r.text().await.unwrap());
    let page = location(&r);
    assert!(page.starts_with("/partner/registrera/bankid/"), "{page}");
    let orders: Value =
        client.get(app.url("/bankid-sim/orders")).send().await.unwrap().json().await.unwrap();
    let order = orders["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| !before.contains(&o["orderRef"].as_str().unwrap().to_string()))
        .expect("a new order at the simulator")
        .clone();
    (client, page, order)
}

/// Signs the order in the simulator and follows the page to its end; returns where it sent the
/// browser.
async fn sign(app: &TestApp, client: &Client, page: &str, order: &Value) -> reqwest::Response {
    let order_ref = order["orderRef"].as_str().unwrap();
    let done = sim_control(
        app,
        &format!("/bankid-sim/orders/{order_ref}/complete"),
        json!({"personalNumber": SIGNER.0, "givenName": SIGNER.1, "surname": SIGNER.2}),
    )
    .await;
    assert_eq!(done, StatusCode::OK);
    let (next, s) = crate::mina_sidor::next_after_bankid(app, client, page).await;
    assert_eq!(s["message"], "Avtalet är underskrivet.");
    // Nobody but the browser that started it can use the signed order.
    assert_eq!(browser_client(&app.base).get(app.url(&next)).send().await.unwrap().status(), 404);
    client.get(app.url(&next)).send().await.unwrap()
}

#[tokio::test]
async fn a_partner_registers_by_signing_the_agreement_with_bankid() {
    let app = spawn().await;
    assert_eq!(app.get("/partner/registrera").await.status(), 200);

    // Law firms are refused with the reason, by their business or their name; nothing stored.
    for (name, business, field) in [
        ("Lind & Partners KB", "advokatbyra", "business"),
        ("Advokatfirman Lind KB", "redovisning", "company_name"),
    ] {
        let r = app
            .post_form(
                "/partner/registrera",
                &form("556036-0793", name, business, "karin@siffror.test"),
            )
            .await;
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(&format!("id=\"f-{field}-error\">Advokatbyråer kan inte bli partner")),
            "{html}"
        );
    }
    assert_eq!(count(&app, "select count(*) from bankid_order").await, 0);

    let fields =
        form("556036-0793", "Siffror & Co Redovisning AB", "redovisning", "karin@siffror.test");
    let (client, page, order) = start(&app, &fields).await;
    // The app shows the version; what is signed carries the agreement's digest.
    let text = order["userVisibleData"].as_str().unwrap();
    assert!(
        text.contains("partneravtal version 2026-1 för Siffror & Co Redovisning AB (556036-0793)"),
        "{text}"
    );
    assert_eq!(order["kind"], "sign");
    assert_eq!(count(&app, "select count(*) from partner").await, 0, "nothing until signed");

    let r = sign(&app, &client, &page, &order).await;
    assert_eq!(location(&r), "/logga-in");

    // A pending partner with a number, its signature stored with completion data, version,
    // time and IP; the signed data is the agreement's SHA-256, computed here by PostgreSQL.
    let (status, number, kind): (String, String, Option<String>) = sqlx::query_as(
        "select status, partner_number, payout_kind from partner where org_nr = '165560360793'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), kind.as_deref()), ("pending", Some("bankgiro")));
    assert!(fordra::domain::partner::parse_number(&number).is_ok());
    let (version, via, ip, pnr, completion, sha): (String, String, String, String, Value, String) = sqlx::query_as(
        "select a.terms_version, a.via, a.ip, a.personal_number, a.completion,
                encode(sha256(convert_to(t.body, 'UTF8')), 'hex')
         from partner_agreement a join terms t on t.kind = 'partner' and t.version = a.terms_version",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (version.as_str(), via.as_str(), ip.as_str(), pnr.as_str()),
        ("2026-1", "bankid", "127.0.0.1", SIGNER.0)
    );
    let signed = fordra::bankid::signed_data(completion["signature"].as_str().unwrap()).unwrap();
    assert_eq!(signed.visible, text);
    assert_eq!(
        signed.non_visible.unwrap(),
        format!("fordra-partneravtal;version=2026-1;sha256={sha}")
    );
    assert_eq!(
        count(&app, "select count(*) from audit_event where action = 'partner_registered'").await,
        1
    );

    // The same company again is refused on the form.
    let r = app
        .post_form(
            "/partner/registrera",
            &form("556036-0793", "Siffror AB", "redovisning", "ny@siffror.test"),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Företaget är redan partner hos Fordra"));

    // The contact confirms the address and logs in; the agreement page and PDF show what it signed.
    let mail = app.mail_to("karin@siffror.test", |m| m.mail.subject.contains("partner")).await;
    assert!(mail.mail.text.contains(&number));
    let link = mail.mail.text.lines().find(|l| l.contains("token=")).unwrap().trim().to_string();
    let token = link.split("token=").nth(1).unwrap();
    let r =
        client.post(app.url("/bli-kund/bekrafta")).form(&[("token", token)]).send().await.unwrap();
    assert_eq!(location(&r), "/partner");
    let home = client.get(app.url("/partner")).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Fordra går igenom er ansökan"), "{home}");
    let html = client.get(app.url("/partner/avtal")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("2026-03-02 med BankID av Karin Berg"), "{html}");
    assert!(html.contains(&sha));
    let pdf = client.get(app.url("/partner/avtal.pdf")).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF"));
}

#[tokio::test]
async fn a_registration_that_is_cancelled_or_reused_stores_no_partner() {
    let app = spawn().await;
    let fields = form("556677-8899", "Bokslut AB", "affarssystem", "eva@bokslut.test");
    let (client, page, _) = start(&app, &fields).await;
    let r = client.post(app.url(&format!("{page}/avbryt"))).send().await.unwrap();
    assert_eq!(location(&r), "/partner/registrera");
    assert_eq!(count(&app, "select count(*) from partner").await, 0);

    // An address that has an account already: signed, but nothing stored, and the signer told.
    crate::harness::create_user(&app.pool, "eva@bokslut.test", "creditor").await;
    let partners_before = count(&app, "select count(*) from partner").await;
    let (client, page, order) = start(&app, &fields).await;
    let r = sign(&app, &client, &page, &order).await;
    assert_eq!(location(&r), "/partner/registrera");
    assert_eq!(count(&app, "select count(*) from partner").await, partners_before);
    let html =
        client.get(app.url("/partner/registrera")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Det finns redan ett konto med den e-postadressen"), "{html}");
}

/// Admins publish a new agreement version from a date: it is "coming" until then, new
/// registrations sign it from then on, a date in the past is refused, and support only reads.
#[tokio::test]
async fn admins_publish_a_new_agreement_version_from_a_date() {
    let app = spawn().await;
    let support = crate::harness::staff_client(&app, "stod@fordra.se", "support").await;
    let form = |version: &'static str, from: &'static str| {
        [
            ("version", version),
            ("title", "Partneravtal"),
            ("body", "1. Nya villkor för partner, punkt för punkt."),
            ("published_on", from),
        ]
    };
    let r = support
        .post(app.url("/admin/texter/partner"))
        .form(&form("2026-2", "2026-04-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let admin = crate::harness::staff_client(&app, "admin@fordra.se", "admin").await;
    let r = admin
        .post(app.url("/admin/texter/partner"))
        .form(&form("2026-2", "2026-03-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("aldrig bakåt i tiden"));
    let r = admin
        .post(app.url("/admin/texter/partner"))
        .form(&form("2026-2", "2026-04-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let html =
        admin.get(app.url("/admin/texter/partner")).send().await.unwrap().text().await.unwrap();
    assert!(
        html.contains("<td>2026-2</td><td>Partneravtal</td><td>2026-04-01</td><td>Kommande</td>"),
        "{html}"
    );
    let r = admin
        .post(app.url("/admin/texter/partner"))
        .form(&form("2026-2", "2026-05-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "a version is published once");
    // Registration offers the version in force on the business date.
    let now = app.get("/partner/registrera").await.text().await.unwrap();
    assert!(now.contains("version 2026-1") && !now.contains("version 2026-2"));
    let later = app
        .again(Options {
            vars: vec![
                ("FORDRA_TODAY", "2026-04-02".into()),
                ("FORDRA_BANKID", "simulator".into()),
            ],
        })
        .await;
    let then = later.get("/partner/registrera").await.text().await.unwrap();
    assert!(then.contains("version 2026-2"), "{then}");
}
