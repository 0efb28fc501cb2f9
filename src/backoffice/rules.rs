//! `/admin/regler`: the rule parameters (fees, interest margin, deadlines, commission, payout
//! and plan limits) as effective-dated versions. Staff see them; admins publish a version from
//! a future date, correct or withdraw one that has not taken effect. The past is never changed:
//! every letter keeps the version it was written under.

use std::collections::BTreeMap;

use askama::Template;
use axum::{
    Router,
    extract::{Path, State},
    response::Response,
    routing::{get, post},
};
use chrono::NaiveDate;

use crate::{
    auth::{Ctx, Role, STAFF},
    domain::rules::{FIELDS, Field, FieldKind, RuleSet},
    parameters,
    state::AppState,
    web::{Form, Query, forms::parse_date, prelude::*},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/regler", get(page).post(publish))
        .route("/admin/regler/{date}/ta-bort", post(withdraw))
}

/// A version's state on the business date.
pub fn state_label(
    valid_from: &NaiveDate,
    in_force: &NaiveDate,
    today: &NaiveDate,
) -> &'static str {
    if valid_from > today {
        "Kommande"
    } else if valid_from == in_force {
        "Gäller"
    } else {
        "Tidigare"
    }
}

#[derive(Template)]
#[template(path = "backoffice/rules.html")]
struct RulesPage {
    layout: Layout,
    versions: Vec<parameters::Version>,
    today: NaiveDate,
    in_force: NaiveDate,
    can_edit: bool,
    /// The form: the date, a note, and every field's text.
    from: String,
    note: String,
    values: BTreeMap<String, String>,
    errors: FieldErrors,
    groups: Vec<(&'static str, Vec<&'static Field>)>,
    industries: &'static [(&'static str, &'static str, bool)],
}

impl RulesPage {
    fn value(&self, key: &str) -> &str {
        self.values.get(key).map(String::as_str).unwrap_or("")
    }

    fn unit(&self, f: &Field) -> &'static str {
        match f.kind {
            FieldKind::Money { .. } => "kr",
            FieldKind::Percent => "%",
            FieldKind::Count { unit, .. } => unit,
            FieldKind::DayCount => "",
        }
    }

    fn refuses(&self, code: &str) -> bool {
        self.value(&format!("refused_industry.{code}")) == "on"
    }

    fn is_day_count(&self, f: &Field) -> bool {
        f.kind == FieldKind::DayCount
    }
}

/// The fields by group, in form order.
fn groups() -> Vec<(&'static str, Vec<&'static Field>)> {
    let mut groups: Vec<(&'static str, Vec<&'static Field>)> = vec![];
    for f in FIELDS {
        match groups.last_mut() {
            Some((g, fields)) if *g == f.group => fields.push(f),
            _ => groups.push((f.group, vec![f])),
        }
    }
    groups
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PageQuery {
    fran: String,
}

async fn view(
    state: &AppState,
    ctx: &Ctx,
    form: Option<(String, String, BTreeMap<String, String>)>,
    errors: FieldErrors,
    prefill_from: Option<NaiveDate>,
) -> Result<Response, AppError> {
    let user = ctx.require(STAFF)?;
    let today = state.clock.today();
    let mut conn = state.db.acquire().await?;
    let params = parameters::load(&mut conn).await?;
    let in_force = params.book.in_force(today).valid_from;
    let (from, note, values) = match form {
        Some(f) => f,
        None => {
            let from =
                prefill_from.filter(|d| *d > today).unwrap_or(today.succ_opt().unwrap_or(today));
            let base = params.book.in_force(from);
            let mut values: BTreeMap<String, String> =
                FIELDS.iter().map(|f| (f.key.to_string(), base.field_text(f.key))).collect();
            for code in &base.refused_industries {
                values.insert(format!("refused_industry.{code}"), "on".into());
            }
            (from.to_string(), String::new(), values)
        }
    };
    let page = RulesPage {
        layout: ctx.layout(),
        versions: parameters::versions(&mut conn).await?,
        today,
        in_force,
        can_edit: user.role == Role::Admin,
        from,
        note,
        values,
        errors,
        groups: groups(),
        industries: crate::creditors::onboarding::INDUSTRIES,
    };
    let status = page.errors.status();
    Ok(render_status(status, &page))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    view(&state, &ctx, None, FieldErrors::default(), parse_date(&q.fran)).await
}

async fn publish(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(mut form): Form<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let from_text = form.remove("valid_from").unwrap_or_default();
    let note = form.remove("note").unwrap_or_default();
    form.remove("csrf_token");
    let mut errors = FieldErrors::default();
    if note.chars().count() > 300 {
        errors.add("note", "Skriv högst 300 tecken.");
    }
    let Some(from) = parse_date(&from_text) else {
        errors.add("valid_from", "Ange datumet som ÅÅÅÅ-MM-DD.");
        return view(&state, &ctx, Some((from_text, note, form)), errors, None).await;
    };
    let mut conn = state.db.acquire().await?;
    let base: RuleSet = parameters::load(&mut conn).await?.book.in_force(from).clone();
    let set = match base.edited(from, &form) {
        Ok(set) if errors.is_empty() => set,
        Ok(_) => {
            drop(conn);
            return view(&state, &ctx, Some((from_text, note, form)), errors, None).await;
        }
        Err(bad) => {
            for (key, message) in bad {
                errors.add(key, message);
            }
            drop(conn);
            return view(&state, &ctx, Some((from_text, note, form)), errors, None).await;
        }
    };
    let by = ctx.acting(user, &state.clock);
    match super::service::publish_rules(&mut conn, &set, &note, &by).await? {
        Ok(()) => {
            state.params.invalidate();
            Ok(flash_redirect(
                "/admin/regler",
                FlashKind::Success,
                &format!(
                    "Reglerna från {from} är sparade. Brev som redan skickats behåller sina värden."
                ),
            ))
        }
        Err((field, why)) => {
            errors.add(field, why);
            drop(conn);
            view(&state, &ctx, Some((from_text, note, form)), errors, None).await
        }
    }
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(date): Path<String>,
) -> Result<Response, AppError> {
    let user = ctx.require(&[Role::Admin])?;
    let date = parse_date(&date).ok_or(AppError::NotFound)?;
    let by = ctx.acting(user, &state.clock);
    let gone = super::service::withdraw_rules(&mut *state.db.acquire().await?, date, &by).await?;
    state.params.invalidate();
    let outcome = if gone {
        Ok(format!("Reglerna från {date} är borttagna innan de börjat gälla."))
    } else {
        Err("Bara regler som ännu inte börjat gälla kan tas bort.".to_string())
    };
    Ok(flash_outcome("/admin/regler", outcome))
}
