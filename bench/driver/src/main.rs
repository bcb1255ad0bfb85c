//! The Portcullis benchmark driver, called by `bench/run`.
//!
//! wrk measures the endpoints it can express (one request at a time, with a
//! Lua script for bodies and per-request tokens). This binary does the rest:
//!
//! - `serve`: starts the server and measures the time to a 200 on `/readyz`;
//! - `tokens`: signs browsers in and runs authorization-code flows to
//!   pre-issue refresh and access tokens for the wrk scripts;
//! - `authcode`: the whole authorization-code flow (authorize, code, token)
//!   for signed-in users, per second;
//! - `signin`: a sign-in flood (bcrypt-bound) with latency probes of
//!   `GET /jwks` and `client_credentials` before and during it;
//! - `crypto`: this machine's single-thread RSA-2048 signing rate and bcrypt
//!   rate at the configured cost;
//! - `report`: the JSON and markdown results from the pieces.

mod cpu;
mod crypto;
mod flows;
mod report;
mod serve;
mod stats;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bench-driver", about = "Portcullis benchmark driver")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (the command after `--`), wait for 200 on /readyz,
    /// print {"pid", "ready_ms"} and leave it running.
    Serve(serve::ServeArgs),
    /// Pre-issue tokens through real authorization-code flows.
    Tokens(flows::TokensArgs),
    /// Authorization-code flows per second for signed-in users.
    Authcode(flows::AuthcodeArgs),
    /// Sign-ins per second, with /jwks and client_credentials latency probes.
    Signin(flows::SigninArgs),
    /// Single-thread RSA-2048 signing and bcrypt rates.
    Crypto(crypto::CryptoArgs),
    /// Assemble the results directory into JSON and markdown.
    Report(report::ReportArgs),
}

/// Where the server is and who the benchmark signs in as.
#[derive(Debug, Clone, Args)]
pub struct Target {
    /// Base URL of the server (also its issuer).
    #[arg(long)]
    pub url: String,
    /// Confidential client with the authorization_code grant.
    #[arg(long)]
    pub client_id: String,
    #[arg(long)]
    pub client_secret: String,
    #[arg(long)]
    pub redirect_uri: String,
    /// Accounts to sign in as (repeatable).
    #[arg(long = "email", required = true)]
    pub emails: Vec<String>,
    #[arg(long)]
    pub password: String,
}

/// Writes `value` as pretty JSON to `path`, or to stdout when `None`.
pub fn write_json(path: Option<&PathBuf>, value: &serde_json::Value) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    match path {
        Some(p) => std::fs::write(p, text + "\n")?,
        None => println!("{text}"),
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => serve::run(a),
        Command::Crypto(a) => crypto::run(a),
        Command::Report(a) => report::run(a),
        Command::Tokens(a) => runtime().and_then(|rt| rt.block_on(flows::tokens(a))),
        Command::Authcode(a) => runtime().and_then(|rt| rt.block_on(flows::authcode(a))),
        Command::Signin(a) => runtime().and_then(|rt| rt.block_on(flows::signin(a))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-driver: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// One thread: the driver shares two cores with the server, and a single
/// thread of async HTTP is plenty for the rates these flows reach.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
