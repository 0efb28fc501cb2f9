//! Fordra: a Swedish debt-collection platform. One binary serves server-rendered HTML and a JSON
//! API and runs the lifecycle engine; everything is stored in PostgreSQL.

pub mod api;
pub mod audit;
pub mod auth;
pub mod backoffice;
pub mod bankid;
pub mod calculator;
pub mod claim_page;
pub mod claims;
pub mod cli;
pub mod clock;
pub mod config;
pub mod creditors;
pub mod crypto;
pub mod db;
pub mod debtors;
pub mod demo;
pub mod disputes;
pub mod domain;
pub mod enforcement;
pub mod engine;
pub mod home;
pub mod letters;
pub mod mail;

pub mod parameters;
pub mod partners;
pub mod payments;
pub mod payouts;
pub mod plans;
pub mod retention;
pub mod startup;
pub mod state;
pub mod terms;
pub mod tickets;
pub mod verify;
pub mod web;
pub mod webhooks;
