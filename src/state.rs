use std::sync::Arc;

use sqlx::PgPool;

use crate::{clock::Clock, config::Config, mail::Mailer, web::metrics::Metrics};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub mailer: Mailer,
    pub metrics: Arc<Metrics>,
    /// BankID client (and simulator); `None` when BankID is off.
    pub bankid: Option<Arc<crate::bankid::BankId>>,
    /// Wakes the mail sender when a request has queued mail (see [`AppState::wake_mail`]).
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// Rule data for pages, reloaded every couple of seconds (the engine loads its own).
    pub params: Arc<crate::parameters::Cache>,
    /// Faults a test switches on to stand in for a crash at a given point.
    pub faults: Arc<Faults>,
}

/// Faults a test switches on (per app state, so parallel tests do not meet).
#[derive(Debug, Default)]
pub struct Faults {
    /// Delivery fails after writing a round's print batches and before committing it: what a
    /// crash at that moment leaves behind.
    pub crash_after_print_write: std::sync::atomic::AtomicBool,
}

impl Faults {
    pub fn crash_after_print_write(&self) -> bool {
        self.crash_after_print_write.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl AppState {
    pub fn new(db: PgPool, config: Config, mailer: Mailer) -> AppState {
        let bankid =
            crate::bankid::BankId::from_mode(&config.bankid, Some(&db)).unwrap_or_else(|e| {
                // `fordra serve` checks this before it starts; here only a test could get it wrong.
                tracing::error!(
                    error = format!("{e:#}"),
                    "BankID is off: its configuration cannot be used"
                );
                None
            });
        AppState {
            bankid,
            db,
            clock: Clock::with_today(config.today),
            config: Arc::new(config),
            mailer,
            metrics: Arc::new(Metrics::default()),
            mail_wake: Arc::new(tokio::sync::Notify::new()),
            params: Arc::default(),
            faults: Arc::default(),
        }
    }

    /// The rule data for a request (cached briefly; see [`crate::parameters::Cache`]).
    pub async fn parameters(
        &self,
        conn: &mut sqlx::PgConnection,
    ) -> anyhow::Result<Arc<crate::parameters::Parameters>> {
        self.params.get(conn).await
    }

    /// Mail is queued in the transaction that decides it and sent after commit by the mail
    /// sender, never inside a request: call this after committing queued mail so it goes out now.
    pub fn wake_mail(&self) {
        self.mail_wake.notify_one();
    }
}
