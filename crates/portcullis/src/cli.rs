//! The command line: `serve`, `migrate`, `users ...`, `check-config`.
//! Every command reads the same configuration. Errors go to stderr with a
//! non-zero exit and no backtrace.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use core_auth::actor::Actor;
use core_auth::admin;
use core_auth::config::LogFormat;
use core_auth::db::migrate;
use core_auth::keys::store;
use core_auth::secret::Secret;
use core_auth::users::{self, NewUser};
use core_auth::{Clock, Config, CoreError, SystemClock};

use crate::cli_admin::Operator;
use crate::{bootstrap, logging, server};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "An OAuth2 / OpenID Connect identity provider in one binary"
)]
pub struct Cli {
    /// Configuration file (default: ./portcullis.toml when present).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log format; overrides `log_format` in the configuration.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormatArg>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage OAuth clients (relying parties).
    #[command(subcommand)]
    Clients(crate::cli_clients::ClientsCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage roles (built-in: user, admin).
    #[command(subcommand)]
    Roles(crate::cli_admin::RolesCommand),
    /// Manage groups, which carry roles.
    #[command(subcommand)]
    Groups(crate::cli_admin::GroupsCommand),
    /// Read the security audit log, newest first, as JSON lines.
    Audit(crate::cli_admin::AuditArgs),
    /// Delete expired rows now, run after run (each in bounded batches, as
    /// the server's background job does) until nothing is left to delete.
    /// Prints what each table lost, as JSON.
    Prune,
    /// Copy the SQLite database to FILE while the server runs (and the
    /// key-encryption key beside it, when it is a file).
    Backup { file: PathBuf },
    /// Check the configuration and say what is wrong, without starting.
    CheckConfig,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their state.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Activate the next key of every algorithm now (it is already published)
    /// and create a new next key.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create an account; prints its id and email as JSON.
    Create(CreateUser),
    /// List accounts.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// An account's second factors: list, reset, require, remove.
    #[command(subcommand)]
    Mfa(crate::cli_mfa::MfaCommand),
    /// Account administration: roles, disable, delete, throttles.
    #[command(flatten)]
    Admin(crate::cli_admin::UserAdminCommand),
}

#[derive(Debug, Args)]
pub struct CreateUser {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    /// A role to grant (repeatable), e.g. `--role admin`.
    #[arg(long = "role")]
    pub roles: Vec<String>,
    /// Read the password from the first line of standard input.
    #[arg(long, required = true)]
    pub password_stdin: bool,
    /// Mark the email address as verified.
    #[arg(long)]
    pub verified: bool,
}

/// A failure the user can act on: printed as one line, exit 1.
#[derive(Debug)]
pub struct UserError(pub String);

impl From<CoreError> for UserError {
    fn from(e: CoreError) -> Self {
        UserError(match e {
            CoreError::Validation(v) => {
                v.0.iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            CoreError::EmailTaken => "an account with this email already exists".into(),
            other => other.to_string(),
        })
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(UserError(msg)) => {
            let _ = writeln!(std::io::stderr(), "error: {msg}");
            ExitCode::FAILURE
        }
    }
}

pub fn load_config(cli: &Cli) -> Result<Config, UserError> {
    let mut cfg = Config::load(cli.config.as_deref(), std::env::vars())?;
    if let Some(f) = cli.log_format {
        cfg.log_format = match f {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    Ok(cfg)
}

pub fn run(cli: Cli) -> Result<(), UserError> {
    let cfg = load_config(&cli)?;
    match cli.command {
        Command::Serve => serve(cfg),
        Command::Migrate => {
            logging::init(cfg.log_format, &cfg.log_level);
            let pool = bootstrap::open_database(&cfg)?;
            let mut conn = pool.get().map_err(CoreError::from)?;
            let pending = migrate::pending(&mut conn)?;
            println!("database is up to date ({} pending)", pending.len());
            Ok(())
        }
        Command::CheckConfig => {
            if cfg.tls.enabled() {
                // The certificate and key must load, as they must at start.
                crate::tls::server_config(&cfg.tls)?;
            }
            println!("configuration is valid");
            println!("  issuer:       {}", cfg.issuer);
            println!("  bind:         {}", cfg.bind);
            println!("  database_url: {}", redact_url(&cfg.database_url));
            println!("  data_dir:     {}", cfg.data_dir.display());
            Ok(())
        }
        Command::Users(cmd) => users_command(cfg, cmd),
        Command::Clients(cmd) => crate::cli_clients::clients_command(cfg, cmd),
        Command::Keys(cmd) => keys_command(cfg, cmd),
        Command::Roles(cmd) => crate::cli_admin::roles_command(cfg, cmd),
        Command::Groups(cmd) => crate::cli_admin::groups_command(cfg, cmd),
        Command::Audit(args) => crate::cli_admin::audit_command(cfg, args),
        Command::Backup { file } => crate::backup::run(&cfg, &file),
        Command::Prune => prune_command(cfg),
    }
}

fn prune_command(cfg: Config) -> Result<(), UserError> {
    let pool = bootstrap::open_database(&cfg)?;
    let mut conn = pool.get().map_err(core_auth::CoreError::from)?;
    let horizons = core_auth::prune::Horizons::from_config(&cfg);
    let limits = core_auth::prune::Limits::from_config(&cfg);
    let mut total: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut runs = 0u64;
    loop {
        let now = SystemClock.now();
        let report = core_auth::prune::run(&mut conn, now, horizons, limits)?;
        runs += 1;
        for (table, n) in &report.0 {
            *total.entry(table).or_default() += n;
        }
        if report.total() == 0 {
            break;
        }
    }
    let out = serde_json::json!({ "runs": runs, "deleted": total });
    println!("{out}");
    Ok(())
}

fn users_command(cfg: Config, cmd: UsersCommand) -> Result<(), UserError> {
    let now = SystemClock.now();
    match cmd {
        UsersCommand::Admin(c) => crate::cli_admin::user_admin(&Operator::open(cfg)?, c, now),
        UsersCommand::Mfa(c) => crate::cli_mfa::mfa_command(cfg, c, now),
        UsersCommand::Create(args) => {
            let op = Operator::open(cfg)?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| UserError(format!("reading the password from stdin: {e}")))?;
            let password = line.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                return Err(UserError("no password on standard input".into()));
            }
            let created = admin::provision::create(
                &op.core(),
                &Actor::cli(),
                &NewUser {
                    email: args.email,
                    name: args.name,
                    password: Secret::new(password),
                    roles: args.roles,
                    email_verified: args.verified,
                },
                now,
            )?;
            println!(
                "{}",
                serde_json::json!({"id": created.user.id, "email": created.user.email, "roles": created.roles})
            );
            Ok(())
        }
        UsersCommand::List { json } => {
            let pool = bootstrap::open_database(&cfg)?;
            let mut conn = pool.get().map_err(CoreError::from)?;
            let mut all = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = users::list(&mut conn, after.as_deref(), 500)?;
                let done = page.len() < 500;
                after = page.last().map(|u| u.user.email_key.clone());
                all.extend(page);
                if done {
                    break;
                }
            }
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&all).map_err(|e| UserError(e.to_string()))?
                );
            } else {
                println!(
                    "{:<36}  {:<32}  {:<24}  {:<12}  STATUS",
                    "ID", "EMAIL", "NAME", "ROLES"
                );
                for u in &all {
                    println!(
                        "{:<36}  {:<32}  {:<24}  {:<12}  {}",
                        u.user.id,
                        u.user.email,
                        u.user.name,
                        u.roles.join(","),
                        if u.user.disabled {
                            "disabled"
                        } else {
                            "active"
                        }
                    );
                }
            }
            Ok(())
        }
    }
}

