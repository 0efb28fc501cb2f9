//! The private PostgreSQL cluster: ownership, stale pid files, and health when it is gone.

use fordra::db::{
    self,
    cluster::{Cluster, Durability},
};
use reqwest::StatusCode;

use crate::harness::{self, Options, TestApp};

fn temp_dir(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("fordra-{tag}-{}", uuid::Uuid::new_v4().simple()))
}

async fn open(dir: &std::path::Path) -> Cluster {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || Cluster::open(&dir, Durability::Ephemeral))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn healthz_is_503_when_the_database_is_down() {
    let dir = temp_dir("down");
    let mut cluster = open(&dir).await;
    let pool = db::connect_private(&cluster.socket_dir, "fordra").await.unwrap();
    db::migrate(&pool).await.unwrap();
    let app = TestApp::spawn_on(pool, "fordra".into(), Options::default()).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);

    tokio::task::spawn_blocking(move || cluster.stop()).await.unwrap().unwrap();
    let down = app.get("/healthz").await;
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.text().await.unwrap().contains("unreachable"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_stale_pid_file_does_not_block_the_next_start_and_data_is_kept() {
    let dir = temp_dir("stale");
    let mut first = open(&dir).await;
    let pool = db::connect_private(&first.socket_dir, "fordra").await.unwrap();
    sqlx::query("create table kept (x int)").execute(&pool).await.unwrap();
    pool.close().await;
    let pid_file = first.pg_dir.join("postmaster.pid");
    tokio::task::spawn_blocking(move || first.stop()).await.unwrap().unwrap();
    assert!(!pid_file.exists());
    // What a crash leaves behind: a pid file naming a process that no longer exists.
    std::fs::write(&pid_file, "4194000\n/nonexistent\n").unwrap();

    let second = open(&dir).await;
    let pool = db::connect_private(&second.socket_dir, "fordra").await.unwrap();
    let n: i64 = sqlx::query_scalar("select count(*) from kept").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
    pool.close().await;
    drop(second);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_second_process_connects_to_the_owners_cluster() {
    let dir = temp_dir("shared");
    let owner = open(&dir).await;
    assert!(owner.is_owner());
    let mut other = open(&dir).await;
    assert!(!other.is_owner(), "the lock is taken: connect, do not start a second cluster");
    let pool = db::connect_private(&other.socket_dir, "fordra").await.unwrap();
    let one: i32 = sqlx::query_scalar("select 1").fetch_one(&pool).await.unwrap();
    assert_eq!(one, 1);
    pool.close().await;
    other.stop().unwrap();
    assert!(owner.pg_dir.join("postmaster.pid").exists(), "a non-owner never stops the cluster");
    drop(owner);
    let _ = std::fs::remove_dir_all(dir);
    let _ = harness::socket_dir();
}
