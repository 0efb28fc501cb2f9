//! The partner programme: accounting firms that bring creditors and earn commission on paid
//! fees. Today the partner's home page; registration, customers, commission and statements
//! come here next.

mod repo;
mod routes;
mod views;

pub use routes::router;
