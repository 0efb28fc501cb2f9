//! The public start page.

use askama::Template;
use axum::{Router, response::Response, routing::get};

use crate::auth::Ctx;
use crate::{
    state::AppState,
    web::{Layout, render},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(start))
}

#[derive(Template)]
#[template(path = "home.html")]
struct StartPage {
    layout: Layout,
}

async fn start(ctx: Ctx) -> Response {
    render(&StartPage { layout: ctx.layout() })
}
