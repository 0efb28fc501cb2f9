//! The partner's pages.

use super::views::*;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use crate::{
    auth::{Ctx, Role},
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/partner", get(home)).route("/r/{number}", get(referral_link))
}

/// A partner's referral link: the sign-up form with the partner's number filled in. A number
/// whose check digit is wrong is no link of ours.
async fn referral_link(Path(number): Path<String>) -> Result<Response, AppError> {
    let serial = crate::domain::partner::parse_number(&number).map_err(|_| AppError::NotFound)?;
    let number = crate::domain::partner::number(serial);
    Ok(see_other(&format!("/bli-kund?ref_code={number}")))
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Partner])?;
    let partner_id = user.partner_id.ok_or(AppError::NotFound)?;
    let company = super::repo::company_name(&mut *state.db.acquire().await?, partner_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(render(&PartnerHome { layout: ctx.layout(), company }))
}
