//! Integration tests: real HTTP against the real router on a real PostgreSQL.

mod access;
mod api;
mod backoffice;
mod browser;
mod calculator;
mod claims_web;
mod cluster;
mod commission;
mod edges;
mod engine;
mod foundation;
mod harness;
mod hostile;
mod instances;
mod layout;
mod mail_outage;
mod mina_sidor;
mod onboarding;
mod partner_registration;
mod partners;
mod payments;
mod serve;
mod smtp;
mod webhooks;
mod world;
