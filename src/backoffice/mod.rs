//! The back office for staff (admin, support). It grows with later features; for now: an
//! overview and the outgoing mail written by the file mailer.

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::get,
};

use crate::{
    auth::Role,
    mail::{self, StoredMail},
    state::AppState,
    web::{AppError, Ctx, Layout, filters, render},
};

pub const STAFF: &[Role] = &[Role::Admin, Role::Support];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/e-post", get(mail_list))
        .route("/admin/e-post/{file}", get(mail_show))
}

#[derive(Template)]
#[template(path = "backoffice/home.html")]
struct HomePage {
    layout: Layout,
    creditors_pending: i64,
    creditors_approved: i64,
    users: i64,
}

async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let (creditors_pending, creditors_approved, users): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from creditor where status = 'pending'),
                (select count(*) from creditor where status = 'approved'),
                (select count(*) from app_user where disabled_at is null)",
    )
    .fetch_one(&state.db)
    .await?;
    Ok(render(&HomePage {
        layout: ctx.layout(),
        creditors_pending,
        creditors_approved,
        users,
    }))
}

#[derive(Template)]
#[template(path = "backoffice/mail_list.html")]
struct MailListPage {
    layout: Layout,
    file_mailer: bool,
    mails: Vec<StoredMail>,
}

async fn mail_list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let dir = state.mailer.file_dir().map(|d| d.to_path_buf());
    let mails = match dir.clone() {
        Some(d) => tokio::task::spawn_blocking(move || mail::list_files(&d))
            .await
            .map_err(anyhow::Error::from)?,
        None => vec![],
    };
    Ok(render(&MailListPage {
        layout: ctx.layout(),
        file_mailer: dir.is_some(),
        mails,
    }))
}

#[derive(Template)]
#[template(path = "backoffice/mail_show.html")]
struct MailPage {
    layout: Layout,
    mail: StoredMail,
}

async fn mail_show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(STAFF)?;
    let Some(dir) = state.mailer.file_dir().map(|d| d.to_path_buf()) else {
        return Err(AppError::NotFound);
    };
    let found = tokio::task::spawn_blocking(move || {
        mail::list_files(&dir).into_iter().find(|m| m.file == file)
    })
    .await
    .map_err(anyhow::Error::from)?;
    let mail = found.ok_or(AppError::NotFound)?;
    Ok(render(&MailPage {
        layout: ctx.layout(),
        mail,
    }))
}
