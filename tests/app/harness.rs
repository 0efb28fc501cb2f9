//! Test harness: a private PostgreSQL cluster per test process (started once, stopped by its
//! watchdog when the process exits), a migrated template database, and a fresh database per test
//! cloned from it. Each test runs the real router on 127.0.0.1:0 and talks real HTTP to it.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

use fordra::{
    config::Config,
    db::{
        self,
        cluster::{Cluster, Durability},
    },
    mail::{self, Mailer, StoredMail},
    startup,
    state::AppState,
};
use reqwest::{Client, StatusCode, header};
use sqlx::{Connection, PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

struct Shared {
    socket_dir: PathBuf,
    _cluster: Mutex<Cluster>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
const TEMPLATE: &str = "fordra_template";

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        remove_finished_runs();
        let dir = std::env::temp_dir().join(format!("fordra-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cluster = Cluster::open(&dir, Durability::Ephemeral).expect(
            "cannot start a test PostgreSQL: install PostgreSQL (apt-get install postgresql) so initdb and pg_ctl are on PATH or under /usr/lib/postgresql",
        );
        let socket_dir = cluster.socket_dir.clone();
        // Migrate the template once, on a runtime of its own (tests each have theirs).
        let sd = socket_dir.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let pool = db::connect_private(&sd, TEMPLATE).await.unwrap();
                db::migrate(&pool).await.unwrap();
                pool.close().await;
            });
        })
        .join()
        .expect("migrating the template database failed");
        Shared { socket_dir, _cluster: Mutex::new(cluster) }
    })
}

/// Removes the clusters of earlier test runs whose process is gone. A run cannot remove its own
/// at exit (the shared cluster is a static, and statics are not dropped); each is over 1 GB.
fn remove_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name.to_str().and_then(|n| n.strip_prefix("fordra-test-")?.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

pub fn socket_dir() -> &'static Path {
    &shared().socket_dir
}

/// A fresh, migrated database for one test, on a one-connection pool (see below).
pub async fn fresh_db() -> (PgPool, String) {
    let size: u32 =
        std::env::var("FORDRA_TEST_POOL_SIZE").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    fresh_db_with_pool(size).await
}

/// A fresh, migrated database with a pool of `size` connections.
pub async fn fresh_db_with_pool(size: u32) -> (PgPool, String) {
    let socket = socket_dir();
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin =
        PgConnection::connect_with(&db::private_options(socket, "postgres")).await.unwrap();
    sqlx::query(&format!("create database \"{name}\" template \"{TEMPLATE}\""))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    // With one connection, a request that takes a second one while holding the first waits for
    // itself and fails after the acquire timeout: so every test checks that no request holds
    // two pool connections. Tests of concurrency give their app a bigger pool.
    let pool = db::pool_options()
        .max_connections(size)
        .acquire_timeout(std::time::Duration::from_secs(3))
        .connect_with(db::private_options(socket, &name))
        .await
        .unwrap();
    (pool, name)
}

/// A `DATABASE_URL` for the CLI to reach a test database over the Unix socket.
/// The `fordra` binary against test database `db_name`, with a clean environment (no
/// `FORDRA_*` from the shell), file mail and its own data directory.
pub fn fordra_cli(db_name: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fordra"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url(db_name))
        .env("FORDRA_MAIL", "file")
        .env("FORDRA_DATA_DIR", std::env::temp_dir().join(format!("fordra-cli-{db_name}")))
        .env("FORDRA_LOG", "error");
    cmd
}

pub fn database_url(db_name: &str) -> String {
    format!("postgres://fordra@localhost/{db_name}?host={}", socket_dir().display())
}

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    /// The test database's name (for the CLI, or another app on the same data).
    pub db_name: String,
    pub state: AppState,
    /// Cookie-keeping client that sends a same-origin `Origin` like a browser would.
    pub client: Client,
    pub mail_dir: PathBuf,
    shutdown: CancellationToken,
}

#[derive(Default)]
pub struct Options {
    pub vars: Vec<(&'static str, String)>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(opts: Options) -> TestApp {
        let (pool, db_name) = fresh_db().await;
        TestApp::spawn_on(pool, db_name, opts).await
    }

    /// Another server on the same database, with its own options (another business date).
    pub async fn again(&self, opts: Options) -> TestApp {
        TestApp::spawn_on(self.pool.clone(), self.db_name.clone(), opts).await
    }

