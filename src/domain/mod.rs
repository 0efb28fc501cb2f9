//! Pure rules: no I/O and no clock. Inputs in, decisions out. The worked examples of
//! `rules-sweden.md` §4 and `formats.md` §2 are unit tests here.

pub mod bank_account;
pub mod books;
pub mod calendar;
pub mod commission;
pub mod company;
pub mod enforcement;
pub mod fees;
pub mod ids;
pub mod interest;
pub mod lifecycle;
pub mod limitation;
pub mod money;
pub mod ocr;
pub mod partner;
pub mod plan;
pub mod rules;
pub mod statement;
pub mod text;
pub mod wording;
