//! Integration tests: real HTTP against the real router on a real PostgreSQL.

mod browser;
mod calculator;
mod cluster;
mod engine;
mod foundation;
mod harness;
mod serve;
mod smtp;