    pub async fn spawn_on(pool: PgPool, db_name: String, opts: Options) -> TestApp {
        let mail_dir = std::env::temp_dir().join(format!("fordra-mail-{db_name}"));
        let mut vars: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url(&db_name)),
            ("FORDRA_DEMO".into(), "off".into()),
            // Tests of the engine drive their own dates; the gate has its own tests.
            ("FORDRA_FRESHNESS_GATE".into(), "off".into()),
            ("FORDRA_MAIL".into(), "file".into()),
            (
                "FORDRA_DATA_DIR".into(),
                mail_dir
                    .parent()
                    .unwrap()
                    .join(format!("fordra-data-{db_name}"))
                    .display()
                    .to_string(),
            ),
        ]);
        for (k, v) in opts.vars {
            vars.insert(k.to_string(), v);
        }
        let mut config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config");
        if let fordra::config::MailTransport::File(_) = config.mail {
            config.mail = fordra::config::MailTransport::File(mail_dir.clone());
        }
        let mailer = Mailer::from_config(&config).unwrap();
        let state = AppState::new(pool.clone(), config, mailer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        if let Some(b) = &state.bankid {
            b.listening_on(addr);
        }
        let shutdown = CancellationToken::new();
        startup::spawn_mail_sender(state.clone(), shutdown.clone());
        tokio::spawn(startup::serve(listener, startup::router(state.clone()), shutdown.clone()));
        let base = format!("http://{addr}");
        TestApp { client: browser_client(&base), base, pool, db_name, state, mail_dir, shutdown }
    }

    /// Runs `fordra check-ledger` on this app's database as of `today`; panics if it fails.
    pub fn check_ledger(&self, today: &str) -> String {
        let out = fordra_cli(&self.db_name)
            .arg("check-ledger")
            .env("FORDRA_TODAY", today)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "check-ledger failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client.post(self.url(path)).form(form).send().await.unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/logga-in", &[("email", email), ("password", password)]).await
    }

    /// Messages written by the file mailer, newest first.
    pub fn mails(&self) -> Vec<StoredMail> {
        mail::list_files(&self.mail_dir)
    }

    /// The newest message to `to` that `pred` accepts, waiting up to 10 s for the mail sender
    /// (queued mail goes out after the request's commit).
    pub async fn mail_to(&self, to: &str, pred: impl Fn(&StoredMail) -> bool) -> StoredMail {
        for _ in 0..100 {
            if let Some(m) = self.mails().into_iter().find(|m| m.mail.to == to && pred(m)) {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "no mail to {to} within 10 s: {:?}",
            self.mails().iter().map(|m| (&m.mail.to, &m.mail.subject)).collect::<Vec<_>>()
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let _ = std::fs::remove_dir_all(&self.mail_dir);
    }
}

pub fn browser_client(base: &str) -> Client {
    let mut headers = header::HeaderMap::new();
    headers.insert(header::ORIGIN, header::HeaderValue::from_str(base).unwrap());
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A new browser client that has sent `email` and [`PASSWORD`] to the login form.
async fn password_step(app: &TestApp, email: &str) -> (Client, reqwest::Response) {
    let client = browser_client(&app.base);
    let resp = client
        .post(app.url("/logga-in"))
        .form(&[("email", email), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    (client, resp)
}

/// A browser client logged in as `email` (a user made with [`create_user`], so [`PASSWORD`]).
pub async fn logged_in(app: &TestApp, email: &str) -> Client {
    let (client, resp) = password_step(app, email).await;
    assert_eq!(resp.status(), 303, "{email} logs in");
    client
}

/// A client with no cookie store and no provenance headers: sends exactly what a test adds.
/// GETs `path` with `client`: the status and the body.
pub async fn fetch(client: &Client, app: &TestApp, path: &str) -> (StatusCode, String) {
    let r = client.get(app.url(path)).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

pub fn bare_client() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

pub fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(header::LOCATION)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// The flash message a redirect sets.
pub fn flash(resp: &reqwest::Response) -> String {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("fordra_flash="))
        .and_then(|c| fordra::web::cookies::parse_flash(c.split(';').next().unwrap()))
        .map(|(_, message)| message)
        .unwrap_or_default()
}

pub fn session_cookie(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("fordra_session="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .filter(|c| !c.is_empty())
}

pub const PASSWORD: &str = "ett långt lösenord";

/// Creates a user of `role` (with a company for creditors and partners); returns its id.
pub async fn create_user(pool: &PgPool, email: &str, role: &str) -> uuid::Uuid {
    let hash = fordra::auth::password::hash(PASSWORD.into()).await.unwrap();
    let user_id = uuid::Uuid::new_v4();
    let company = uuid::Uuid::new_v4();
    let org = format!(
        "16{}",
        &company
            .simple()
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_digit())
            .chain("0000000000".chars())
            .take(10)
            .collect::<String>()
    );
    let (creditor, partner) = match role {
        "creditor" => {
            sqlx::query("insert into creditor (creditor_id, org_nr, name, status) values ($1, $2, 'Testbolaget AB', 'approved')")
                .bind(company).bind(&org).execute(pool).await.unwrap();
            (Some(company), None)
        }
        "partner" => {
            sqlx::query(
                "insert into partner (partner_id, org_nr, name) values ($1, $2, 'Partnerbyrån AB')",
            )
            .bind(company)
            .bind(&org)
            .execute(pool)
            .await
            .unwrap();
            (None, Some(company))
        }
        _ => (None, None),
    };
    sqlx::query(
        "insert into app_user (user_id, email, password_hash, role, display_name, creditor_id, partner_id)
         values ($1, $2, $3, $4, 'Test Testsson', $5, $6)",
    )
    .bind(user_id).bind(email).bind(hash).bind(role).bind(creditor).bind(partner)
    .execute(pool).await.unwrap();
    user_id
}

/// A staff user (admin or support) with TOTP set up, logged in all the way on a new client.
pub async fn staff_client(app: &TestApp, email: &str, role: &str) -> Client {
    use fordra::auth::totp;
    let id = create_user(&app.pool, email, role).await;
    let secret = b"fordra-test-secret-20".to_vec();
    sqlx::query("update app_user set totp_secret = $2, totp_enabled_at = now() where user_id = $1")
        .bind(id)
        .bind(&secret)
        .execute(&app.pool)
        .await
        .unwrap();
    let (client, resp) = password_step(app, email).await;
    assert_eq!(location(&resp), "/logga-in/tvastegs");
    let code =
        totp::code_at(&secret, totp::step_of(fordra::clock::Clock::system().now().timestamp()));
    let resp = client
        .post(app.url("/logga-in/tvastegs"))
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303, "TOTP login");
    client
}
