//! The public start page and the privacy page (what Fordra keeps, why, and for how long).

use askama::Template;
use axum::{Router, extract::State, response::Response, routing::get};

use crate::auth::Ctx;
use crate::{
    domain::rules::RuleSet,
    state::AppState,
    web::{AppError, Layout, render},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(start)).route("/integritet", get(privacy))
}

#[derive(Template)]
#[template(path = "home.html")]
struct StartPage {
    layout: Layout,
}

async fn start(ctx: Ctx) -> Response {
    render(&StartPage { layout: ctx.layout() })
}

#[derive(Template)]
#[template(path = "public/privacy.html")]
struct PrivacyPage {
    layout: Layout,
    rules: RuleSet,
    controller: String,
}

/// The retention periods are the rule parameters in force today.
async fn privacy(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let params = state.parameters(&mut *state.db.acquire().await?).await?;
    let rules = params.book.in_force(state.clock.today()).clone();
    let controller = format!("{} ({})", state.config.identity.name, state.config.identity.org_nr);
    Ok(render(&PrivacyPage { layout: ctx.layout(), rules, controller }))
}
