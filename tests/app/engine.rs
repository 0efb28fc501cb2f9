//! The lifecycle engine with fixed dates, through the API and `engine::tick`.

use chrono::NaiveDate;
use fordra::engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::{
    harness::{Options, TestApp, fresh_db},
    world::{World, world},
};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Another server on the world's database whose business date is `today`.
async fn on_date(w: &World, today: &str) -> TestApp {
    w.app.again(Options { vars: vec![("FORDRA_TODAY", today.into())] }).await
}

async fn creditor(pool: &PgPool, org: &str, status: &str) -> String {
    let id = uuid::Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, $2, 'Exempelbolaget AB', $3)")
        .bind(id)
        .bind(org)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    fordra::auth::api_key::create(
        &mut conn,
        fordra::auth::api_key::Owner::Creditor(id),
        fordra::clock::Clock::system().now(),
    )
    .await
    .unwrap()
}

fn claim(invoice: &str, capacity: &str, extra: Value) -> Value {
    let (kind, id) =
        if capacity == "business" { ("company", "5560360793") } else { ("person", "198112189876") };
    let mut c = json!({
        "invoice_number": invoice, "description": "Snickeriarbete", "capital": "2500.00",
        "invoice_date": "2026-01-10", "due_date": "2026-02-09", "reminder_fee_agreed": true,
        "debtor": {"kind": kind, "id_number": id, "name": "Sven Svensson", "capacity": capacity,
                   "address": {"street": "Storgatan 1", "postal_code": "11122", "city": "Stockholm"}}
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

async fn post(app: &TestApp, key: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url("/api/v1/claims")).bearer_auth(key).json(body).send().await.unwrap()
}

async fn get(app: &TestApp, key: &str, path: &str) -> (StatusCode, Value) {
    let r = app.client.get(app.url(path)).bearer_auth(key).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn letters(
    pool: &PgPool,
    claim_id: &str,
) -> Vec<(String, Option<NaiveDate>, Option<NaiveDate>)> {
    sqlx::query_as("select kind, dispatched_on, deadline from letter where claim_id = $1::uuid order by created_on")
        .bind(claim_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn fees(pool: &PgPool, claim_id: &str) -> Vec<(String, rust_decimal::Decimal)> {
    sqlx::query_as("select kind, amount from fee where claim_id = $1::uuid order by charged_on")
        .bind(claim_id)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn tick(app: &TestApp, date: &str) -> engine::TickReport {
    engine::tick(&app.state, d(date)).await.unwrap()
}

#[tokio::test]
async fn consumer_claim_walks_reminder_collection_final_notice_to_enforcement() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let created = post(app, &key, &claim("F-1001", "consumer", json!({}))).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(body["state"], "registered");
    assert_eq!(body["next_step"], json!({"kind": "reminder", "date": "2026-02-10"}));
    assert_eq!(body["debtor"]["id_number"], "198112189876");
    assert_eq!(body["amounts"]["capital"], "2500.00");

    // Registered before the due date: waits until the day after the (effective) due date.
    assert_eq!(tick(app, "2026-02-09").await.steps, 0);
    let r = tick(app, "2026-02-10").await;
    assert_eq!((r.steps, r.dispatched), (1, 1));
    assert_eq!(
        letters(&pool, &id).await,
        vec![("reminder".into(), Some(d("2026-02-10")), Some(d("2026-02-20")))]
    );
    assert_eq!(tick(app, "2026-02-24").await.steps, 0, "deadline 02-20 + 3 bank days of grace");
    assert_eq!(tick(app, "2026-02-25").await.steps, 1);

    // The spec's example response, as of 2026-03-02.
    let later = on_date(&w, "2026-03-02").await;
    let (status, body) = get(&later, &key, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "collection");
    assert_eq!(body["next_step"], json!({"kind": "final_notice", "date": "2026-03-12"}));
    assert_eq!(
        body["amounts"],
        json!({"as_of": "2026-03-02", "capital": "2500.00", "interest": "14.38",
               "fees": [{"kind": "reminder", "amount": "60.00", "owed": "60.00", "charged_on": "2026-02-10"},
                        {"kind": "collection", "amount": "180.00", "owed": "180.00", "charged_on": "2026-02-25"}],
               "paid": "0.00", "balance": "2754.38", "preliminary": false})
    );

    assert_eq!(tick(app, "2026-03-11").await.steps, 0);
    assert_eq!(tick(app, "2026-03-12").await.steps, 1);
    assert_eq!(tick(app, "2026-03-25").await.steps, 0);
    assert_eq!(tick(app, "2026-03-26").await.steps, 1);
    assert_eq!(tick(app, "2026-06-01").await.steps, 0);

    let all = letters(&pool, &id).await;
    assert_eq!(
        all.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(),
        ["reminder", "collection", "final_notice"]
    );
    assert_eq!(all[1].2, Some(d("2026-03-09")), "inkassokrav: +10 days is a Saturday → Monday");
    assert_eq!(all[2].2, Some(d("2026-03-23")));
    assert_eq!(
        fees(&pool, &id).await,
        vec![("reminder".into(), 60.into()), ("collection".into(), 180.into())]
    );
    let (_, body) = get(&later, &key, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(body["state"], "enforcement_ready");
    assert_eq!(body["next_step"], Value::Null);
    let (_, events) = get(&later, &key, &format!("/api/v1/claims/{id}/events")).await;
    let kinds: Vec<&str> =
        events["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "registered",
            "reminder",
            "letter_dispatched",
            "collection",
            "letter_dispatched",
            "final_notice",
            "letter_dispatched",
            "enforcement_ready"
        ]
    );
    // No e-mail address: every letter went to the print folder as a PDF.
    let print = app.state.config.print_dir.clone();
    let pdfs = std::fs::read_dir(&print)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pdf"))
        .count();
    assert_eq!(pdfs, 3);
}

#[tokio::test]
async fn business_debtor_pays_450_once_and_nothing_else() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let body: Value =
        post(app, &key, &claim("B-1", "business", json!({}))).await.json().await.unwrap();
    let id = body["id"].as_str().unwrap().to_string();
    for date in ["2026-02-10", "2026-02-25", "2026-03-12", "2026-03-26"] {
        assert_eq!(tick(app, date).await.steps, 1, "{date}");
    }
    assert_eq!(fees(&pool, &id).await, vec![("late_payment_compensation".into(), 450.into())]);
    assert_eq!(letters(&pool, &id).await.len(), 3);
}

/// A sole trader (enskild firma) is a person by identity but acts in its business: entered as a
/// person debtor with capacity `business`, it owes the 450 kr like any company.
#[tokio::test]
async fn a_sole_trader_debtor_owes_the_450_like_a_company() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let mut body = claim("ST-1", "business", json!({}));
    body["debtor"]["kind"] = json!("person");
    body["debtor"]["id_number"] = json!("811218-9876");
    body["debtor"]["name"] = json!("Svenssons Bygg (Sven Svensson)");
    let resp = post(app, &key, &body).await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["debtor"]["kind"], "person");
    assert_eq!(created["debtor"]["capacity"], "business");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(tick(app, "2026-02-10").await.steps, 1);
    assert_eq!(fees(&pool, &id).await, vec![("late_payment_compensation".into(), 450.into())]);
    let snapshot: Value =
        sqlx::query_scalar("select snapshot from letter where claim_id = $1::uuid")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(snapshot["fees"][0]["amount"], "450.00");
    assert_eq!(snapshot["debtor_id"], "19811218-9876");
    let later = on_date(&w, "2026-02-20").await;
    let (_, shown) = get(&later, &key, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(shown["amounts"]["fees"][0]["kind"], "late_payment_compensation");
}

#[tokio::test]
async fn no_reminder_fee_without_agreement_and_starting_with_a_demand() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let a: Value =
        post(app, &key, &claim("N-1", "consumer", json!({"reminder_fee_agreed": false})))
            .await
            .json()
            .await
            .unwrap();
    let b: Value = post(app, &key, &claim("N-2", "consumer", json!({"start_with": "collection"})))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tick(app, "2026-02-10").await.steps, 2);
    assert!(fees(&pool, a["id"].as_str().unwrap()).await.is_empty());
    assert_eq!(letters(&pool, b["id"].as_str().unwrap()).await[0].0, "collection");
    assert_eq!(
        fees(&pool, b["id"].as_str().unwrap()).await,
        vec![("collection".into(), 180.into())]
    );
}

#[tokio::test]
async fn blocked_claims_never_advance_and_pending_creditors_wait() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let pending_key = creditor(&pool, "165566778899", "pending").await;
    let mut ids = vec![];
    for (i, flag) in
        ["disputed", "paused", "on_hold", "deceased", "returned_mail"].iter().enumerate()
    {
        let c: Value = post(app, &key, &claim(&format!("X-{i}"), "consumer", json!({})))
            .await
            .json()
            .await
            .unwrap();
        sqlx::query(&format!("update claim set {flag} = true where claim_id = $1::uuid"))
            .bind(c["id"].as_str().unwrap())
            .execute(&pool)
            .await
            .unwrap();
        ids.push(c["id"].as_str().unwrap().to_string());
    }
    let withdrawn: Value =
        post(app, &key, &claim("X-w", "consumer", json!({}))).await.json().await.unwrap();
    sqlx::query("update claim set state = 'withdrawn' where claim_id = $1::uuid")
        .bind(withdrawn["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    let pending: Value =
        post(app, &pending_key, &claim("P-1", "consumer", json!({}))).await.json().await.unwrap();
    for date in ["2026-02-10", "2026-03-01", "2026-05-01"] {
        let r = tick(app, date).await;
        assert_eq!(r.steps, 0, "{date}");
    }
    let letters_total: i64 =
        sqlx::query_scalar("select count(*) from letter").fetch_one(&pool).await.unwrap();
    assert_eq!(letters_total, 0);
    // Approval releases the pending creditor's claim on the next pass.
    sqlx::query("update creditor set status = 'approved'").execute(&pool).await.unwrap();
    sqlx::query("update claim set next_action_on = '2026-05-02' where claim_id = $1::uuid")
        .bind(pending["id"].as_str().unwrap())
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(tick(app, "2026-05-02").await.steps, 1);
}

#[tokio::test]
async fn catch_up_after_60_days_of_downtime_sends_one_step_at_a_time() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let c: Value =
        post(app, &key, &claim("C-1", "consumer", json!({}))).await.json().await.unwrap();
    let id = c["id"].as_str().unwrap();
    // The engine was down from 02-01 until 04-11.
    assert_eq!(tick(app, "2026-04-11").await.steps, 1);
    assert_eq!(tick(app, "2026-04-11").await.steps, 0, "never two steps on one day");
    assert_eq!(
        tick(app, "2026-04-20").await.steps,
        0,
        "the new letter's deadline counts from its dispatch"
    );
    assert_eq!(letters(&pool, id).await.len(), 1);
    assert_eq!(letters(&pool, id).await[0].1, Some(d("2026-04-11")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ticks_at_once_process_each_claim_exactly_once() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    for i in 0..120 {
        assert_eq!(
            post(app, &key, &claim(&format!("T-{i}"), "consumer", json!({}))).await.status(),
            StatusCode::CREATED
        );
    }
    let (a, b) = tokio::join!(
        engine::advance(&app.state, d("2026-02-10")),
        engine::advance(&app.state, d("2026-02-10"))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.steps + b.steps, 120, "{a:?} {b:?}");
    let counts: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from letter), (select count(*) from fee), (select count(*) from claim_event where kind = 'reminder')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (120, 120, 120));
}

#[tokio::test]
async fn a_claim_the_engine_cannot_process_is_set_aside_without_blocking_others() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    for i in 0..5 {
        post(app, &key, &claim(&format!("G-{i}"), "consumer", json!({}))).await;
    }
    // The API refuses a due date with no reference rate; data arriving another way is caught here.
    let old =
        claim("OLD", "business", json!({"invoice_date": "2021-05-01", "due_date": "2021-06-01"}));
    let refused = post(app, &key, &old).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.json::<Value>().await.unwrap()["error"]["field"], "due_date");
    sqlx::query("update claim set due_date = '2021-06-01', invoice_date = '2021-05-01', claim_arose_date = '2021-05-01' where invoice_number = 'G-0'")
        .execute(&pool)
        .await
        .unwrap();
    let r = tick(app, "2026-02-10").await;
    assert_eq!((r.steps, r.dispatched, r.blocked), (4, 4, 1));
    let errors: i64 =
        sqlx::query_scalar("select count(*) from claim_event where kind = 'engine_error'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(errors, 1);
    assert_eq!(
        tick(app, "2026-02-10").await,
        engine::TickReport::default(),
        "set aside, not retried every pass"
    );
}

