//! Shared HTTP plumbing, knowing no feature: errors, extractors, the page layout, cookies,
//! middleware, filters, forms, QR codes, static assets, metrics.

pub mod api_error;
pub mod assets;
pub mod chart;
pub mod client_ip;
pub mod cookies;
pub mod error;
pub mod excel;
pub mod extract;
pub mod filters;
pub mod forms;
pub mod idempotency;
pub mod layout;
pub mod metrics;
pub mod middleware;
pub mod prelude;
pub mod qr;

use askama::Template;
use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

pub use error::AppError;
pub use extract::{Form, Query};
pub use layout::{Layout, NavItem};

/// Renders a template as an HTML page with `status`.
pub fn render_status(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

pub fn render(page: &impl Template) -> Response {
    render_status(StatusCode::OK, page)
}

/// 303 See Other: the post/redirect/get answer to a successful form.
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// A redirect that shows `message` once on the next page.
pub fn flash_redirect(to: &str, kind: FlashKind, message: &str) -> Response {
    let mut resp = see_other(to);
    cookies::set_flash(&mut resp, kind, message);
    resp
}

/// Back to `to` with the outcome of an action: its message as a success, or why it was refused.
pub fn flash_outcome<M: AsRef<str>, E: AsRef<str>>(to: &str, outcome: Result<M, E>) -> Response {
    match outcome {
        Ok(message) => flash_redirect(to, FlashKind::Success, message.as_ref()),
        Err(refused) => flash_redirect(to, FlashKind::Error, refused.as_ref()),
    }
}

/// A record's id from the path; anything that is not one is 404.
pub fn path_id(s: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(s).map_err(|_| AppError::NotFound)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Info => "info",
            FlashKind::Error => "error",
        }
    }
}

/// Accepts only local paths for `next=` redirects: `/x`, never `//host` or `/\host` or a URL.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let n = next?.trim();
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && !n.chars().any(|c| c.is_control() || c == '\\');
    ok.then(|| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(safe_next(Some("/admin?x=1")).as_deref(), Some("/admin?x=1"));
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "evil", "/a\nb", ""] {
            assert_eq!(safe_next(Some(bad)), None, "{bad}");
        }
    }
}
