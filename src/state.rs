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
}

impl AppState {
    pub fn new(db: PgPool, config: Config, mailer: Mailer) -> AppState {
        AppState {
            db,
            clock: Clock::with_today(config.today),
            config: Arc::new(config),
            mailer,
            metrics: Arc::new(Metrics::default()),
        }
    }
}
