//! A camt.054 file with 100,000 payments imported end to end against a real PostgreSQL (a
//! durable private cluster in a temporary directory): validation pass, then parse, OCR match,
//! allocation (statements computed per claim) and journal entries, all in one transaction.
//! 90 % of the payments carry the OCR of an open claim (part payments, full payments and a few
//! overpayments); 10 % match nothing and go to the unmatched queue. Then `check-ledger`'s
//! verification over the result, and the process's peak memory during the import. In the same
//! run, the ceiling: the same rows loaded by `COPY` into a second copy of the seeded database.
//!
//! `cargo bench --bench payments`; `FORDRA_BENCH_PAYMENTS` scales it down.

mod common;

use std::{io::BufWriter, time::Instant};

use chrono::NaiveDate;
use fordra::{
    db::{
        self,
        cluster::{Cluster, Durability},
    },
    domain::{money::Sek, ocr},
    payments::{import::import_file, ledger, simulator},
};
use uuid::Uuid;

fn main() {
    let n: usize =
        std::env::var("FORDRA_BENCH_PAYMENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let work = common::WorkDir::new("fordra-bench-pay");
    let dir = work.0.clone();
    let cluster = Cluster::open(&dir, Durability::Durable).expect("PostgreSQL for the benchmark");
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(run(&cluster, &dir, n));
    drop(cluster);
    drop(work);
}

async fn run(cluster: &Cluster, dir: &std::path::Path, n: usize) {
    let pool = db::connect_private(&cluster.socket_dir, "pay_seed").await.unwrap();
    db::migrate(&pool).await.unwrap();
    let today: NaiveDate = "2026-03-10".parse().unwrap();
    let booked: NaiveDate = "2026-03-09".parse().unwrap();
    let creditor = Uuid::new_v4();
    sqlx::query("insert into creditor (creditor_id, org_nr, name, status, payout_bankgiro) values ($1, '165560360793', 'Benchbolaget AB', 'approved', '991-2346')")
        .bind(creditor)
        .execute(&pool)
        .await
        .unwrap();
    // One open claim per matched payment, in collection with a 180 kr fee.
    let claims = n * 9 / 10;
    let started = Instant::now();
    let numbers: Vec<i64> = (0..claims).map(|i| 7_000_001 + i as i64).collect();
    for chunk in numbers.chunks(50_000) {
        let ocrs: Vec<String> = chunk.iter().map(|c| ocr::generate(*c as u64)).collect();
        sqlx::query(
            "with c as (insert into claim (claim_id, case_number, ocr, case_code, creditor_id, invoice_number, capital,
                invoice_date, due_date, claim_arose_date, reminder_fee_agreed, start_with, debtor_kind,
                debtor_id_number, debtor_name, debtor_capacity, debtor_street, debtor_postal_code, debtor_city,
                state, registered_at)
             select gen_random_uuid(), t.n, t.ocr, 'BENCHKOD', $3, 'B-' || t.n, 2500.00, '2026-01-10', '2026-02-09',
                '2026-01-10', true, 'collection', 'person', '198112189876', 'Sven Svensson', 'consumer',
                'Storgatan 1', '111 22', 'Stockholm', 'collection', now()
             from unnest($1::bigint[], $2::text[]) as t(n, ocr) returning claim_id)
             insert into fee (fee_id, claim_id, kind, amount, charged_on)
             select gen_random_uuid(), claim_id, 'collection', 180, '2026-02-20' from c",
        )
        .bind(chunk)
        .bind(&ocrs)
        .bind(creditor)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("analyze").execute(&pool).await.unwrap();
    println!("seeded {claims} open claims in {:.1} s", started.elapsed().as_secs_f64());
    pool.close().await;
    // Two copies of the seeded database: one for the import, one for the COPY ceiling.
    let admin = db::connect_private(&cluster.socket_dir, "postgres").await.unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = 'pay_seed' and pid <> pg_backend_pid()")
        .execute(&admin)
        .await
        .unwrap();
    for copy in ["pay_import", "pay_ceiling"] {
        sqlx::query(&format!("create database {copy} template pay_seed"))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;
    let pool = db::connect_private(&cluster.socket_dir, "pay_import").await.unwrap();

    // The bank file, written to disk as it is generated.
    let path = dir.join("camt054-bench.xml");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut out = BufWriter::new(file);
        let items = (0..n).map(|i| {
            if i < claims {
                let ocr = ocr::generate(7_000_001 + i as u64);
                // Part payments, full payments (2 500 + 180 + interest) and overpayments.
                let amount = match i % 10 {
                    0..=5 => Sek::kronor(1000),
                    6..=8 => Sek::new(2699, 18),
                    _ => Sek::kronor(3000),
                };
                simulator::Item::new(&ocr, amount, "Sven Svensson")
            } else {
                simulator::Item::new(&format!("Faktura {i}"), Sek::kronor(500), "Okänd Betalare")
            }
        });
        simulator::write_camt054(&mut out, fordra::config::DEFAULT_IBAN, "BENCH-1", booked, items)
            .unwrap();
    }
    let size = std::fs::metadata(&path).unwrap().len();

    // Peak memory from here on (Linux: writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = common::peak_rss_mib();
    let started = Instant::now();
    let r = import_file(
        &pool,
        &path,
        "camt054-bench.xml",
        &fordra::config::Config::from_lookup(|_| None).unwrap().identity,
        None,
        fordra::clock::Clock::system().now(),
        today,
    )
    .await
    .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(r.count as usize, n);
    assert_eq!(r.matched as usize, claims);
    println!(
        "import: {n} payments ({:.0} MB of camt.054) in {secs:.1} s = {:.0} payments/s; {} matched, {} unmatched, {} claims paid, {} overpaid",
        size as f64 / 1e6,
        n as f64 / secs,
        r.matched,
        r.unmatched,
        r.paid_claims,
        r.overpaid_claims
    );
    println!(
        "peak memory of the fordra process during the import: {:.0} MiB (was {:.0} MiB before)",
        common::peak_rss_mib(),
        before
    );

    let import_rate = n as f64 / secs;
    copy_ceiling(cluster, &pool, n, import_rate).await;

    let started = Instant::now();
    let mut conn = pool.acquire().await.unwrap();
    let params = fordra::parameters::load(&mut conn).await.unwrap();
    let (problems, summary) = ledger::check(&mut conn, &params, today).await.unwrap();
    assert!(problems.is_empty(), "{:?}", &problems[..problems.len().min(5)]);
    println!(
        "check-ledger: {} entries, {} lines, {} claims verified in {:.1} s",
        summary.entries,
        summary.lines,
        summary.claims,
        started.elapsed().as_secs_f64()
    );
    drop(conn);
    pool.close().await;
}