#[tokio::test]
async fn a_tick_killed_mid_run_and_rerun_leaves_no_duplicates() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    post(app, &key, &claim("K-0", "consumer", json!({}))).await;
    sqlx::query(
        "insert into claim (claim_id, case_number, ocr, case_code, creditor_id, invoice_number, description, capital,
            invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind, debtor_id_number,
            debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city, next_action_on, registered_at)
         select gen_random_uuid(), 5000000 + g, 'T' || g, case_code, creditor_id, 'K-' || g, description, capital,
            invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind, debtor_id_number,
            debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city, next_action_on, registered_at
         from claim, generate_series(1, 4999) g where invoice_number = 'K-0'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let tick_cmd = || {
        crate::harness::fordra_cli(&w.db_name)
            .args(["tick", "--today", "2026-02-10"])
            .env("FORDRA_LOG", "off")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Killed as soon as its first batch is committed, while the rest are still being stepped.
    let mut first = tick_cmd();
    let started = std::time::Instant::now();
    loop {
        let n: i64 =
            sqlx::query_scalar("select count(*) from letter").fetch_one(&pool).await.unwrap();
        if n > 0 || started.elapsed() > std::time::Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let mid: i64 =
        sqlx::query_scalar("select count(*) from letter").fetch_one(&pool).await.unwrap();
    assert!(mid < 5000, "killed mid-run ({mid} letters so far)");
    assert_eq!(mid % engine::BATCH, 0, "only whole batches were committed");
    assert!(tick_cmd().wait().unwrap().success());
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from letter), (select count(*) from fee),
                (select count(*) from claim_event where kind = 'reminder'),
                (select count(*) from claim_event where kind = 'letter_dispatched'),
                (select count(*) from outbox where done_at is not null)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (5000, 5000, 5000, 5000, 5000));
    let states: Vec<(String, i64)> =
        sqlx::query_as("select state, count(*) from claim group by state")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(states, vec![("reminder".to_string(), 5000)]);
}

