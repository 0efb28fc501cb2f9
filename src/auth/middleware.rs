//! Middleware that needs to know who is asking: cross-site request refusal (the session's CSRF
//! token) and the API's rate limit per key.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use super::session;
use crate::{
    state::AppState,
    web::{AppError, api_error::ApiError, cookies},
};

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
    let ok = fields.iter().any(|(k, v)| k == "csrf_token" && *v == expected);
    if ok {
        next.run(Request::from_parts(parts, Body::from(bytes))).await
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
    // An API request without cookies carries no ambient authority to forge: the API
    // authenticates it by its key alone (and a request without a key gets the API's 401).
    path.starts_with("/api/") && !req.headers().contains_key(header::COOKIE)
}

fn origin_matches(origin: &str, headers: &HeaderMap, public_url: &str) -> bool {
    if origin == origin_of(public_url) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
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
    session::load_debtor(&state.db, token, state.clock.now())
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
    let bucket = format!("api:{}", &crate::crypto::hex(&crate::crypto::sha256(key))[..32]);
    let counted = match state.db.acquire().await {
        Ok(mut conn) => {
            super::rate_limit::count_in_window(
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
            let mut resp = ApiError::new(
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
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_check() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:4000"));
        assert!(origin_matches("http://127.0.0.1:4000", &h, "https://fordra.se"));
        assert!(origin_matches("https://fordra.se", &h, "https://fordra.se/"));
        assert!(!origin_matches("https://evil.example", &h, "https://fordra.se"));
        assert!(!origin_matches("null", &h, "https://fordra.se"));
        assert_eq!(origin_of("http://a:3000/x/y"), "http://a:3000");
    }
}
