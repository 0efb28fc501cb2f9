//! The pages' askama structs and their display helpers.

use crate::web::prelude::*;
use askama::Template;

#[derive(Template)]
#[template(path = "partners/home.html")]
pub(super) struct PartnerHome {
    pub(super) layout: Layout,
    pub(super) company: String,
}
