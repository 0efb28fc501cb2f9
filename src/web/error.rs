//! One error type for handlers. It renders as a page inside the site layout, with the request id
//! and never any internals; server-side failures are logged with the id.

use askama::Template;
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

use super::{Layout, see_other};

tokio::task_local! {
    pub static REQUEST_ID: String;
}

/// The id of the request being handled, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".into())
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// Not logged in: redirect to the login page, then back to this local path.
    #[error("login required")]
    LoginRequired(String),
    /// Mina sidor without a debtor session: BankID login, then back to this local path.
    #[error("debtor login required")]
    DebtorLoginRequired(String),
    /// The request could not be verified as coming from Fordra's own pages.
    #[error("cross-site request refused")]
    CrossSite,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Input refused by the extraction rules (NUL, control characters, length, encoding).
    #[error("input refused: {}", .0.message)]
    Input(super::extract::InputRejection),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub title: &'static str,
    pub message: String,
    pub request_id: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> ErrorPage {
        ErrorPage {
            layout: Layout::bare(),
            status: status.as_u16(),
            title,
            message: message.into(),
            request_id: current_request_id(),
        }
    }

    pub fn into_response_with(self, status: StatusCode) -> Response {
        match self.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, "Fel").into_response(),
        }
    }
}

pub fn internal_error_page() -> Response {
    ErrorPage::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Något gick fel",
        "Ett oväntat fel inträffade. Försök igen om en stund. Kontakta oss och ange felkoden om problemet kvarstår.",
    )
    .into_response_with(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn not_found_page() -> Response {
    ErrorPage::new(
        StatusCode::NOT_FOUND,
        "Sidan finns inte",
        "Sidan du söker finns inte, eller så saknar du behörighet att se den.",
    )
    .into_response_with(StatusCode::NOT_FOUND)
}

impl From<super::extract::InputRejection> for AppError {
    fn from(r: super::extract::InputRejection) -> AppError {
        AppError::Input(r)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::NotFound => not_found_page(),
            AppError::Forbidden => ErrorPage::new(
                StatusCode::FORBIDDEN,
                "Åtkomst nekad",
                "Du har inte behörighet till den här sidan.",
            )
            .into_response_with(StatusCode::FORBIDDEN),
            AppError::CrossSite => ErrorPage::new(
                StatusCode::FORBIDDEN,
                "Begäran kunde inte verifieras",
                "Formuläret skickades inte från Fordras egna sidor. Ladda om sidan och försök igen.",
            )
            .into_response_with(StatusCode::FORBIDDEN),
            AppError::LoginRequired(next) => {
                let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                see_other(&format!("/logga-in?{q}"))
            }
            AppError::DebtorLoginRequired(next) => {
                let q = serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default();
                see_other(&format!("/mina-sidor/logga-in?{q}"))
            }
            AppError::Input(rejection) => rejection.into_response(),
            AppError::BadRequest(msg) => {
                ErrorPage::new(StatusCode::BAD_REQUEST, "Felaktig begäran", msg)
                    .into_response_with(StatusCode::BAD_REQUEST)
            }
            AppError::Db(e) => {
                tracing::error!(request_id = %current_request_id(), error = %e, "database error");
                internal_error_page()
            }
            AppError::Internal(e) => {
                tracing::error!(request_id = %current_request_id(), error = format!("{e:#}"), "internal error");
                internal_error_page()
            }
        }
    }
}
