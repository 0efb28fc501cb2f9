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
}

impl AppState {
    pub fn new(db: PgPool, config: Config, mailer: Mailer) -> AppState {
        let bankid = crate::bankid::BankId::from_mode(&config.bankid).unwrap_or_else(|e| {
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
        }
    }
}
