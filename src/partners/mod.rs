//! The partner programme: accounting firms that bring creditors and earn commission on paid
//! fees: registration with a BankID-signed agreement, customers and referrals, commission
//! booked as fees are paid, quarterly statements and their payouts.

mod agreement;
mod customers;
mod help;
mod provision;
mod register;
pub mod registration;
mod repo;
mod routes;
pub mod service;
pub mod statement;
mod views;

pub use routes::router;
