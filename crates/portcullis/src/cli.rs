//! The command line: `serve`, `migrate`, `users ...`, `check-config`.
//! Every command reads the same configuration. Errors go to stderr with a
//! non-zero exit and no backtrace.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use core_auth::config::LogFormat;
use core_auth::db::migrate;
use core_auth::password::Passwords;
use core_auth::secret::Secret;
use core_auth::users::{self, NewUser};
use core_auth::{Clock, Config, CoreError, SystemClock};

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
    /// Check the configuration and say what is wrong, without starting.
    CheckConfig,
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
            println!("configuration is valid");
            println!("  issuer:       {}", cfg.issuer);
            println!("  bind:         {}", cfg.bind);
            println!("  database_url: {}", redact_url(&cfg.database_url));
            println!("  data_dir:     {}", cfg.data_dir.display());
            Ok(())
        }
        Command::Users(cmd) => users_command(cfg, cmd),
    }
}

fn users_command(cfg: Config, cmd: UsersCommand) -> Result<(), UserError> {
    let pool = bootstrap::open_database(&cfg)?;
    let now = SystemClock.now();
    match cmd {
        UsersCommand::Create(args) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| UserError(format!("reading the password from stdin: {e}")))?;
            let password = line.trim_end_matches(['\n', '\r']).to_string();
            if password.is_empty() {
                return Err(UserError("no password on standard input".into()));
            }
            let passwords = Passwords::new(&cfg.password);
            let created = users::create_user(
                &pool,
                &passwords,
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

fn serve(cfg: Config) -> Result<(), UserError> {
    logging::init(cfg.log_format, &cfg.log_level);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    let bind = cfg.bind.clone();
    let issuer = cfg.issuer.clone();
    let ctx = bootstrap::context(cfg, clock)?;
    if let Some(id) = bootstrap::bootstrap_admin(
        &ctx.pool,
        &ctx.passwords,
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
        server::spawn_jobs(ctx);
        tracing::info!(%bind, %issuer, "Portcullis is listening");
        server.await.map_err(|e| UserError(format!("server: {e}")))
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
