//! The two cookies Fordra sets: the session and a one-shot flash message.

use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};

use super::FlashKind;

pub const SESSION: &str = "fordra_session";
pub const FLASH: &str = "fordra_flash";
/// The debtor's Mina sidor session (BankID), separate from staff and creditor sessions.
pub const DEBTOR: &str = "fordra_mina";
/// Binds a BankID order to the browser that started it.
pub const BANKID: &str = "fordra_bankid";

pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn append(resp: &mut Response, cookie: String) {
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub fn set_session(resp: &mut Response, token: &str, secure: bool) {
    set_named(resp, SESSION, token, secure);
}

pub fn clear_session(resp: &mut Response) {
    clear_named(resp, SESSION);
}

/// An HttpOnly, SameSite=Lax cookie for the whole site.
pub fn set_named(resp: &mut Response, name: &str, token: &str, secure: bool) {
    let secure = if secure { "; Secure" } else { "" };
    append(resp, format!("{name}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"));
}

pub fn clear_named(resp: &mut Response, name: &str) {
    append(resp, format!("{name}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
}

pub fn set_flash(resp: &mut Response, kind: FlashKind, message: &str) {
    let value: String = serde_urlencoded::to_string([(kind.as_str(), message)]).unwrap_or_default();
    append(resp, format!("{FLASH}={value}; Path=/; HttpOnly; SameSite=Lax"));
}

pub fn clear_flash(resp: &mut Response) {
    append(resp, format!("{FLASH}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
}

/// Decodes a flash cookie value into (kind, message).
pub fn parse_flash(value: &str) -> Option<(FlashKind, String)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(value).ok()?;
    let (k, msg) = pairs.into_iter().next()?;
    let kind = match k.as_str() {
        "success" => FlashKind::Success,
        "error" => FlashKind::Error,
        _ => FlashKind::Info,
    };
    Some((kind, msg.chars().take(300).collect()))
}
