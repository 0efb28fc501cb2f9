//! Public start page and the role landing pages.

use askama::Template;
use axum::{Router, extract::State, response::Response, routing::get};

use crate::auth::Ctx;
use crate::{
    auth::Role,
    state::AppState,
    web::{AppError, Layout, filters, render},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(start))
        .route("/borgenar", get(creditor_home))
        .route("/partner", get(partner_home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct StartPage {
    layout: Layout,
}

async fn start(ctx: Ctx) -> Response {
    render(&StartPage {
        layout: ctx.layout(),
    })
}

#[derive(Template)]
#[template(path = "creditors/home.html")]
struct CreditorHome {
    layout: Layout,
    company: String,
    org_nr: String,
    status: String,
    open: i64,
    open_capital: rust_decimal::Decimal,
    blocked: i64,
}

async fn creditor_home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let (_, creditor_id) = ctx.require_creditor()?;
    let (company, org_nr, status): (String, String, String) =
        sqlx::query_as("select name, org_nr, status from creditor where creditor_id = $1")
            .bind(creditor_id)
            .fetch_one(&state.db)
            .await?;
    let (open, open_capital, blocked) =
        crate::claims::open_summary(&mut *state.db.acquire().await?, creditor_id).await?;
    Ok(render(&CreditorHome {
        layout: ctx.layout(),
        org_nr: crate::domain::ids::IdNumber::from_stored(&org_nr).display(),
        company,
        status,
        open,
        open_capital,
        blocked,
    }))
}

#[derive(Template)]
#[template(path = "partners/home.html")]
struct PartnerHome {
    layout: Layout,
    company: String,
}

async fn partner_home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Partner])?;
    let company: String = sqlx::query_scalar("select name from partner where partner_id = $1")
        .bind(user.partner_id)
        .fetch_one(&state.db)
        .await?;
    Ok(render(&PartnerHome {
        layout: ctx.layout(),
        company,
    }))
}
