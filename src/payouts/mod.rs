//! Money going out: settlements of collected capital to creditors, refunds of overpayments,
//! payout batches approved by admins and exported as pain.001, and settlement notes.

pub mod pain001;
pub mod repo;
pub mod routes;
pub mod service;
mod views;

pub use routes::router;
