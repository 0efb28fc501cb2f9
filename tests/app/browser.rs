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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_accounts_log_in_and_out_in_a_browser() {
    let (pool, name) = fresh_db().await;
    let seeded = fordra::demo::seed_if_empty(&pool, chrono::Utc::now())
        .await
        .unwrap();
    let app = TestApp::spawn_on(
        pool,
        name,
        Options {
            vars: vec![("FORDRA_DEMO", "on".into())],
        },
    )
    .await;
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
    let (pool, name) = fresh_db().await;
    let seeded = fordra::demo::seed_if_empty(&pool, chrono::Utc::now())
        .await
        .unwrap();
    let app = TestApp::spawn_on(
        pool,
        name,
        Options {
            vars: vec![
                ("FORDRA_DEMO", "on".into()),
                ("FORDRA_TODAY", "2026-03-02".into()),
            ],
        },
    )
    .await;
    let admin = json!({"email": seeded[0].email, "password": seeded[0].password});
    let app_ref = &app;
    tokio::task::block_in_place(|| run_flow(app_ref, "onboarding", json!({ "admin": admin })));
}
