//! CSV import in the browser: upload, a preview with every error by line and column, then an
//! all-or-nothing commit of the previewed file (validated again at commit time).

use super::views::*;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Multipart, Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use uuid::Uuid;

use super::{
    csv::{self, COLUMNS},
    service::{self, Checked, Committed},
};
use crate::auth::Ctx;
use crate::web::extract::upload_failure;
use crate::{state::AppState, web::prelude::*};

/// Uploads up to this size (a 20,000-row file is about 4 MB).
const MAX_UPLOAD: usize = 8 * 1024 * 1024;
/// Errors listed on the preview; the count says how many more there are.
const SHOWN_ERRORS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/borgenar/krav/import",
            get(upload_form).post(preview).layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
        .route("/borgenar/krav/import/{id}", post(commit))
        .route("/borgenar/krav/mall.csv", get(template))
}

fn page(ctx: &Ctx) -> ImportPage {
    ImportPage {
        layout: ctx.layout(),
        columns: COLUMNS,
        file_name: String::new(),
        upload_error: None,
        preview: None,
    }
}

async fn upload_form(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require_creditor()?;
    Ok(render(&page(&ctx)))
}

async fn template(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require_creditor()?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"fordra-mall.csv\""),
        ],
        csv::template(),
    )
        .into_response())
}

fn preview_of(checked: Checked, import_id: Option<Uuid>) -> Preview {
    let error_count = checked.errors.len();
    let mut errors = checked.errors;
    errors.truncate(SHOWN_ERRORS);
    Preview {
        import_id,
        rows: checked.rows,
        total: checked.total,
        errors,
        error_count,
        sample: checked.claims.into_iter().take(10).collect(),
    }
}

async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                let mut p = page(&ctx);
                p.upload_error = Some(message);
                return Ok(render_status(status, &p));
            }
        };
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = match field.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    let (status, message) = upload_failure(&e, MAX_UPLOAD / 1024 / 1024);
                    let mut p = page(&ctx);
                    p.upload_error = Some(message);
                    return Ok(render_status(status, &p));
                }
            };
            file = Some((name, bytes.to_vec()));
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let mut p = page(&ctx);
        p.upload_error = Some("Välj en CSV-fil att ladda upp.".into());
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    };
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    let checked = service::check(&mut conn, creditor_id, &bytes, today, &params).await?;
    let mut p = page(&ctx);
    p.file_name = file_name.clone();
    if !checked.errors.is_empty() {
        p.preview = Some(preview_of(checked, None));
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
    }
    // Keep the checked file until it is confirmed; the commit reads exactly these bytes.
    let stored = (file_name.as_str(), bytes.as_slice(), checked.rows);
    let id =
        service::store_import(&mut conn, creditor_id, user.id, stored, state.clock.now()).await?;
    p.preview = Some(preview_of(checked, Some(id)));
    Ok(render(&p))
}

async fn commit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (user, creditor_id) = ctx.require_creditor()?;
    let id = path_id(&id)?;
    let by = ctx.acting(user, &state.clock);
    let mut conn = state.db.acquire().await?;
    let (file_name, checked) =
        match service::commit_import(&mut conn, &state.params, id, creditor_id, &by).await? {
            Committed::Done { file_name, checked } => (file_name, checked),
            Committed::Already => {
                return Ok(flash_redirect(
                    "/borgenar/krav",
                    FlashKind::Info,
                    "Filen är redan importerad.",
                ));
            }
            Committed::Refused { file_name, checked } => {
                let mut p = page(&ctx);
                p.file_name = file_name;
                p.preview = Some(preview_of(checked, None));
                return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &p));
            }
        };
    Ok(flash_redirect(
        "/borgenar/krav",
        FlashKind::Success,
        &format!(
            "{} fordringar importerade från {file_name}, sammanlagt {}.",
            checked.claims.len(),
            checked.total
        ),
    ))
}