/// The tables the import writes, in an order their foreign keys allow.
const WRITTEN: [&str; 8] = [
    "bank_file",
    "payment",
    "journal_entry",
    "journal_line",
    "claim_event",
    "bank_day",
    "mail_queue",
    "audit_event",
];

/// The SQL ceiling: the rows the import wrote, taken out of its database with `COPY … TO` and
/// loaded with `COPY … FROM` into the other copy of the seeded database (same tables, indexes
/// and foreign keys), with the claims it marked paid marked by one `UPDATE`, in one transaction.
async fn copy_ceiling(cluster: &Cluster, imported: &sqlx::PgPool, n: usize, import_rate: f64) {
    use futures_util::TryStreamExt;
    let mut conn = imported.acquire().await.unwrap();
    let mut dumps = Vec::new();
    for table in WRITTEN {
        let chunks: Vec<_> = conn
            .copy_out_raw(&format!("copy {table} to stdout"))
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        dumps.push((table, chunks.concat()));
    }
    let paid: Vec<Uuid> = sqlx::query_scalar("select claim_id from claim where state = 'paid'")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let pool = db::connect_private(&cluster.socket_dir, "pay_ceiling").await.unwrap();
    let started = Instant::now();
    let mut tx = pool.begin().await.unwrap();
    let mut rows = 0;
    for (table, bytes) in dumps {
        let mut copy = tx.copy_in_raw(&format!("copy {table} from stdin")).await.unwrap();
        copy.send(bytes).await.unwrap();
        rows += copy.finish().await.unwrap();
    }
    sqlx::query("update claim set state = 'paid', next_action_on = null where claim_id = any($1)")
        .bind(&paid)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    println!(
        "COPY ceiling: the import's {rows} rows (and {} claims marked paid) loaded in {secs:.1} s = {rate:.0} payments/s; import / ceiling = {:.2}",
        paid.len(),
        import_rate / rate
    );
    pool.close().await;
}