pub(crate) fn print_json(v: &impl serde::Serialize) -> Result<(), UserError> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| UserError(e.to_string()))?
    );
    Ok(())
}

fn keys_command(cfg: Config, cmd: KeysCommand) -> Result<(), UserError> {
    let now = SystemClock.now();
    match cmd {
        KeysCommand::List { json } => {
            let pool = bootstrap::open_database(&cfg)?;
            let mut conn = pool.get().map_err(CoreError::from)?;
            let keys = store::list(&mut conn, &cfg)?;
            if json {
                return print_json(&keys);
            }
            println!(
                "{:<44}  {:<6}  {:<8}  {:<20}  UNTIL",
                "KID", "ALG", "STATE", "CREATED"
            );
            for k in &keys {
                println!(
                    "{:<44}  {:<6}  {:<8}  {:<20}  {}",
                    k.kid,
                    k.alg,
                    k.state.as_str(),
                    iso(k.created_at),
                    k.until.map(iso).unwrap_or_default()
                );
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            logging::init(cfg.log_format, &cfg.log_level);
            let op = Operator::open(cfg)?;
            let changes = admin::keys::rotate(&op.core(), &Actor::cli(), now)?;
            print_json(&serde_json::json!({
                "activated": changes.activated,
                "retired": changes.retired,
                "created": changes.created,
                "note": format!("running nodes switch within keys.refresh_interval_secs ({} s)", op.config.keys.refresh_interval_secs),
            }))
        }
    }
}

fn iso(t: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&fmt).ok())
        .unwrap_or_default()
}

fn serve(cfg: Config) -> Result<(), UserError> {
    logging::init(cfg.log_format, &cfg.log_level);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let bind = cfg.bind.clone();
    let issuer = cfg.issuer.clone();
    let kek_env = std::env::var(core_auth::keys::kek::ENV_VAR).ok();
    let ctx = bootstrap::context(cfg, clock, kek_env.as_deref())?;
    if let Some(id) = bootstrap::bootstrap_admin(
        &ctx.core(),
        std::env::var("PORTCULLIS_BOOTSTRAP_ADMIN_EMAIL").ok(),
        std::env::var("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD")
            .ok()
            .map(Secret::new),
        now,
    )? {
        tracing::info!(user_id = %id, "bootstrap administrator created");
    }
    let listener = std::net::TcpListener::bind(&bind)
        .map_err(|e| UserError(format!("cannot listen on {bind}: {e}")))?;
    actix_web::rt::System::new().block_on(async move {
        let server = server::start(ctx.clone(), listener)?;
        let transport = crate::mailer::build(&ctx.config)?;
        tracing::info!("{}", crate::mailer::describe(&ctx.config));
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut workers = server::spawn_jobs(ctx.clone(), stop_rx.clone());
        workers.push(crate::mailer::spawn(ctx, transport, stop_rx));
        tracing::info!(%bind, %issuer, "Portcullis is listening");
        // SIGTERM / SIGINT: actix stops accepting and lets requests in flight
        // finish (up to its shutdown timeout); then the workers finish their
        // current pass and stop.
        let served = server.await.map_err(|e| UserError(format!("server: {e}")));
        tracing::info!("HTTP server stopped; stopping background workers");
        let _ = stop_tx.send(true);
        let all = futures_util::future::join_all(workers);
        if tokio::time::timeout(std::time::Duration::from_secs(15), all)
            .await
            .is_err()
        {
            tracing::warn!("background workers did not stop within 15 s");
        }
        tracing::info!("Portcullis stopped");
        served
    })
}

/// The URL without its password, for printing.
fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => u.to_string(),
    }
}
