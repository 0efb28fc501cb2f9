//! The claim pages' askama structs and their display helpers.

use askama::Template;

use super::{
    ListRow,
    csv::LineError,
    input::NewClaim,
    web::{ClaimForm, ListQuery},
};
use crate::{
    domain::{lifecycle::ClaimState, money::Sek},
    web::prelude::*,
};

#[derive(Template)]
#[template(path = "claims/new.html")]
pub(crate) struct NewPage {
    pub(crate) layout: Layout,
    pub(crate) form: ClaimForm,
    pub(crate) errors: FieldErrors,
    pub(crate) pending: bool,
    /// Where the form lives: `/borgenar/krav`, or a partner's customer page.
    pub(crate) base: String,
    /// The customer a partner registers the claim for.
    pub(crate) customer: Option<String>,
}

impl NewPage {
    /// The form as a creditor's user sees it.
    pub(crate) fn creditor(
        layout: Layout,
        form: ClaimForm,
        errors: FieldErrors,
        pending: bool,
    ) -> Self {
        NewPage { layout, form, errors, pending, base: "/borgenar/krav".into(), customer: None }
    }
}

#[derive(Template)]
#[template(path = "claims/list.html")]
pub(crate) struct ListPage {
    pub(crate) layout: Layout,
    pub(crate) query: ListQuery,
    pub(crate) errors: FieldErrors,
    pub(crate) rows: Vec<ListRow>,
    pub(crate) total: i64,
    pub(crate) page: u32,
    pub(crate) pages: u32,
    pub(crate) sorts: &'static [(&'static str, &'static str, &'static str)],
    pub(crate) states: &'static [(&'static str, &'static str)],
}

impl ListPage {
    /// The list URL for another page, keeping the filters.
    pub(crate) fn page_link(&self, page: u32) -> String {
        let q = &self.query;
        let page = page.to_string();
        let pairs: Vec<(&str, &str)> = [
            ("state", q.state.as_str()),
            ("q", q.q.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("sort", q.sort.as_str()),
            ("page", page.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        format!("/borgenar/krav?{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
    }
}

#[derive(Template)]
#[template(path = "claims/letter.html")]
pub(crate) struct LetterPage {
    pub(crate) layout: Layout,
    pub(crate) title: &'static str,
    pub(crate) html: String,
    pub(crate) back: String,
    pub(crate) pdf: String,
    /// The claim is closed: the letter's amount is no longer to be paid.
    pub(crate) closed: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "backoffice/claims.html")]
pub(crate) struct StaffSearchPage {
    pub(crate) layout: Layout,
    pub(crate) q: String,
    pub(crate) rows: Vec<super::SearchRow>,
    pub(crate) no_error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "claims/import.html")]
pub(crate) struct ImportPage {
    pub(crate) layout: Layout,
    pub(crate) columns: &'static [(&'static str, bool, &'static str)],
    pub(crate) file_name: String,
    pub(crate) upload_error: Option<String>,
    pub(crate) preview: Option<Preview>,
}

impl super::SearchRow {
    pub(crate) fn state_label(&self) -> &'static str {
        ClaimState::parse(&self.state).map(ClaimState::label).unwrap_or("")
    }
}

/// The CSV import's check, as the import page shows it.
pub(crate) struct Preview {
    pub(crate) import_id: Option<uuid::Uuid>,
    pub(crate) rows: usize,
    pub(crate) total: Sek,
    pub(crate) errors: Vec<LineError>,
    pub(crate) error_count: usize,
    pub(crate) sample: Vec<NewClaim>,
}

impl ListRow {
    pub(crate) fn state_label(&self) -> &'static str {
        ClaimState::parse(&self.state).map(ClaimState::label).unwrap_or("")
    }
}
