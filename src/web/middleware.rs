//! Request id, metrics, security headers, cross-site request refusal and flash clean-up.

use std::time::Instant;

use axum::{
    body::{Body, to_bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::{AppError, cookies, error::REQUEST_ID};
use crate::{auth::session, state::AppState};

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
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = REQUEST_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(req), span),
        )
        .await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

pub async fn metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    state
        .metrics
        .record(&method, &route, status, started.elapsed());
    if status >= 500 {
        tracing::warn!(status, route, "server error");
    } else {
        tracing::debug!(
            status,
            route,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "done"
        );
    }
    resp
}

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
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
    set(
        h,
        "permissions-policy",
        "camera=(), microphone=(), geolocation=()",
    );
    if state.config.secure_cookies() {
        set(
            h,
            "strict-transport-security",
            "max-age=31536000; includeSubDomains",
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    resp
}

/// Refuses state-changing requests that do not prove they come from Fordra's own pages:
/// `Sec-Fetch-Site: same-origin`, or an `Origin` equal to ours, or the session's CSRF token
/// (`x-csrf-token` header or `csrf_token` form field). API calls with a Bearer key are exempt.
pub async fn csrf(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || is_exempt(&req) {
        return next.run(req).await;
    }
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return if site == "same-origin" {
            next.run(req).await
        } else {
            AppError::CrossSite.into_response()
        };
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return if origin_matches(origin, headers, &state.config.public_url) {
            next.run(req).await
        } else {
            AppError::CrossSite.into_response()
        };
    }
    // No browser provenance headers: a token must match the session's.
    let Some(expected) = session_csrf(&state, headers).await else {
        return AppError::CrossSite.into_response();
    };
    if let Some(tok) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return if tok == expected {
            next.run(req).await
        } else {
            AppError::CrossSite.into_response()
        };
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return AppError::CrossSite.into_response();
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = to_bytes(body, 2 * 1024 * 1024).await else {
        return AppError::BadRequest("För stor begäran.".into()).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let ok = fields
        .iter()
        .any(|(k, v)| k == "csrf_token" && *v == expected);
    if ok {
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    } else {
        AppError::CrossSite.into_response()
    }
}

fn is_exempt(req: &Request) -> bool {
    let path = req.uri().path();
    // The BankID simulator's RP API and its test controls take JSON only: a cross-site form
    // cannot send `application/json` without a CORS preflight, which Fordra never grants.
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if path.starts_with("/bankid-sim/") && json && !req.headers().contains_key(header::COOKIE) {
        return true;
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    // A Bearer request carries no cookie authority: the API authenticates it by key alone.
    path.starts_with("/api/") && bearer && !req.headers().contains_key(header::COOKIE)
}

fn origin_matches(origin: &str, headers: &HeaderMap, public_url: &str) -> bool {
    if origin == origin_of(public_url) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !host.is_empty() && (origin == format!("http://{host}") || origin == format!("https://{host}"))
}

/// `https://example.se/path` → `https://example.se`
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

async fn session_csrf(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(token) = cookies::get(headers, cookies::SESSION)
        && let Ok(Some(s)) = session::load(&state.db, token, state.clock.now()).await
    {
        return Some(s.csrf_token);
    }
    let token = cookies::get(headers, cookies::DEBTOR)?;
    crate::mina_sidor::session::load(&state.db, token, state.clock.now())
        .await
        .ok()
        .flatten()
        .map(|s| s.csrf_token)
}

/// The API's limit per key: `FORDRA_API_RATE_LIMIT` requests a minute. Every request that
/// carries a key counts, whatever its route or answer (a wrong key too); over the limit the
/// answer is 429 `rate_limited` with `Retry-After`. 0 turns the limit off.
pub async fn api_rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = state.config.api_rate_limit;
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty());
    let (Some(key), true) = (key, limit > 0 && req.uri().path().starts_with("/api/")) else {
        return next.run(req).await;
    };
    let now = state.clock.now();
    let bucket = format!(
        "api:{}",
        &crate::crypto::hex(&crate::crypto::sha256(key))[..32]
    );
    let counted = match state.db.acquire().await {
        Ok(mut conn) => {
            crate::auth::rate_limit::count_in_window(
                &mut conn,
                &bucket,
                now,
                chrono::Duration::minutes(1),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match counted {
        Ok((hits, window_end)) if hits > i64::from(limit) => {
            let retry = (window_end - now).num_seconds().max(1);
            let mut resp = super::api_error::ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "För många anrop med den här API-nyckeln: högst {limit} i minuten. Försök igen om {retry} sekunder."
                ),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Ok(_) => next.run(req).await,
        Err(e) => super::api_error::ApiError::from(e).into_response(),
    }
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
        413 => (
            "payload_too_large",
            "För stort",
            "Det du skickade är för stort.",
        ),
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
        _ => (
            "internal",
            "Något gick fel",
            "Ett oväntat fel inträffade. Försök igen om en stund.",
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert!(origin_matches(
            "http://127.0.0.1:4000",
            &h,
            "https://fordra.se"
        ));
        assert!(origin_matches(
            "https://fordra.se",
            &h,
            "https://fordra.se/"
        ));
        assert!(!origin_matches(
            "https://evil.example",
            &h,
            "https://fordra.se"
        ));
        assert!(!origin_matches("null", &h, "https://fordra.se"));
        assert_eq!(origin_of("http://a:3000/x/y"), "http://a:3000");
    }
}
