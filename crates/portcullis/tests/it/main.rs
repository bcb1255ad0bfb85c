//! Integration tests: a real server per test, over HTTP. One binary (one
//! link step); each module is one area. Every test runs on the backend
//! `PORTCULLIS_TEST_DATABASE_URL` selects (SQLite when unset).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod admin;
mod audit_log;
mod audit_writes;
mod bad_input;
mod browser;
mod cli;
mod csrf_routes;
mod db_round_trips;
mod federation;
mod mail;
mod metrics_tls;
mod mfa;
mod migrations;
mod oidc_bad_input;
mod oidc_flow;
mod oidc_rules;
mod oidc_support;
mod oidc_tokens;
mod security;
mod sessions;
mod slow_clients;
mod util;
