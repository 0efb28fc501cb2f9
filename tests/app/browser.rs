//! Browser flows in headless Chromium (tests/browser/*.mjs, playwright-core) against the real
//! app on a real database. They need Debian's chromium and `npm ci` (tests/run.sh does both).

use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{Options, TestApp, fresh_db};

/// Runs `tests/browser/{flow}.mjs` against `app`; panics with its output if it fails.
pub fn run_flow(app: &TestApp, flow: &str, args: Value) {
    let root = env!("CARGO_MANIFEST_DIR");
    assert!(
        std::path::Path::new(&format!("{root}/node_modules/playwright-core")).exists(),
        "browser tests need the npm tooling: run `npm ci` in {root} (tests/run.sh does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "browser tests need Chromium: apt-get install chromium (tests/run.sh does), or set CHROMIUM"
    );
    let out = Command::new("node")
        .arg(format!("{root}/tests/browser/{flow}.mjs"))
        .arg(&app.base)
        .arg(args.to_string())
        .output()
        .expect("node is needed for browser tests");
    assert!(
        out.status.success(),
        "browser flow {flow} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The app in demo mode on a fresh database with the demo data, and the seeded accounts.
async fn demo_app(
    extra: Vec<(&'static str, String)>,
) -> (TestApp, Vec<fordra::demo::SeededAccount>) {
    let (pool, name) = fresh_db().await;
    let seeded =
        fordra::demo::seed_if_empty(&pool, fordra::clock::Clock::system().now()).await.unwrap();
    let mut vars = vec![("FORDRA_DEMO", "on".to_string())];
    vars.extend(extra);
    (TestApp::spawn_on(pool, name, Options { vars }).await, seeded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_accounts_log_in_and_out_in_a_browser() {
    let (app, seeded) = demo_app(vec![]).await;
    let homes = ["/admin", "/borgenar", "/partner"];
    let names = ["Ada Admin", "Bo Borgenär", "Pia Partner"];
    let accounts: Vec<Value> = seeded
        .iter()
        .zip(homes.iter().zip(names))
        .map(|(a, (home, name))| json!({"email": a.email, "password": a.password, "home": home, "name": name}))
        .collect();
    let app_ref = &app;
    tokio::task::block_in_place(|| run_flow(app_ref, "login", json!({ "accounts": accounts })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creditor_signs_up_is_approved_and_registers_claims_in_a_browser() {
    let (app, seeded) = demo_app(vec![("FORDRA_TODAY", "2026-03-02".into())]).await;
    let admin = json!({"email": seeded[0].email, "password": seeded[0].password});
    let app_ref = &app;
    let args = json!({ "admin": admin, "mail_dir": app.mail_dir });
    tokio::task::block_in_place(|| run_flow(app_ref, "onboarding", args));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_imports_a_bank_file_matches_by_hand_and_settles_in_a_browser() {
    use fordra::{domain::money::Sek, payments::simulator};
    let (app, seeded) = demo_app(vec![]).await;
    let claims: Vec<(String, String, i64)> = sqlx::query_as(
        "select ocr, debtor_name, case_number from claim order by case_number limit 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let day = fordra::domain::calendar::previous_bank_day(app.state.clock.today());
    let (ocr, _, _) = &claims[0];
    let (_, debtor, case_number) = &claims[1];
    let xml = simulator::camt054(
        fordra::config::DEFAULT_IBAN,
        "BROWSER-1",
        day,
        &[
            simulator::Item::new(ocr, Sek::kronor(1000), "Betalare Ett"),
            simulator::Item::new("Faktura okänd", Sek::kronor(800), debtor),
        ],
    );
    let file = std::env::temp_dir().join(format!("fordra-browser-{}.xml", uuid::Uuid::new_v4()));
    std::fs::write(&file, xml).unwrap();
    let admin = json!({"email": seeded[0].email, "password": seeded[0].password});
    let args = json!({"admin": admin, "file": file, "debtor": debtor, "case_number": case_number.to_string()});
    let app_ref = &app;
    tokio::task::block_in_place(|| run_flow(app_ref, "payments", args));
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debtor_logs_in_with_bankid_on_a_phone_downloads_a_letter_and_disputes() {
    let (app, _) = demo_app(vec![]).await;
    // The demo claims' first letters go out, so there is a letter to download.
    fordra::engine::tick(&app.state, app.state.clock.today()).await.unwrap();
    let (claim, invoice): (uuid::Uuid, String) = sqlx::query_as(
        "select claim_id, invoice_number from claim where debtor_id_number = '198112189876'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let app_ref = &app;
    tokio::task::block_in_place(|| run_flow(app_ref, "mina_sidor", json!({ "invoice": invoice })));
    let disputed: bool = sqlx::query_scalar("select disputed from claim where claim_id = $1")
        .bind(claim)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(disputed, "the dispute reached the database");
}

/// The partner programme in a browser: registration signed with BankID, approval, a customer
/// and its claim; then (the customer accepted and approved, a reminder sent and its fee paid,
/// the quarter over) the statement page and its PDF.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_registers_brings_a_customer_and_downloads_its_statement_in_a_browser() {
    use fordra::{domain::money::Sek, payments::simulator};
    let (app, seeded) = demo_app(vec![("FORDRA_TODAY", "2026-03-02".into())]).await;
    let admin = json!({"email": seeded[0].email, "password": seeded[0].password});
    let app_ref = &app;
    let args = json!({ "stage": "register", "admin": admin, "mail_dir": app.mail_dir });
    tokio::task::block_in_place(|| run_flow(app_ref, "partner", args));

    // The customer accepts the terms and is approved (their own flows are tested elsewhere);
    // the engine sends the reminder; the debtor pays its 60 kr fee.
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let creditor: uuid::Uuid = sqlx::query_scalar(
        "update creditor set terms_version = '2026-1', status = 'approved', approved_at = now()
         where org_nr = '165561234567' and name = 'Kund Bygg AB' returning creditor_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    fordra::claims::wake_creditor(&mut conn, creditor, d("2026-03-02")).await.unwrap();
    drop(conn);
    fordra::engine::tick(&app.state, d("2026-03-02")).await.unwrap();
    let ocr: String = sqlx::query_scalar(
        "select ocr from claim where invoice_number = 'K-100' and state = 'reminder'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let xml = simulator::camt054(
        fordra::config::DEFAULT_IBAN,
        "K100",
        d("2026-03-05"),
        &[simulator::Item::new(&ocr, Sek::kronor(60), "Sven Svensson")],
    );
    let path = std::env::temp_dir().join(format!("k100-{}.xml", uuid::Uuid::new_v4()));
    std::fs::write(&path, xml).unwrap();
    let now = fordra::clock::Clock::system().now();
    let identity = &app.state.config.identity;
    fordra::payments::import::import_file(
        &app.pool,
        &path,
        "k100.xml",
        identity,
        None,
        now,
        d("2026-03-06"),
    )
    .await
    .unwrap();
    let _ = std::fs::remove_file(&path);

    // After the quarter the engine issues the statement.
    let later = app
        .again(Options {
            vars: vec![("FORDRA_DEMO", "on".into()), ("FORDRA_TODAY", "2026-04-02".into())],
        })
        .await;
    fordra::engine::tick(&later.state, d("2026-04-02")).await.unwrap();
    let later_ref = &later;
    tokio::task::block_in_place(|| run_flow(later_ref, "partner", json!({ "stage": "statement" })));
    app.check_ledger("2026-04-02");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_back_office_in_a_browser() {
    let (app, seeded) = demo_app(vec![]).await;
    // The admin has an authenticator: the login asks for its code.
    let secret = b"fordra-browser-totp-key".to_vec();
    sqlx::query("update app_user set totp_secret = $2, totp_enabled_at = now() where email = $1")
        .bind(seeded[0].email)
        .bind(&secret)
        .execute(&app.pool)
        .await
        .unwrap();
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let from = (app.state.clock.today() + chrono::Duration::days(30)).to_string();
    let admin = json!({"email": seeded[0].email, "password": seeded[0].password});
    let args = json!({"admin": admin, "secret": hex, "pnr": "19811218-9876", "from": from});
    let app_ref = &app;
    tokio::task::block_in_place(|| run_flow(app_ref, "backoffice", args));
    let versions: i64 =
        sqlx::query_scalar("select count(*) from rule_set").fetch_one(&app.pool).await.unwrap();
    assert_eq!(versions, 2, "the fee change is stored");
    let (fee, refused): (String, i32) = sqlx::query_as(
        "select params->>'reminder_fee', jsonb_array_length(params->'refused_industries')
         from rule_set order by valid_from desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((fee.as_str(), refused), ("55.00", 12), "the form keeps what was not changed");
    let answered: i64 = sqlx::query_scalar(
        "select count(*) from ticket_message where kind = 'answer' and minutes = 4",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(answered, 1);
}
