//! The partner programme: accounting firms that bring creditors and earn commission on paid
//! fees. Today the partner's home page, partners and their customers from the command line;
//! registration, the portal, commission and statements come here next.

mod agreement;
pub mod commission;
mod register;
pub mod registration;
mod repo;
mod routes;
pub mod service;
pub mod statement;
mod views;

pub use routes::router;
