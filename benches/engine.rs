//! The lifecycle engine at scale, against a real PostgreSQL (a durable private cluster in a
//! temporary directory), at two sizes: 20,000 due claims among 200,000, then 100,000 among
//! 1,000,000. At each size, from one seeded database copied twice:
//!
//! - the whole `fordra tick` (lifecycle steps, letters, and their delivery to print as print
//!   batches with their PDFs and manifests), and
//! - the SQL ceiling: the same rows written by set-based SQL alone (steps and dispatch), in
//!   batches of the same size, with letters of the same size,
//!
//! and their ratio. Then PDF rendering in print batches on one core, the CSV import, and the
//! process's peak memory.
//!
//! `cargo bench --bench engine`; `FORDRA_BENCH_SIZES` (e.g. `2000/20000,10000/100000`, due/all)
//! chooses the sizes.

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
use sqlx::PgPool;
use uuid::Uuid;

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
    let sizes: Vec<(usize, usize)> = std::env::var("FORDRA_BENCH_SIZES")
        .unwrap_or_else(|_| "20000/200000,100000/1000000".into())
        .split(',')
        .filter_map(|s| {
            let (due, total) = s.split_once('/')?;
            Some((due.trim().parse().ok()?, total.trim().parse().ok()?))
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("fordra-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cluster = Cluster::open(&dir, Durability::Durable).expect("PostgreSQL for the benchmark");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let mut rates = vec![];
        for &(due, total) in &sizes {
            rates.push((due, total, at_size(&cluster, &dir, total, due).await));
        }
        if let [(d1, t1, r1), .., (d2, t2, r2)] = rates[..] {
            println!(
                "linearity: {r2:.0}/s at {d2} due of {t2} is {:.2} × {r1:.0}/s at {d1} due of {t1}",
                r2 / r1
            );
        }
        other_measures(&cluster).await;
    });
    println!("peak memory of the fordra process: {:.0} MiB", common::peak_rss_mib());
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}

const TODAY: &str = "2026-03-02";

