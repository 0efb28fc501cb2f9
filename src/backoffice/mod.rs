//! The back office for staff (admin, support). It grows with later features; for now: an
//! overview, the reference rates, and the outgoing mail written by the file mailer.

pub mod rates;
mod rules;
pub mod service;
mod staff;
mod texts;
mod views;

use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};
use views::*;

use crate::auth::Ctx;
use crate::{
    auth::{Role, STAFF},
    mail::{self},
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(rates::router())
        .merge(staff::router())
        .merge(rules::router())
        .merge(texts::router())
        .route("/admin", get(home))
        .route("/admin/e-post", get(mail_list))
        .route("/admin/e-post/{file}", get(mail_show))
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let mut conn = state.db.acquire().await?;
    let (creditors_pending, creditors_approved, users) = service::counts(&mut conn).await?;
    let todo = service::todo(&mut conn).await?;
    let today = state.clock.today();
    let missing_rate = state.parameters(&mut conn).await?.rates.missing_half_year(today);
    let d = service::dashboard(&mut conn, today).await?;
    let gate_open = match state.config.freshness_gate {
        true => Some(crate::payments::freshness_open(&mut conn, today).await?),
        false => None,
    };
    let states: Vec<_> = d
        .states
        .iter()
        .map(|(s, n)| {
            let label = crate::domain::lifecycle::ClaimState::parse(s).map(|s| s.label());
            (label.unwrap_or("").to_string(), rust_decimal::Decimal::from(*n))
        })
        .collect();
    let rates: Vec<_> = d
        .rates
        .iter()
        .map(|(k, sent, paid)| (views::step_label(k).to_string(), views::percent(paid, sent)))
        .collect();
    let weeks: Vec<_> = d
        .weeks
        .iter()
        .map(|w| {
            let minutes = w.median_first_response_minutes.unwrap_or(0.0).round() as i64;
            (format!("v. {}", w.week.format("%V")), rust_decimal::Decimal::from(minutes))
        })
        .collect();
    let charts = [
        crate::web::chart::bars(&states, "ärenden"),
        crate::web::chart::bars(&rates, "%"),
        crate::web::chart::bars(&weeks, "min"),
    ];
    Ok(render(&HomePage {
        layout: ctx.layout(),
        creditors_pending,
        creditors_approved,
        users,
        todo,
        missing_rate,
        d,
        gate_open,
        charts,
    }))
}

/// Outgoing mail holds password-reset and invitation links: only admins read it, and even they
/// see those links masked (support could otherwise take over an admin account).
async fn mail_list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(&[Role::Admin])?;
    let dir = state.mailer.file_dir().map(|d| d.to_path_buf());
    let mails = match dir.clone() {
        Some(d) => tokio::task::spawn_blocking(move || mail::list_files(&d))
            .await
            .map_err(anyhow::Error::from)?,
        None => vec![],
    };
    Ok(render(&MailListPage { layout: ctx.layout(), file_mailer: dir.is_some(), mails }))
}

/// Hides the token of every one-time link in a message: password reset, invitation, sign-up
/// confirmation.
pub fn mask_links(text: &str) -> String {
    const MARK: &str = "token=";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MARK) {
        let (before, after) = rest.split_at(i + MARK.len());
        out.push_str(before);
        // Only a link's query parameter (`?token=` or `&token=`) is a secret.
        if !matches!(before.as_bytes().get(i.wrapping_sub(1)), Some(b'?' | b'&')) {
            rest = after;
            continue;
        }
        out.push_str("•••••••• (dold: länken fungerar bara för mottagaren)");
        let end = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_')
            .unwrap_or(after.len());
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

async fn mail_show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(&[Role::Admin])?;
    let Some(dir) = state.mailer.file_dir().map(|d| d.to_path_buf()) else {
        return Err(AppError::NotFound);
    };
    let found = tokio::task::spawn_blocking(move || {
        mail::list_files(&dir).into_iter().find(|m| m.file == file)
    })
    .await
    .map_err(anyhow::Error::from)?;
    let mut mail = found.ok_or(AppError::NotFound)?;
    mail.mail.text = mask_links(&mail.mail.text);
    Ok(render(&MailPage { layout: ctx.layout(), mail }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn password_links_are_masked() {
        let text = "Välj lösenord:\nhttps://fordra.se/losenord/ny?token=abc123DEF\nHälsningar";
        let masked = super::mask_links(text);
        assert!(!masked.contains("abc123DEF"));
        assert!(masked.contains("https://fordra.se/losenord/ny?token=•••"));
        assert!(masked.ends_with("\nHälsningar"));
        // Every one-time link: sign-up confirmation and invitations too, whatever the path.
        let text =
            "https://fordra.se/bli-kund/bekrafta?token=Zz9_-x and https://x.se/a?b=1&token=q1";
        let masked = super::mask_links(text);
        assert!(!masked.contains("Zz9_-x") && !masked.contains("q1"), "{masked}");
        assert!(super::mask_links("my_token=abc").contains("abc"));
    }
}
