//! Two `fordra` instances on one database, and one behind a trusted proxy: sessions, BankID
//! orders and limits are shared through PostgreSQL, and the client address a trusted proxy
//! names reaches the throttles, the logs and `/metrics`. (`faults/two-instances.sh` runs the
//! same behind a real nginx.)

use reqwest::{Client, StatusCode, header};
use serde_json::json;

use crate::harness::*;
use crate::mina_sidor::{next_after_bankid, person, sim_control, sim_orders};
use crate::world::world;

const SVEN: (&str, &str, &str) = ("198112189876", "Sven", "Svensson");
const TODAY: &str = "2026-11-02";

/// A lookup on "Kontrollera brev" that passes the field checks (a real OCR, a code of the right
/// shape) from `client`, as the client `forwarded` (if any) behind a proxy.
async fn lookup(client: &Client, app: &TestApp, forwarded: Option<&str>) -> StatusCode {
    let ocr = fordra::domain::ocr::generate(4_711);
    let mut req = client
        .post(app.url("/kontrollera-brev"))
        .header(header::ORIGIN, &app.base)
        .form(&[("ocr", ocr.as_str()), ("case_code", "ABCD2345")]);
    if let Some(ip) = forwarded {
        req = req.header("x-forwarded-for", ip);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn a_second_instance_shares_sessions_bankid_orders_and_limits() {
    let w = world(TODAY).await;
    let a = &w.app;
    let b = a
        .again(Options {
            vars: vec![("FORDRA_TODAY", TODAY.into()), ("FORDRA_BANKID", "simulator".into())],
        })
        .await;
    let (claim, _) = w.claim("I-1", person(SVEN, None), json!({"capital": "900.00"})).await;

    // A BankID login started on A: the order is at B's simulator too, approved there, collected
    // and finished through B; the debtor's session then works on A.
    let debtor = browser_client(&a.base);
    let r = debtor.post(a.url("/mina-sidor/logga-in")).form(&[("next", "")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = location(&r);
    let orders = sim_orders(&b).await;
    assert_eq!(orders.len(), 1, "B's simulator sees the order A started");
    let done = sim_control(
        &b,
        &format!("/bankid-sim/orders/{}/complete", orders[0]),
        json!({"personalNumber": SVEN.0, "givenName": SVEN.1, "surname": SVEN.2}),
    )
    .await;
    assert_eq!(done, StatusCode::OK);
    let (next, _) = next_after_bankid(&b, &debtor, &page).await;
    let r = debtor.get(b.url(&next)).send().await.unwrap();
    assert_eq!((r.status(), location(&r)), (StatusCode::SEE_OTHER, "/mina-sidor".to_string()));
    let r = debtor.get(a.url("/mina-sidor")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("I-1"), "A shows the case of the login made on B");

    // A creditor's session made on A works on B, and a form posted to B is accepted.
    let creditor = w.creditor_client().await;
    let r = creditor.get(b.url(&format!("/borgenar/krav/{claim}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = creditor.post(b.url("/logga-ut")).header(header::ORIGIN, &b.base).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = creditor.get(a.url(&format!("/borgenar/krav/{claim}"))).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "logged out on B is logged out on A");

    // The lookup limit (10 per address and quarter hour) counts on both instances together.
    let anon = bare_client();
    for i in 0..10 {
        let app = if i % 2 == 0 { a } else { &b };
        assert_ne!(lookup(&anon, app, None).await, StatusCode::TOO_MANY_REQUESTS, "lookup {i}");
    }
    assert_eq!(lookup(&anon, a, None).await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(lookup(&anon, &b, None).await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_reaches_throttles_logs_and_metrics() {
    let w = world(TODAY).await;
    let direct = &w.app;
    let proxied = direct
        .again(Options {
            vars: vec![
                ("FORDRA_TODAY", TODAY.into()),
                ("FORDRA_TRUSTED_PROXIES", "127.0.0.1, ::1".into()),
            ],
        })
        .await;
    let (claim, _) = w.claim("P-1", person(SVEN, None), json!({"capital": "900.00"})).await;
    // What nginx sends: the client's own (spoofable) header with the address it saw appended.
    const SEEN: &str = "203.0.113.9";
    let forwarded = format!("10.9.9.9, {SEEN}");
    let anon = bare_client();

    // /metrics is for this machine only: a remote client through the proxy gets 404.
    let metrics = |app: &TestApp, xff: Option<&str>| {
        let mut req = anon.get(app.url("/metrics"));
        if let Some(x) = xff {
            req = req.header("x-forwarded-for", x.to_string());
        }
        req.send()
    };
    assert_eq!(metrics(&proxied, Some(&forwarded)).await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(metrics(&proxied, None).await.unwrap().status(), StatusCode::OK);
    // Without a trusted proxy the header is the client's own claim and changes nothing.
    assert_eq!(metrics(direct, Some(&forwarded)).await.unwrap().status(), StatusCode::OK);

    // Login throttling counts the forwarded client; a direct client's header is ignored.
    for (app, expect) in [(&proxied, SEEN), (direct, "127.0.0.1")] {
        let r = anon
            .post(app.url("/logga-in"))
            .header(header::ORIGIN, &app.base)
            .header("x-forwarded-for", &forwarded)
            .form(&[("email", w.creditor_email.as_str()), ("password", "fel-lösenord")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let ip: String = sqlx::query_scalar(
            "select ip from login_attempt where not succeeded order by at desc, ctid desc limit 1",
        )
        .fetch_one(&direct.pool)
        .await
        .unwrap();
        assert_eq!(ip, expect);
    }

    // The audit log (login) and the personal-data access log (the claim page) keep it too.
    let creditor = browser_client(&proxied.base);
    let r = creditor
        .post(proxied.url("/logga-in"))
        .header("x-forwarded-for", &forwarded)
        .form(&[("email", w.creditor_email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = creditor
        .get(proxied.url(&format!("/borgenar/krav/{claim}")))
        .header("x-forwarded-for", &forwarded)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (audit_ip, access_ip): (Option<String>, Option<String>) = sqlx::query_as(
        "select (select ip from audit_event where action = 'login' order by audit_event_id desc limit 1),
                (select ip from personal_data_access order by personal_data_access_id desc limit 1)",
    )
    .fetch_one(&direct.pool)
    .await
    .unwrap();
    assert_eq!((audit_ip.as_deref(), access_ip.as_deref()), (Some(SEEN), Some(SEEN)));

    // Rate limits are per forwarded client: one address used up, another still let in.
    for _ in 0..10 {
        assert_ne!(lookup(&anon, &proxied, Some(&forwarded)).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(lookup(&anon, &proxied, Some(&forwarded)).await, StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(lookup(&anon, &proxied, Some("198.51.100.20")).await, StatusCode::TOO_MANY_REQUESTS);
}