/// Seeds `total` claims of which `due` are due (all by print), copies the database twice, runs
/// the whole tick on one copy and the SQL ceiling on the other; returns the tick's rate.
async fn at_size(cluster: &Cluster, dir: &std::path::Path, total: usize, due: usize) -> f64 {
    let today: NaiveDate = TODAY.parse().unwrap();
    let seed = format!("seed_{total}");
    let pool = db::connect_private(&cluster.socket_dir, &seed).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let started = Instant::now();
    seed_claims(&pool, total, due, today).await;
    println!("seeded {total} claims ({due} due) in {:.1} s", started.elapsed().as_secs_f64());
    pool.close().await;
    let admin = db::connect_private(&cluster.socket_dir, "postgres").await.unwrap();
    // A template must have no sessions: end any the closed pool left behind.
    sqlx::query(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
    )
    .bind(&seed)
    .execute(&admin)
    .await
    .unwrap();
    for copy in ["tick", "ceiling"] {
        sqlx::query(&format!("create database {copy}_{total} template {seed}"))
            .execute(&admin)
            .await
            .unwrap();
    }

    // The whole tick, as `fordra tick` runs it.
    let pool = db::connect_private(&cluster.socket_dir, &format!("tick_{total}")).await.unwrap();
    let print_dir = dir.join(format!("print-{total}"));
    let vars = std::collections::HashMap::from([
        ("FORDRA_DEMO", "off".to_string()),
        ("FORDRA_MAIL", "file".to_string()),
        ("FORDRA_TODAY", today.to_string()),
        ("FORDRA_FRESHNESS_GATE", "off".to_string()),
        ("FORDRA_PRINT_DIR", print_dir.display().to_string()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let mailer = Mailer::from_config(&config).unwrap();
    let state = AppState::new(pool.clone(), config, mailer);
    let started = Instant::now();
    let report = engine::tick(&state, today).await.unwrap();
    let tick_secs = started.elapsed().as_secs_f64();
    assert_eq!(report.steps as usize, due, "every due claim stepped once");
    assert_eq!(report.dispatched as usize, due, "every letter delivered");
    let files = std::fs::read_dir(&print_dir).unwrap().count();
    let tick_rate = due as f64 / tick_secs;
    println!(
        "tick, {due} due of {total}: {due} letters written and delivered to print ({files} batch files) in {tick_secs:.1} s = {tick_rate:.0} claims/s"
    );
    let (snapshot, html): (serde_json::Value, String) =
        sqlx::query_as("select snapshot, html from letter limit 1").fetch_one(&pool).await.unwrap();
    pool.close().await;
    let _ = std::fs::remove_dir_all(&print_dir);

    // The ceiling: the same rows, written by SQL alone.
    let pool = db::connect_private(&cluster.socket_dir, &format!("ceiling_{total}")).await.unwrap();
    let started = Instant::now();
    ceiling(&pool, today, due, &snapshot, &html).await;
    let ceiling_secs = started.elapsed().as_secs_f64();
    let ceiling_rate = due as f64 / ceiling_secs;
    println!(
        "SQL ceiling, {due} due of {total}: the same rows in {ceiling_secs:.1} s = {ceiling_rate:.0} claims/s; tick / ceiling = {:.2}",
        tick_rate / ceiling_rate
    );
    pool.close().await;
    for db in [seed, format!("tick_{total}"), format!("ceiling_{total}")] {
        sqlx::query(&format!("drop database {db} with (force)")).execute(&admin).await.unwrap();
    }
    admin.close().await;
    tick_rate
}

async fn seed_claims(pool: &PgPool, total: usize, due: usize, today: NaiveDate) {
    let creditor = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, '165560360793', 'Benchbolaget AB', 'approved')")
        .bind(creditor)
        .execute(pool)
        .await
        .unwrap();
    let chunk = 50_000;
    let mut n = 0;
    while n < total {
        let upto = (n + chunk).min(total);
        let numbers: Vec<i64> = (n..upto).map(|i| 5_000_001 + i as i64).collect();
        let ocrs: Vec<String> = numbers.iter().map(|c| ocr::generate(*c as u64)).collect();
        // The first `due` claims are due today; the rest wait for a later date. No e-mail
        // addresses: every letter goes to print.
        sqlx::query(
            "insert into claim (claim_id, case_number, ocr, case_code, creditor_id, invoice_number, capital,
                invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind,
                debtor_id_number, debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city,
                next_action_on, registered_at)
             select gen_random_uuid(), t.n, t.ocr, 'BENCHKOD', $3, 'B-' || t.n, 2500.00, '2026-01-10', '2026-02-09',
                '2026-01-10', true, 'reminder', 'person', '198112189876', 'Sven Svensson', 'consumer',
                'Storgatan 1', '111 22', 'Stockholm',
                case when t.n < 5000001 + $4 then $5::date else $5::date + 90 end, now()
             from unnest($1::bigint[], $2::text[]) as t(n, ocr)",
        )
        .bind(&numbers)
        .bind(&ocrs)
        .bind(creditor)
        .bind(due as i64)
        .bind(today)
        .execute(pool)
        .await
        .unwrap();
        n = upto;
    }
    sqlx::query("analyze").execute(pool).await.unwrap();
}

/// What a tick writes for `due` claims, by set-based SQL alone, 500 claims to a transaction as
/// the engine does: the step (letter, fee, claim, event, outbox row) and the dispatch (print
/// batch and its letters, letter, fee, claim, event, outbox row).
async fn ceiling(
    pool: &PgPool,
    today: NaiveDate,
    due: usize,
    snapshot: &serde_json::Value,
    html: &str,
) {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "select claim_id from claim where next_action_on <= $1 order by next_action_on, case_number",
    )
    .bind(today)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(ids.len(), due);
    for batch in ids.chunks(engine::BATCH as usize) {
        let mut tx = pool.begin().await.unwrap();
        let letters: Vec<Uuid> = batch.iter().map(|_| Uuid::new_v4()).collect();
        let step = [
            "insert into letter (letter_id, claim_id, kind, created_on, snapshot, html, channel)
             select l, c, 'reminder', $3, $4, $5, 'print' from unnest($1::uuid[], $2::uuid[]) as u(l, c)",
            "insert into fee (fee_id, claim_id, kind, amount, charged_on, letter_id)
             select gen_random_uuid(), c, 'reminder', 60, $3, l from unnest($1::uuid[], $2::uuid[]) as u(l, c)",
            "update claim set state = 'reminder', next_action_on = null where claim_id = any($2) and state = 'registered'",
            "insert into claim_event (claim_id, at, business_date, kind, detail, step_key)
             select c, now(), $3, 'reminder', $4, 'step:reminder' from unnest($2::uuid[]) as c",
            "insert into outbox (letter_id, next_attempt_at) select unnest($1::uuid[]), now()",
            // Dispatch.
            "with b as (insert into print_batch (print_batch_id, created_at, letter_count)
                        values (gen_random_uuid(), now(), cardinality($1::uuid[])) returning print_batch_id)
             insert into print_batch_letter (print_batch_id, letter_id, position)
             select b.print_batch_id, u.l, u.i from b, unnest($1::uuid[]) with ordinality as u(l, i)",
            "update letter set dispatched_on = $3, dispatched_at = now(), deadline = $3 + 10 where letter_id = any($1) and dispatched_on is null",
            "update fee set charged_on = $3 where letter_id = any($1)",
            "update claim set next_action_on = $3 + 15 where claim_id = any($2) and state = 'reminder'",
            "insert into claim_event (claim_id, at, business_date, kind, detail, step_key)
             select c, now(), $3, 'letter_dispatched', $4, 'dispatch:' || l from unnest($1::uuid[], $2::uuid[]) as u(l, c)",
            "update outbox set done_at = now(), attempts = attempts + 1 where letter_id = any($1)",
            "update print_batch set closed_at = now() where closed_at is null",
        ];
        for sql in step {
            let q = sqlx::query(sql).bind(&letters).bind(batch).bind(today);
            let q = if sql.contains("$5") {
                q.bind(snapshot).bind(html)
            } else if sql.contains("$4") {
                q.bind(snapshot)
            } else {
                q
            };
            q.execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
}

/// PDF rendering in print batches on one core, and the CSV import, on a small database.
async fn other_measures(cluster: &Cluster) {
    let today: NaiveDate = TODAY.parse().unwrap();
    let pool = db::connect_private(&cluster.socket_dir, "other").await.unwrap();
    db::migrate(&pool).await.unwrap();
    seed_claims(&pool, 2_000, 2_000, today).await;
    let vars = std::collections::HashMap::from([
        ("FORDRA_DEMO", "off".to_string()),
        ("FORDRA_MAIL", "file".to_string()),
        ("FORDRA_TODAY", today.to_string()),
        ("FORDRA_FRESHNESS_GATE", "off".to_string()),
    ]);
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let mailer = Mailer::from_config(&config).unwrap();
    let state = AppState::new(pool.clone(), config, mailer);
    engine::advance(&state, today).await.unwrap();
    let snapshots: Vec<serde_json::Value> =
        sqlx::query_scalar("select snapshot from letter").fetch_all(&pool).await.unwrap();
    let snapshots: Vec<letters::Snapshot> =
        snapshots.into_iter().map(|s| serde_json::from_value(s).unwrap()).collect();
    let started = Instant::now();
    let mut bytes = 0;
    for batch in snapshots.chunks(engine::outbox::PER_FILE) {
        bytes += letters::render_batch(batch).0.len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "PDF: {} letters in print batches of {} in {secs:.2} s = {:.0} letters/s on one core ({} bytes a letter)",
        snapshots.len(),
        engine::outbox::PER_FILE,
        snapshots.len() as f64 / secs,
        bytes / snapshots.len().max(1)
    );
    let started = Instant::now();
    let mut one = 0;
    for s in snapshots.iter().take(500) {
        one += letters::render_pdf(s).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "PDF: one letter a file (downloads, e-mail): {:.0} letters/s on one core ({} bytes each)",
        500.0 / secs,
        one / 500
    );
    csv_import(&pool, today).await;
    pool.close().await;
}
