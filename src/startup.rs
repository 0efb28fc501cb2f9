//! Building the router, serving it, and shutting down in order: stop accepting, finish in-flight
//! requests, stop background tasks, close the pool, stop the private PostgreSQL.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, Result};
use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    middleware::from_fn,
    middleware::from_fn_with_state,
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{
    catch_panic::CatchPanicLayer, compression::CompressionLayer, timeout::TimeoutLayer,
};

use crate::{
    auth, backoffice, calculator, claims,
    config::Config,
    creditors,
    db::{self, Database},
    demo, engine, home,
    mail::Mailer,
    state::AppState,
    verify,
    web::{self, error::internal_error_page, error::not_found_page, middleware as mw},
};

pub fn router(state: AppState) -> Router {
    let base = match state.bankid.as_ref().and_then(|b| b.sim.clone()) {
        Some(sim) => Router::new().merge(crate::bankid::sim::router(sim)),
        None => Router::new(),
    };
    base.merge(home::router())
        .merge(auth::routes::router())
        .merge(auth::keys::router())
        .merge(crate::webhooks::pages::router())
        .merge(backoffice::router())
        .merge(crate::tickets::web::router())
        .merge(crate::audit::web::router())
        .merge(crate::enforcement::web::router())
        .merge(calculator::router())
        .merge(crate::api::router())
        .merge(claims::web::router())
        .merge(crate::claim_page::router())
        .merge(claims::import::router())
        .merge(verify::router())
        .merge(creditors::router())
        .merge(crate::payments::web::router())
        .merge(crate::payouts::router())
        .merge(crate::partners::router())
        .merge(crate::debtors::router())
        .merge(crate::disputes::router())
        .merge(crate::plans::router())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/static/{file}", get(web::assets::serve))
        .fallback(|| async { not_found_page() })
        .method_not_allowed_fallback(|| async { StatusCode::METHOD_NOT_ALLOWED })
        // Layers run outermost-last: the request id wraps everything.
        .layer(from_fn(mw::clear_flash))
        .layer(from_fn_with_state(state.clone(), auth::middleware::api_rate_limit))
        .layer(from_fn_with_state(state.clone(), auth::middleware::csrf))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(CompressionLayer::new())
        .layer(from_fn_with_state(state.config.secure_cookies(), mw::security_headers))
        .layer(CatchPanicLayer::custom(|_| internal_error_page()))
        .layer(from_fn_with_state(state.metrics.clone(), mw::metrics))
        .layer(from_fn(mw::swedish_errors))
        .layer(from_fn(mw::request_id))
        .layer(from_fn_with_state(state.config.trusted_proxies.clone(), web::client_ip::middleware))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("select 1").fetch_one(&state.db),
    )
    .await;
    match check {
        Ok(Ok(_)) => Json(serde_json::json!({"status": "ok", "database": "ok"})).into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
        )
            .into_response(),
    }
}

/// Prometheus text. With `FORDRA_METRICS_TOKEN` set, only with that bearer token; otherwise
/// only for clients on this machine (loopback; behind a trusted proxy, the client it names).
async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let allowed = match &state.config.metrics_token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| {
                crate::crypto::constant_time_eq(given.as_bytes(), token.as_bytes())
            }),
        None => web::client_ip::current().is_some_and(|ip| ip.is_loopback()),
    };
    if !allowed {
        return not_found_page();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("HTTP server failed")
}

/// Periodic work of the server process: the lifecycle engine and housekeeping. A pass under way
/// when shutdown begins runs to the end of its current transaction.
pub fn spawn_background(
    state: AppState,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(state.config.engine_interval);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = every.tick() => {
                    let today = state.clock.today();
                    match engine::tick(&state, today).await {
                        Ok(r) if r.held_for_rate > 0 => tracing::warn!(%today, steps = r.steps, dispatched = r.dispatched, held = r.held_for_rate, missing_rate = ?r.missing_rate, "engine pass: letters held, the reference rate is not entered"),
                        Ok(r) if r.steps + r.dispatched > 0 => tracing::info!(%today, steps = r.steps, dispatched = r.dispatched, blocked = r.blocked, "engine pass"),
                        Ok(_) => {}
                        Err(e) => tracing::error!(error = format!("{e:#}"), "engine pass failed"),
                    }
                    if let Err(e) = auth::session::purge_expired(&state.db, state.clock.now()).await {
                        tracing::warn!(error = %e, "session clean-up failed");
                    }
                    if let Err(e) = auth::rate_limit::purge(&state.db, state.clock.now()).await {
                        tracing::warn!(error = %e, "rate-limit clean-up failed");
                    }
                }
            }
        }
    })
}

/// Sends queued mail whenever a request queues some (and every 30 s for retries), until
/// `shutdown`. Delivery is exactly the engine's mail step, so a tick and this never send twice.
pub fn spawn_mail_sender(
    state: AppState,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = state.mail_wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
            if let Err(e) = crate::mail::deliver_queue(
                &state.db,
                &state.mailer,
                &state.config.mail_from,
                state.clock.now(),
            )
            .await
            {
                tracing::warn!(error = format!("{e:#}"), "sending queued mail failed");
            }
        }
    })
}

/// `fordra serve`.
pub async fn run_server(config: Config, addr: SocketAddr) -> Result<()> {
    for var in Config::unknown_vars() {
        tracing::warn!("unknown environment variable {var} (typo?)");
    }
    let mailer = Mailer::from_config(&config)?;
    // A live BankID whose certificate cannot be used stops the start, before anything else.
    crate::bankid::BankId::from_mode(&config.bankid, None)?;
    let database = Database::open(&config).await?;
    let result = serve_with(&config, &database, mailer, addr).await;
    database.close().await?;
    tracing::info!("stopped");
    result
}

async fn serve_with(
    config: &Config,
    database: &Database,
    mailer: Mailer,
    addr: SocketAddr,
) -> Result<()> {
    db::migrate(&database.pool).await?;
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let state = AppState::new(database.pool.clone(), config.clone(), mailer);
    if let Some(b) = &state.bankid {
        b.listening_on(listener.local_addr()?);
    }
    if config.demo {
        let seeded = demo::seed_if_empty(&database.pool, state.clock.now()).await?;
        if !seeded.is_empty() {
            println!("Demo accounts (shown once; also listed on the login page in demo mode):");
            for a in &seeded {
                println!("  {:<32} {:<32} {}", a.label, a.email, a.password);
            }
        }
    }
    let shutdown = CancellationToken::new();
    let background = spawn_background(state.clone(), shutdown.clone());
    let mail_sender = spawn_mail_sender(state.clone(), shutdown.clone());
    println!("Fordra listening on http://{}", listener.local_addr()?);
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        signal.cancel();
    });
    let served = serve(listener, router(state), shutdown.clone()).await;
    shutdown.cancel();
    let stopped = async {
        let _ = background.await;
        let _ = mail_sender.await;
    };
    if tokio::time::timeout(Duration::from_secs(30), stopped).await.is_err() {
        tracing::warn!("background tasks did not stop within 30 s");
    }
    served
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
