//! The Portcullis binary's library half: CLI, logging, start-up and the
//! HTTP server wiring, shared by `main.rs` and the test kit.

pub mod backup;
pub mod bootstrap;
pub mod cli;
pub mod cli_admin;
pub mod cli_clients;
pub mod cli_mfa;
pub mod logging;
pub mod mailer;
pub mod server;
pub mod tls;