#[tokio::test]
async fn letters_go_by_email_with_the_pdf_when_an_address_is_known() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let mut c = claim("E-1", "consumer", json!({}));
    c["debtor"]["email"] = json!("sven@example.se");
    post(app, &key, &c).await;
    assert_eq!(tick(app, "2026-02-10").await.dispatched, 1);
    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].mail.to, "sven@example.se");
    assert!(mails[0].mail.subject.starts_with("Betalningspåminnelse"));
    let raw = std::fs::read_to_string(app.mail_dir.join(&mails[0].file)).unwrap();
    assert!(raw.contains("application/pdf") && raw.contains("Message-ID: <letter-"));
    // The stored letter: HTML with every required part, rendered once.
    let (html, snapshot): (String, Value) =
        sqlx::query_as("select html, snapshot from letter").fetch_one(&pool).await.unwrap();
    for part in [
        "Betalningspåminnelse",
        "Kapitalbelopp",
        "Påminnelseavgift",
        "991-2346",
        "Att betala",
        "Om du inte håller med",
    ] {
        assert!(html.contains(part), "{part}");
    }
    let s: fordra::letters::Snapshot = serde_json::from_value(snapshot).unwrap();
    assert_eq!(
        fordra::letters::render_pdf(&s),
        fordra::letters::render_pdf(&s),
        "same bytes every time"
    );
}

