//! Request id, metrics, security headers, Swedish error bodies and flash clean-up.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{cookies, error::REQUEST_ID, metrics::Metrics};

/// Gives every request an id (kept from `x-request-id` if the proxy set a sane one), makes it
/// available to error pages and logs, and returns it in the response.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| crate::crypto::random_token(8));
    let ip = super::client_ip::text();
    let span = tracing::info_span!("request", id = %id, ip = %ip, method = %req.method(), path = %req.uri().path());
    let mut resp =
        REQUEST_ID.scope(id.clone(), tracing::Instrument::instrument(next.run(req), span)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

pub async fn metrics(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    metrics.record(&method, &route, status, started.elapsed());
    // The access log: one line per request, inside the request's span (id, client address,
    // method, path).
    let elapsed_ms = started.elapsed().as_millis() as u64;
    if status >= 500 {
        tracing::warn!(target: "access", status, route, elapsed_ms, "server error");
    } else {
        tracing::info!(target: "access", status, route, elapsed_ms, "done");
    }
    resp
}

/// `hsts`: the site is served over https (`Strict-Transport-Security` is sent).
pub async fn security_headers(State(hsts): State<bool>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    set(h, "permissions-policy", "camera=(), microphone=(), geolocation=()");
    if hsts {
        set(h, "strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    resp
}

/// The last word on error responses: a body the framework wrote itself (a 405 without a body,
/// a timeout, an extractor's English plain text) becomes the site's Swedish error page, or the
/// API's JSON error shape under `/api/`. Fordra's own errors (HTML or JSON) pass unchanged.
pub async fn swedish_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    // The BankID simulator answers exactly as BankID's own API does.
    if req.uri().path().starts_with("/bankid-sim/rp/") {
        return next.run(req).await;
    }
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400 {
        return resp;
    }
    let plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !plain {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    let (code, title, message) = match status.as_u16() {
        405 => (
            "method_not_allowed",
            "Metoden stöds inte",
            "Adressen finns, men inte för den här sortens begäran.",
        ),
        408 => (
            "timeout",
            "Det tog för lång tid",
            "Begäran tog för lång tid att behandla. Försök igen om en stund.",
        ),
        413 => ("payload_too_large", "För stort", "Det du skickade är för stort."),
        415 => (
            "unsupported_media_type",
            "Fel format",
            "Innehållet skickades i ett format som Fordra inte tar emot.",
        ),
        404 => (
            "not_found",
            "Sidan finns inte",
            "Sidan du söker finns inte, eller så saknar du behörighet att se den.",
        ),
        s if s < 500 => (
            "bad_request",
            "Felaktig begäran",
            "Begäran kunde inte tolkas. Kontrollera uppgifterna och försök igen.",
        ),
        _ => ("internal", "Något gick fel", "Ett oväntat fel inträffade. Försök igen om en stund."),
    };
    let mut out = if api {
        super::api_error::ApiError::new(status, code, message).into_response()
    } else {
        super::error::ErrorPage::new(status, title, message).into_response_with(status)
    };
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

/// A flash message is shown once: clear its cookie once a page (not a redirect) was served.
pub async fn clear_flash(req: Request, next: Next) -> Response {
    let had_flash = cookies::get(req.headers(), cookies::FLASH).is_some();
    let mut resp = next.run(req).await;
    if had_flash && !resp.status().is_redirection() {
        cookies::clear_flash(&mut resp);
    }
    resp
}
