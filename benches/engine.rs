//! The lifecycle engine at scale, against a real PostgreSQL (a durable private cluster in a
//! temporary directory), at two sizes: 20,000 due claims among 200,000, then 100,000 among
//! 1,000,000. At each size, from one seeded database copied twice:
//!
//! - the whole `fordra tick` (lifecycle steps, letters, and their delivery to print as print
//!   batches with their PDFs and manifests), and
//! - the SQL ceiling: the same rows written by set-based SQL alone (steps and dispatch), in
//!   batches of the same size, with letters of the same size,
//!
//! and their ratio. The seed goes through `fordra import-claims` (its rate is printed). Then PDF
//! rendering in print batches on one core, and the process's peak memory.
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
    engine, letters,
    mail::Mailer,
    state::AppState,
};
use sqlx::PgPool;
use uuid::Uuid;

fn main() {
    let sizes: Vec<(usize, usize)> = std::env::var("FORDRA_BENCH_SIZES")
        .unwrap_or_else(|_| "20000/200000,100000/1000000".into())
        .split(',')
        .filter_map(|s| {
            let (due, total) = s.split_once('/')?;
            Some((due.trim().parse().ok()?, total.trim().parse().ok()?))
        })
        .collect();
    let work = common::WorkDir::new("fordra-bench");
    let dir = work.0.clone();
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
    drop(work);
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
    seed_claims(&pool, dir, total, due).await;
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
    let state = app_state(&pool, today, Some(&print_dir));
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

/// The day the seed's claims are registered; the engine's pass of that day plans them.
const IMPORTED_ON: &str = "2026-02-27";

/// Seeds `total` claims the way a creditor registers them: a claims CSV written to a file and
/// imported by `fordra import-claims`'s code, then the engine's pass of the import day, which
/// plans each claim's first letter. The first `due` claims fell due on the import day (their
/// reminders are due on `TODAY`), the rest fall due in May. No e-mail addresses: every letter
/// goes to print.
async fn seed_claims(pool: &PgPool, dir: &std::path::Path, total: usize, due: usize) {
    let imported_on: NaiveDate = IMPORTED_ON.parse().unwrap();
    let creditor = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, '165560360793', 'Benchbolaget AB', 'approved')")
        .bind(creditor)
        .execute(pool)
        .await
        .unwrap();
    let path = dir.join(format!("claims-{total}.csv"));
    {
        use std::io::Write;
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(file, "fakturanummer;beskrivning;belopp;fakturadatum;förfallodag;paminnelseavgift_avtalad;galdenar_typ;person_orgnr;namn;egenskap;gatuadress;postnummer;postort").unwrap();
        for i in 0..total {
            let due_date = if i < due { IMPORTED_ON } else { "2026-05-04" };
            writeln!(file, "B-{i};Snickeriarbete;2 500,00;2026-01-10;{due_date};ja;person;19811218-9876;Sven Svensson;konsument;Storgatan {};111 22;Stockholm", i % 200 + 1).unwrap();
        }
    }
    let started = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    let params = fordra::parameters::load(&mut conn).await.unwrap();
    let now = fordra::clock::Clock::system().now();
    match fordra::claims::service::import_file(
        &mut conn,
        creditor,
        &path,
        &params,
        now,
        imported_on,
    )
    .await
    .unwrap()
    {
        fordra::claims::service::Imported::Done { claims, .. } => assert_eq!(claims, total),
        fordra::claims::service::Imported::Refused(e) => panic!("{:?}", &e[..1]),
    }
    drop(conn);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "import-claims: {total} rows ({} MB) in {secs:.1} s = {:.0} claims/s",
        std::fs::metadata(&path).unwrap().len() / 1_000_000,
        total as f64 / secs
    );
    std::fs::remove_file(&path).unwrap();
    let started = Instant::now();
    let state = app_state(pool, imported_on, None);
    let planned = engine::advance(&state, imported_on).await.unwrap();
    assert_eq!(planned.steps, 0, "nothing is due on the import day");
    println!(
        "the engine's pass of the import day planned {total} claims in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    sqlx::query("analyze").execute(pool).await.unwrap();
}

/// The application as `fordra tick` builds it, on business date `today`.
fn app_state(pool: &PgPool, today: NaiveDate, print_dir: Option<&std::path::Path>) -> AppState {
    let mut vars = std::collections::HashMap::from([
        ("FORDRA_DEMO", "off".to_string()),
        ("FORDRA_MAIL", "file".to_string()),
        ("FORDRA_TODAY", today.to_string()),
        ("FORDRA_FRESHNESS_GATE", "off".to_string()),
    ]);
    if let Some(dir) = print_dir {
        vars.insert("FORDRA_PRINT_DIR", dir.display().to_string());
    }
    let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let mailer = Mailer::from_config(&config).unwrap();
    AppState::new(pool.clone(), config, mailer)
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

/// PDF rendering in print batches on one core, on a small database.
async fn other_measures(cluster: &Cluster) {
    let today: NaiveDate = TODAY.parse().unwrap();
    let pool = db::connect_private(&cluster.socket_dir, "other").await.unwrap();
    db::migrate(&pool).await.unwrap();
    let dir = std::env::temp_dir();
    seed_claims(&pool, &dir, 2_000, 2_000).await;
    let state = app_state(&pool, today, None);
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
    pool.close().await;
}