#[tokio::test]
async fn api_errors_have_the_documented_shape() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let other_key = creditor(&pool, "165566778899", "approved").await;

    let no_key = app
        .client
        .post(app.url("/api/v1/claims"))
        .json(&claim("A", "consumer", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(no_key.json::<Value>().await.unwrap()["error"]["code"], "unauthorized");

    let bad_json = app
        .client
        .post(app.url("/api/v1/claims"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad_json.json::<Value>().await.unwrap()["error"]["code"], "invalid_json");

    let mut invalid = claim("A", "consumer", json!({"capital": "0"}));
    invalid["debtor"]["id_number"] = json!("811218-9875");
    let r = post(app, &key, &invalid).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "validation_failed");
    let fields: Vec<&str> = e["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"capital") && fields.contains(&"debtor.id_number"), "{e}");

    let ok = post(app, &key, &claim("A", "consumer", json!({}))).await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let id = ok.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let dup = post(app, &key, &claim("A", "consumer", json!({}))).await;
    assert_eq!(dup.status(), StatusCode::CONFLICT);
    assert_eq!(dup.json::<Value>().await.unwrap()["error"]["code"], "duplicate_invoice_number");

    let barred = post(
        app,
        &key,
        &claim("Old", "consumer", json!({"invoice_date": "2022-01-10", "due_date": "2022-02-09"})),
    )
    .await;
    assert_eq!(barred.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(barred.json::<Value>().await.unwrap()["error"]["code"], "time_barred");

    let (status, body) = get(app, &other_key, &format!("/api/v1/claims/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another creditor's claim does not exist for you");
    assert_eq!(body["error"]["code"], "not_found");
    let stored: i64 =
        sqlx::query_scalar("select count(*) from claim").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 1, "refused claims stored nothing");
}

#[tokio::test]
async fn tick_and_bootstrap_commands() {
    let (pool, name) = fresh_db().await;
    let run = |args: &[&str]| crate::harness::fordra_cli(&name).args(args).output().unwrap();
    let out =
        run(&["create-creditor", "--org-nr", "556036-0793", "--name", "Saab AB", "--approved"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A sole trader: the owner's personnummer is the org.nr, and the form follows from it.
    let out = run(&["create-creditor", "--org-nr", "811218-9876", "--name", "Svenssons Bygg"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("enskild firma"));
    let form: String =
        sqlx::query_scalar("select company_form from creditor where org_nr = '198112189876'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(form, "enskild_firma");
    let refused = run(&[
        "create-creditor",
        "--org-nr",
        "811218-9876",
        "--name",
        "X",
        "--company-form",
        "aktiebolag",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("enskild firma"));
    let out = run(&["create-api-key", "--creditor", "5560360793"]);
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("fordra_"));
    let app = TestApp::spawn_on(
        pool.clone(),
        name.clone(),
        Options { vars: vec![("FORDRA_TODAY", "2026-02-01".into())] },
    )
    .await;
    assert_eq!(
        post(&app, &key, &claim("K-1", "consumer", json!({}))).await.status(),
        StatusCode::CREATED
    );
    let out = run(&["tick", "--today", "2026-02-10"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        // The reminder goes out; the freshness gate (on outside demo mode) says it holds
        // escalations until 2026-02-09 is covered by a bank file.
        "tick 2026-02-10: 1 steps, 1 letters dispatched, 0 blocked, 0 settlements, 0 notices (escalations held: the previous bank day has no bank file yet)"
    );
}

/// Runs a poppler tool (installed by `tests/run.sh`) on `pdf`; its standard output.
fn poppler(tool: &str, pdf: &std::path::Path) -> String {
    let out = std::process::Command::new(tool)
        .arg(pdf)
        .args(if tool == "pdftotext" { vec!["-"] } else { vec![] })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils, installed by tests/run.sh): {e}"));
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// The print folder's batch files, by extension.
fn print_files(app: &TestApp, ext: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(&app.state.config.print_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == ext));
    files.sort();
    files
}

#[tokio::test]
async fn names_in_any_latin_script_print_as_written_with_embedded_fonts() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    let mut c = claim("U-1", "consumer", json!({}));
    c["debtor"]["name"] = json!("Łukasz Wójcik-Nguyễn Thị Ğül");
    c["debtor"]["address"]["street"] = json!("Östra Långgatan 7 C");
    assert_eq!(post(app, &key, &c).await.status(), StatusCode::CREATED);
    assert_eq!(tick(app, "2026-02-10").await.dispatched, 1);

    let pdfs = print_files(app, "pdf");
    assert_eq!(pdfs.len(), 1, "one print batch");
    let fonts = poppler("pdffonts", &pdfs[0]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        // name type encoding emb sub uni object-id: every font embedded, as a subset.
        let cols: Vec<&str> = row.split_whitespace().collect();
        let n = cols.len();
        assert_eq!((cols[n - 5], cols[n - 4]), ("yes", "yes"), "embedded subset: {row}");
    }
    let text = poppler("pdftotext", &pdfs[0]);
    let (ocr,): (String,) = sqlx::query_as("select ocr from claim").fetch_one(&pool).await.unwrap();
    let bankgiro = app.state.config.identity.bankgiro.clone();
    for part in ["Łukasz Wójcik-Nguyễn Thị Ğül", "Östra Långgatan 7 C", "111 22 Stockholm"]
    {
        assert!(text.contains(part), "{part} in:\n{text}");
    }
    assert!(text.contains(&ocr) && text.contains(&bankgiro), "OCR {ocr}, bankgiro {bankgiro}");
    assert!(text.contains("Mina sidor") && text.contains("BankID"), "the way to Mina sidor");

    // The manifest: letter id, OCR, first page, page count, postal code.
    let manifest = std::fs::read_to_string(&print_files(app, "csv")[0]).unwrap();
    let (letter,): (uuid::Uuid,) =
        sqlx::query_as("select letter_id from letter").fetch_one(&pool).await.unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    assert_eq!(lines[0], "letter_id;ocr;first_page;pages;postal_code");
    let row: Vec<&str> = lines[1].split(';').collect();
    assert_eq!((row[0], row[1], row[2], row[4]), (&*letter.to_string(), &*ocr, "1", "11122"));
    assert!(row[3].parse::<u32>().unwrap() >= 1);
}

#[tokio::test]
async fn a_crash_between_writing_a_print_batch_and_its_commit_writes_the_same_batch_again() {
    let w = world("2026-02-01").await;
    let (app, key, pool) = (&w.app, w.key.clone(), w.app.pool.clone());
    for i in 0..3 {
        let c = claim(&format!("K-{i}"), "consumer", json!({}));
        assert_eq!(post(app, &key, &c).await.status(), StatusCode::CREATED);
    }
    let faults = &app.state.faults;
    faults.crash_after_print_write.store(true, std::sync::atomic::Ordering::Relaxed);
    let crashed = engine::tick(&app.state, d("2026-02-10")).await;
    assert!(crashed.is_err(), "the fault stands in for a crash");
    let written = print_files(app, "pdf");
    assert_eq!(written.len(), 1, "the batch's files were written before the crash");
    let first = std::fs::read(&written[0]).unwrap();
    let dispatched: i64 =
        sqlx::query_scalar("select count(*) from letter where dispatched_on is not null")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(dispatched, 0, "nothing was committed as dispatched");

    faults.crash_after_print_write.store(false, std::sync::atomic::Ordering::Relaxed);
    let report = tick(app, "2026-02-10").await;
    assert_eq!(report.dispatched, 3);
    assert_eq!(print_files(app, "pdf"), written, "the same batch id, written again");
    assert_eq!(std::fs::read(&written[0]).unwrap(), first, "with the same bytes");
    let counts: (i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from letter where dispatched_on is not null),
                (select count(*) from claim_event where kind = 'letter_dispatched'),
                (select count(*) from print_batch_letter),
                (select count(*) from print_batch where closed_at is not null)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(counts, (3, 3, 3, 1), "each letter dispatched once, in one closed batch");
    // A later tick sends nothing again.
    assert_eq!(tick(app, "2026-02-11").await.dispatched, 0);
    assert_eq!(print_files(app, "pdf").len(), 1);
}
