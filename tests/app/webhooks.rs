//! Webhooks against a receiver the test starts on loopback: a signed delivery of a state change
//! after a tick, retries at growing intervals while the receiver fails, and refused addresses.

use std::sync::{Arc, Mutex};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use chrono::Duration;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;

use crate::harness::{Options, TestApp, bare_client, create_user};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    status: Arc<Mutex<u16>>,
}

async fn hook(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: String,
) -> axum::http::StatusCode {
    r.got.lock().unwrap().push((headers, body));
    axum::http::StatusCode::from_u16(*r.status.lock().unwrap()).unwrap()
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver { status: Arc::new(Mutex::new(200)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(hook)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (r, url)
}

fn claim() -> Value {
    json!({
        "invoice_number": "W-1", "capital": "2500.00", "invoice_date": "2026-01-10",
        "due_date": "2026-02-09",
        "debtor": {"kind": "person", "id_number": "198112189876", "name": "Sven Svensson",
                   "capacity": "consumer",
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    })
}

/// Checks a `Fordra-Signature` header over `body` with `secret`.
fn verify(secret: &str, header: &str, body: &str) -> bool {
    let mut t = "";
    let mut v1 = "";
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v,
            Some(("v1", v)) => v1 = v,
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    !t.is_empty() && hex == v1
}

#[tokio::test]
async fn a_state_change_is_delivered_signed_and_a_failing_receiver_gets_retries() {
    let vars =
        vec![("FORDRA_TODAY", "2026-03-02".into()), ("FORDRA_WEBHOOKS_ALLOW_PRIVATE", "on".into())];
    let app = TestApp::spawn_with(Options { vars }).await;
    let user = create_user(&app.pool, "a@alfa.se", "creditor").await;
    let creditor: Uuid = sqlx::query_scalar("select creditor_id from app_user where user_id = $1")
        .bind(user)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let key = {
        let mut conn = app.pool.acquire().await.unwrap();
        let owner = fordra::auth::api_key::Owner::Creditor(creditor);
        fordra::auth::api_key::create(&mut conn, owner, fordra::clock::Clock::system().now())
            .await
            .unwrap()
    };
    let client = bare_client();
    let post = |path: &'static str, body: Value| {
        client.post(app.url(path)).bearer_auth(&key).json(&body).send()
    };
    let (r, url) = receiver().await;

    // Metadata addresses are refused even for local testing.
    let resp = post(
        "/api/v1/webhooks",
        json!({"url": "http://169.254.169.254/", "events": ["claim.state_changed"]}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["field"], "url");
    let resp = post(
        "/api/v1/webhooks",
        json!({"url": url, "events": ["claim.state_changed", "claim.payment_received"]}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let sub: Value = resp.json().await.unwrap();
    let secret = sub["secret"].as_str().unwrap().to_string();
    let listed: Value = client
        .get(app.url("/api/v1/webhooks"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed["webhooks"][0].get("secret").is_none(), "the secret is shown once");

    // A claim moves to reminder on the tick: one signed delivery.
    let resp = post("/api/v1/claims", claim()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let claim_id = resp.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let report = fordra::engine::tick(&app.state, "2026-03-02".parse().unwrap()).await.unwrap();
    assert_eq!(report.webhooks, 1);
    let (headers, body) = r.got.lock().unwrap().last().cloned().unwrap();
    assert!(verify(&secret, headers["fordra-signature"].to_str().unwrap(), &body), "signed");
    assert!(!verify("whsec_wrong", headers["fordra-signature"].to_str().unwrap(), &body));
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "claim.state_changed");
    assert_eq!(
        (event["data"]["from"].as_str(), event["data"]["to"].as_str()),
        (Some("registered"), Some("reminder"))
    );
    assert_eq!(event["data"]["claim_id"], claim_id.as_str());
    assert_eq!(headers["fordra-event-id"].to_str().unwrap(), event["id"].as_str().unwrap());

    // The receiver fails: the withdrawal's event is retried 30 s, then 60 s, then 120 s later.
    *r.status.lock().unwrap() = 500;
    let resp =
        post(Box::leak(format!("/api/v1/claims/{claim_id}/withdraw").into_boxed_str()), json!({}))
            .await
            .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let t0 = fordra::clock::Clock::system().now();
    let deliver =
        |at: chrono::DateTime<chrono::Utc>| fordra::webhooks::deliver_due(&app.pool, true, at);
    let before = r.got.lock().unwrap().len();
    deliver(t0).await.unwrap();
    deliver(t0 + Duration::seconds(29)).await.unwrap();
    deliver(t0 + Duration::seconds(31)).await.unwrap();
    deliver(t0 + Duration::seconds(31 + 59)).await.unwrap();
    deliver(t0 + Duration::seconds(31 + 61)).await.unwrap();
    deliver(t0 + Duration::seconds(92 + 121)).await.unwrap();
    let tries: Vec<(i32, Option<i32>)> = sqlx::query_as(
        "select a.attempt, a.status from webhook_attempt a join webhook_delivery d using (delivery_id)
         join webhook_event e using (event_id) where e.data->>'to' = 'withdrawn' order by a.attempt",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(tries, [(1, Some(500)), (2, Some(500)), (3, Some(500)), (4, Some(500))]);
    assert_eq!(r.got.lock().unwrap().len() - before, 4);
    // Back: the next try delivers, the same event id as before.
    *r.status.lock().unwrap() = 200;
    assert_eq!(deliver(t0 + Duration::seconds(213 + 241)).await.unwrap(), 1);
    let ids: Vec<String> = r.got.lock().unwrap()[before..]
        .iter()
        .map(|(h, _)| h["fordra-event-id"].to_str().unwrap().to_string())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");

    // The portal shows the subscription and the delivery log, and sends one again on request.
    let web = crate::harness::logged_in(&app, "a@alfa.se").await;
    let html = web.get(app.url("/borgenar/webhooks")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&url) && html.contains("claim.state_changed"));
    assert!(
        html.contains("<td class=\"num\">5</td>") && html.contains("<td>200</td>"),
        "five attempts, the last answered 200"
    );
    assert!(html.contains("Levererad") && !html.contains(&secret), "{html}");
    let delivery: i64 = sqlx::query_scalar("select max(delivery_id) from webhook_delivery")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let r = web
        .post(app.url(&format!("/borgenar/webhooks/leveranser/{delivery}/igen")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let state: String =
        sqlx::query_scalar("select state from webhook_delivery where delivery_id = $1")
            .bind(delivery)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(state, "pending");
    let r = web
        .post(app.url("/borgenar/webhooks"))
        .form(&[("url", "http://169.254.169.254/latest"), ("claim_state_changed", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("id=\"f-url-error\""));

    // Without the flag, loopback is refused.
    let strict = app.again(Options { vars: vec![("FORDRA_TODAY", "2026-03-02".into())] }).await;
    let resp = bare_client()
        .post(strict.url("/api/v1/webhooks"))
        .bearer_auth(&key)
        .json(&json!({"url": url, "events": ["claim.state_changed"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
