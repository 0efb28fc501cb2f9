//! The public interest calculator (`/rantekalkylator`) and the `fordra interest` command: late
//! interest per rate period for the days from..to inclusive.

use crate::auth::Ctx;
use crate::web::extract::Query;
use askama::Template;
use axum::{Router, extract::State, http::StatusCode, response::Response, routing::get};
use chrono::NaiveDate;
use serde::Deserialize;

use crate::{
    domain::{
        interest::{Interest, InterestError, Terms, late_interest},
        money::Sek,
        rules::DayCount,
    },
    parameters::Parameters,
    state::AppState,
    web::prelude::*,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/rantekalkylator", get(page))
}

/// Validated calculator input.
pub struct Request {
    pub capital: Sek,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Parses the three fields; every error is a Swedish message on its field.
pub fn validate(capital: &str, from: &str, to: &str) -> Result<Request, FieldErrors> {
    let mut errors = FieldErrors::default();
    let capital = match Sek::parse(capital) {
        Ok(c) if c.is_positive() => Some(c),
        Ok(_) => {
            errors.add("capital", "Kapitalbeloppet måste vara större än noll.");
            None
        }
        Err(e) => {
            errors.add("capital", e.to_string());
            None
        }
    };
    let from_d = crate::web::forms::parse_date(from);
    if from_d.is_none() {
        errors.add("from", "Ange första räntedag som ÅÅÅÅ-MM-DD.");
    }
    let to_d = crate::web::forms::parse_date(to);
    if to_d.is_none() {
        errors.add("to", "Ange sista räntedag som ÅÅÅÅ-MM-DD.");
    }
    if let (Some(f), Some(t)) = (from_d, to_d)
        && t < f
    {
        errors.add("to", "Sista räntedagen kan inte vara före den första.");
    }
    match (capital, from_d, to_d) {
        (Some(capital), Some(from), Some(to)) if errors.is_empty() => {
            Ok(Request { capital, from, to })
        }
        _ => Err(errors),
    }
}

pub fn compute(p: &Parameters, r: &Request) -> Result<Interest, InterestError> {
    let rules = p.book.in_force(r.from);
    let terms = Terms { rates: &p.rates, margin: rules.interest_margin, basis: rules.day_count };
    late_interest(r.capital, (r.from, r.to), terms)
}

#[derive(Deserialize, Default)]
struct Form {
    capital: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "calculator.html")]
struct Page {
    layout: Layout,
    capital: String,
    from: String,
    to: String,
    errors: FieldErrors,
    result: Option<Interest>,
    basis: &'static str,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(form): Query<Form>,
) -> Result<Response, AppError> {
    let submitted = form.capital.is_some() || form.from.is_some() || form.to.is_some();
    let (capital, from, to) = (
        form.capital.unwrap_or_default(),
        form.from.unwrap_or_default(),
        form.to.unwrap_or_default(),
    );
    let mut page = Page {
        layout: ctx.layout(),
        capital: capital.clone(),
        from: from.clone(),
        to: to.clone(),
        errors: FieldErrors::default(),
        result: None,
        basis: "",
    };
    if !submitted {
        return Ok(render(&page));
    }
    let request = match validate(&capital, &from, &to) {
        Ok(r) => r,
        Err(errors) => {
            page.errors = errors;
            return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let mut conn = state.db.acquire().await?;
    let params = state.parameters(&mut conn).await?;
    match compute(&params, &request) {
        Ok(interest) => {
            page.basis = match params.book.in_force(request.from).day_count {
                DayCount::Actual365 => "faktiska dagar / 365",
                DayCount::ActualActual => "faktiska dagar / 365 eller 366",
            };
            page.result = Some(interest);
            Ok(render(&page))
        }
        Err(InterestError::NoRate(date)) => {
            page.errors.add(
                "from",
                format!("Referensränta saknas för {date}. Räntan kan bara beräknas för perioder med fastställd referensränta."),
            );
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// The lines `fordra interest` prints.
pub fn report(interest: &Interest) -> String {
    let mut out = String::new();
    for s in &interest.segments {
        out.push_str(&format!(
            "{}..{} {:>3} days {:>6}% {}\n",
            s.from,
            s.to,
            s.days,
            format!("{:.2}", s.rate_percent),
            s.amount().to_plain()
        ));
    }
    out.push_str(&format!("total {}\n", interest.total.to_plain()));
    out
}
