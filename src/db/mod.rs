//! Database access: the connection pool, migrations, and the private cluster.

pub mod cluster;
pub mod copy;

use std::{path::Path, time::Duration};

use anyhow::{Context, Result};
use sqlx::{
    Connection, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgConnection, PgPoolOptions},
};

use crate::config::Config;
use cluster::{Cluster, DB_USER, Durability};

pub static MIGRATOR: Migrator = sqlx::migrate!();

pub const DB_NAME: &str = "fordra";

/// The pool, plus the private cluster when this process uses one.
pub struct Database {
    pub pool: PgPool,
    cluster: Option<Cluster>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or opens (starting if needed) the private cluster.
    pub async fn open(config: &Config) -> Result<Database> {
        match &config.database_url {
            Some(url) => {
                let pool = pool_options_for(config)
                    .connect(url)
                    .await
                    .context("cannot connect to DATABASE_URL")?;
                Ok(Database { pool, cluster: None })
            }
            None => {
                let dir = config.data_dir.clone();
                let cluster =
                    tokio::task::spawn_blocking(move || Cluster::open(&dir, Durability::Durable))
                        .await??;
                let pool =
                    connect_private_with(&cluster.socket_dir, DB_NAME, pool_options_for(config))
                        .await?;
                Ok(Database { pool, cluster: Some(cluster) })
            }
        }
    }

    /// True when this process started the private cluster (and so seeds it on first run).
    pub fn owns_private_cluster(&self) -> bool {
        self.cluster.as_ref().is_some_and(Cluster::is_owner)
    }

    /// Closes the pool and stops the private cluster if this process owns it.
    pub async fn close(mut self) -> Result<()> {
        self.pool.close().await;
        if let Some(mut cluster) = self.cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await??;
        }
        Ok(())
    }
}

/// A pool with the default size (20) and acquire timeout (5 s), for tools and tests.
pub fn pool_options() -> PgPoolOptions {
    sized(20, Duration::from_secs(5))
}

/// A pool sized by `FORDRA_DB_POOL_SIZE` and `FORDRA_DB_ACQUIRE_TIMEOUT`.
pub fn pool_options_for(config: &Config) -> PgPoolOptions {
    sized(config.db_pool_size, config.db_acquire_timeout)
}

/// A connection idle for longer than this is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// A pool of `size` connections. A connection that sat idle is checked with a round trip before
/// use (a restarted database is noticed there, not in a request); one returned a moment ago is
/// not: under load that check was two of a page's four round trips.
fn sized(size: u32, acquire_timeout: Duration) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

pub fn private_options(socket_dir: &Path, database: &str) -> PgConnectOptions {
    PgConnectOptions::new().socket(socket_dir).username(DB_USER).database(database)
}

/// Connects to `database` on a private cluster, creating the database on first use.
pub async fn connect_private(socket_dir: &Path, database: &str) -> Result<PgPool> {
    connect_private_with(socket_dir, database, pool_options()).await
}

/// [`connect_private`] with a pool of its own settings.
pub async fn connect_private_with(
    socket_dir: &Path,
    database: &str,
    options: PgPoolOptions,
) -> Result<PgPool> {
    let mut admin = PgConnection::connect_with(&private_options(socket_dir, "postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        // Identifiers cannot be bound; `database` is ours (a constant or a generated test name).
        sqlx::query(&format!("create database \"{database}\"")).execute(&mut admin).await?;
    }
    admin.close().await?;
    Ok(options.connect_with(private_options(socket_dir, database)).await?)
}

pub async fn migrate(pool: &PgPool) -> Result<()> {
    MIGRATOR.run(pool).await.context("database migration failed")
}
