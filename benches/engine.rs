//! The lifecycle engine at scale, against a real PostgreSQL (a durable private cluster in a
//! temporary directory): 1,000,000 claims of which 100,000 are due, then the transition pass
//! (state change, fee, letter snapshot and HTML, event, outbox row; PDF and delivery excluded),
//! then PDF rendering from the stored snapshots, and the process's peak memory.
//!
//! `cargo bench --bench engine`; `FORDRA_BENCH_CLAIMS` and `FORDRA_BENCH_DUE` scale it down.

mod common;

use std::time::Instant;

use chrono::NaiveDate;
use fordra::{
    config::Config,
    db::{
        self,
        cluster::{Cluster, Durability},
    },
    domain::ocr,
    engine, letters,
    mail::Mailer,
    state::AppState,
};
use uuid::Uuid;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// 10,000 CSV rows as the browser import handles them: parse, validate, duplicate check, then
/// the all-or-nothing insert.
async fn csv_import(pool: &sqlx::PgPool, today: NaiveDate) {
    let creditor = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, '165566778899', 'Importbolaget AB', 'approved')")
        .bind(creditor)
        .execute(pool)
        .await
        .unwrap();
    let mut csv = String::from(
        "fakturanummer;belopp;fakturadatum;förfallodag;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort;epost\r\n",
    );
    for i in 0..10_000 {
        csv.push_str(&format!(
            "I-{i};1 250,50;2026-01-10;2026-02-09;person;19811218-9876;Åsa Öberg;konsument;Kyrkgatan {i};722 11;Västerås;asa{i}@example.se\r\n"
        ));
    }
    let started = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    let params = fordra::parameters::load(&mut tx).await.unwrap();
    let checked = fordra::claims::service::check(&mut tx, creditor, csv.as_bytes(), today, &params)
        .await
        .unwrap();
    assert!(checked.errors.is_empty(), "{:?}", &checked.errors[..1]);
    let checked_in = started.elapsed().as_secs_f64();
    fordra::claims::insert_many(
        &mut tx,
        creditor,
        &checked.claims,
        None,
        fordra::clock::Clock::system().now(),
        today,
    )
    .await
    .unwrap();
    // Kept out of the transition pass that follows.
    sqlx::query("update claim set next_action_on = null where creditor_id = $1")
        .bind(creditor)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    println!(
        "CSV import: 10000 rows checked in {checked_in:.2} s, checked and stored in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let total = env_usize("FORDRA_BENCH_CLAIMS", 1_000_000);
    let due = env_usize("FORDRA_BENCH_DUE", 100_000).min(total);
    let workers = env_usize("FORDRA_BENCH_WORKERS", 2);
    let dir = std::env::temp_dir().join(format!("fordra-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::open(&dir, Durability::Durable).expect("PostgreSQL for the benchmark");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(&cluster, total, due, workers));
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn run(cluster: &Cluster, total: usize, due: usize, workers: usize) {
    let pool = db::connect_private(&cluster.socket_dir, "fordra_bench").await.unwrap();
    db::migrate(&pool).await.unwrap();
    let today: NaiveDate = "2026-03-02".parse().unwrap();
    let creditor = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, '165560360793', 'Benchbolaget AB', 'approved')")
        .bind(creditor)
        .execute(&pool)
        .await
        .unwrap();

    csv_import(&pool, today).await;

    let started = Instant::now();
    let chunk = 50_000;
    let mut n = 0;
    while n < total {
        let upto = (n + chunk).min(total);
        let numbers: Vec<i64> = (n..upto).map(|i| 5_000_001 + i as i64).collect();
        let ocrs: Vec<String> = numbers.iter().map(|c| ocr::generate(*c as u64)).collect();
        // The first `due` claims are due today; the rest wait for a later date. Half the due
        // claims have an email address, half go to print.
        sqlx::query(
            "insert into claim (claim_id, case_number, ocr, case_code, creditor_id, invoice_number, capital,
                invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind,
                debtor_id_number, debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city,
                debtor_email, next_action_on, registered_at)
             select gen_random_uuid(), t.n, t.ocr, 'BENCHKOD', $3, 'B-' || t.n, 2500.00, '2026-01-10', '2026-02-09',
                '2026-01-10', true, 'reminder', 'person', '198112189876', 'Sven Svensson', 'consumer',
                'Storgatan 1', '111 22', 'Stockholm',
                case when t.n % 2 = 0 then 'sven@example.se' end,
                case when t.n < 5000001 + $4 then $5::date else $5::date + 90 end, now()
             from unnest($1::bigint[], $2::text[]) as t(n, ocr)",
        )
        .bind(&numbers)
        .bind(&ocrs)
        .bind(creditor)
        .bind(due as i64)
        .bind(today)
        .execute(&pool)
        .await
        .unwrap();
        n = upto;
    }
    sqlx::query("analyze").execute(&pool).await.unwrap();
    println!("seeded {total} claims ({due} due) in {:.1} s", started.elapsed().as_secs_f64());

    let vars = std::collections::HashMap::from([
        ("FORDRA_DEMO", "off".to_string()),
        ("FORDRA_MAIL", "file".to_string()),
        ("FORDRA_TODAY", today.to_string()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let mailer = Mailer::from_config(&config).unwrap();
    let state = AppState::new(pool.clone(), config, mailer);

    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..workers {
        let state = state.clone();
        handles.push(tokio::spawn(async move { engine::advance(&state, today).await.unwrap() }));
    }
    let mut steps = 0;
    for h in handles {
        steps += h.await.unwrap().steps;
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(steps as usize, due, "every due claim stepped once");
    println!(
        "transition pass: {steps} transitions in {secs:.1} s with {workers} engine workers = {:.0} transitions/s",
        steps as f64 / secs
    );

    let sample = 2_000.min(due as i64);
    let snapshots: Vec<serde_json::Value> =
        sqlx::query_scalar("select snapshot from letter limit $1")
            .bind(sample)
            .fetch_all(&pool)
            .await
            .unwrap();
    let snapshots: Vec<letters::Snapshot> =
        snapshots.into_iter().map(|s| serde_json::from_value(s).unwrap()).collect();
    let started = Instant::now();
    let mut bytes = 0;
    for s in &snapshots {
        bytes += letters::render_pdf(s).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "PDF: {} letters in {secs:.2} s = {:.0} PDFs/s on one core ({} bytes each on average)",
        snapshots.len(),
        snapshots.len() as f64 / secs,
        bytes / snapshots.len().max(1)
    );
    println!("peak memory of the fordra process: {:.0} MiB", common::peak_rss_mib());
    pool.close().await;
}
