//! Pure rules: no I/O and no clock. Inputs in, decisions out.

pub mod money;
