//! The real `fordra serve` binary on a fresh data dir: first start initialises and seeds, SIGTERM
//! stops PostgreSQL too, a SIGKILL is cleaned up by the watchdog, and the next start reuses data.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

// The child is returned to the test, which waits on it.
#[allow(clippy::zombie_processes)]
fn start(data_dir: &Path) -> (Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fordra"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("FORDRA_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env("FORDRA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = vec![];
    loop {
        let line = lines.next().expect("server exited before listening").unwrap();
        if let Some(addr) = line.strip_prefix("Fordra listening on ") {
            let addr = addr.to_string();
            std::thread::spawn(move || for _ in lines {});
            return (child, addr, printed);
        }
        printed.push(line);
    }
}

fn postgres_running(data_dir: &Path) -> bool {
    let pg = data_dir.join("pg");
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let p = e.path();
        std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == "postgres")
            && std::fs::read_link(p.join("cwd")).is_ok_and(|cwd| cwd == pg)
    })
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < Duration::from_secs(30), "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn health(base: &str) -> u16 {
    reqwest::get(format!("{base}/healthz")).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn serve_starts_its_own_postgres_and_leaves_none_behind() {
    let dir = std::env::temp_dir().join(format!("fordra-serve-{}", uuid::Uuid::new_v4().simple()));
    let (mut first, base, printed) = start(&dir);
    assert!(
        printed.iter().any(|l| l.contains("admin@fordra.test")),
        "demo passwords printed once: {printed:?}"
    );
    assert_eq!(health(&base).await, 200);
    assert!(postgres_running(&dir));

    Command::new("kill").args(["-TERM", &first.id().to_string()]).status().unwrap();
    assert!(first.wait().unwrap().success());
    assert!(!postgres_running(&dir), "SIGTERM stops the private PostgreSQL");

    let (mut second, base, printed) = start(&dir);
    assert!(printed.iter().all(|l| !l.contains("admin@fordra.test")), "no second seeding");
    assert_eq!(health(&base).await, 200);
    second.kill().unwrap();
    second.wait().unwrap();
    wait_until("the watchdog stops PostgreSQL after SIGKILL", || !postgres_running(&dir));

    let (mut third, base, _) = start(&dir);
    assert_eq!(health(&base).await, 200);
    Command::new("kill").args(["-TERM", &third.id().to_string()]).status().unwrap();
    third.wait().unwrap();
    assert!(!postgres_running(&dir));
    let _ = std::fs::remove_dir_all(dir);
}
