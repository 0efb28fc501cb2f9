//! One world for the tests that need a creditor: an app on its own database with a fixed
//! business date, the BankID simulator (official test tokens), and an approved creditor with a
//! login, a payout bankgiro and an API key.

use chrono::NaiveDate;
use fordra::engine;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{Options, PASSWORD, TestApp, browser_client, create_user, fresh_db};

pub struct World {
    pub app: TestApp,
    /// The creditor's API key.
    pub key: String,
    pub creditor: Uuid,
    /// The creditor user's login.
    pub creditor_email: String,
    pub db_name: String,
}

/// A world on business date `today`; the freshness gate is off, as engine tests drive dates.
pub async fn world(today: &str) -> World {
    build(today, false).await
}

/// A world whose engine waits for the previous bank day's bank files (the freshness gate).
pub async fn world_with_gate(today: &str) -> World {
    build(today, true).await
}

async fn build(today: &str, gate: bool) -> World {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let (pool, db_name) = fresh_db().await;
    let app = TestApp::spawn_on(
        pool,
        db_name.clone(),
        Options {
            vars: vec![
                ("FORDRA_TODAY", today.into()),
                ("FORDRA_BANKID", "simulator".into()),
                ("FORDRA_BANKID_SIM_FIXED_TOKENS", "on".into()),
                ("FORDRA_FRESHNESS_GATE", if gate { "on" } else { "off" }.into()),
            ],
        },
    )
    .await;
    let creditor_email = format!("kredit-{}@exempel.se", Uuid::new_v4().simple());
    let user = create_user(&app.pool, &creditor_email, "creditor").await;
    let creditor: Uuid = sqlx::query_scalar(
        "update creditor set contact_email = 'ekonomi@testbolaget.se', payout_bankgiro = '991-2346'
         where creditor_id = (select creditor_id from app_user where user_id = $1)
         returning creditor_id",
    )
    .bind(user)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let key = fordra::auth::api_key::create(
        &mut conn,
        fordra::auth::api_key::Owner::Creditor(creditor),
        app.state.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    World { app, key, creditor, creditor_email, db_name }
}

pub fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

impl World {
    pub fn pool(&self) -> &PgPool {
        &self.app.pool
    }

    /// Registers a claim through the API (`POST /api/v1/claims`); returns its id and OCR.
    pub async fn register(&self, claim: &Value) -> (Uuid, String) {
        let r = self
            .app
            .client
            .post(self.app.url("/api/v1/claims"))
            .bearer_auth(&self.key)
            .json(claim)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
        let body: Value = r.json().await.unwrap();
        (body["id"].as_str().unwrap().parse().unwrap(), body["ocr"].as_str().unwrap().to_string())
    }

    /// A browser logged in as the creditor's user.
    pub async fn creditor_client(&self) -> Client {
        let c = browser_client(&self.app.base);
        let r = c
            .post(self.app.url("/logga-in"))
            .form(&[("email", self.creditor_email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        c
    }

    /// One engine pass on business date `date`.
    pub async fn tick(&self, date: &str) -> engine::TickReport {
        engine::tick(&self.app.state, d(date)).await.unwrap()
    }

    /// A single value about claim (or other row) `id`: `sql` binds it as `$1`.
    pub async fn scalar<T>(&self, sql: &str, id: Uuid) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).bind(id).fetch_one(&self.app.pool).await.unwrap()
    }

    /// `fordra check-ledger` on this world's database; panics if it fails.
    pub fn check_ledger(&self, today: &str) -> String {
        self.app.check_ledger(today)
    }
}
