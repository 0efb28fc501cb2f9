//! What a page handler needs from the plumbing, in one import: `use crate::web::prelude::*;`.

pub use super::{
    AppError, FlashKind, Layout, filters, flash_outcome, flash_redirect, forms::FieldErrors,
    path_id, render, render_status, see_other,
};
