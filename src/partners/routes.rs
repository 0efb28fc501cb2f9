//! The partner's pages.

use super::views::*;
use axum::{Router, extract::State, response::Response, routing::get};

use crate::{
    auth::{Ctx, Role},
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/partner", get(home))
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Partner])?;
    let partner_id = user.partner_id.ok_or(AppError::NotFound)?;
    let company = super::repo::company_name(&mut *state.db.acquire().await?, partner_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(render(&PartnerHome { layout: ctx.layout(), company }))
}
