//! `portcullis clients ...`: register, list, show, change, rotate the
//! secret of and delete relying parties, through the same use cases
//! (`core_auth::admin::clients`) as the console and the API.

use clap::{Args, Subcommand};
use core_auth::actor::Actor;
use core_auth::admin;
use core_auth::clients::{self, Client, ClientSpec};
use core_auth::secret::Secret;
use core_auth::{Clock, Config, CoreError, SystemClock};
use std::path::PathBuf;

use crate::bootstrap;
use crate::cli::{print_json, UserError};
use crate::cli_admin::Operator;

// Parsed once per run: the size of `Create` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Register a client; prints its client_id and, for confidential
    /// clients, its client_secret (shown once).
    Create(CreateClient),
    /// List clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one client as JSON.
    Show { client_id: String },
    /// Change a client's settings: those given; the rest stay.
    Update(UpdateClient),
    /// Issue a new secret (the old one stops working); prints it once.
    RotateSecret { client_id: String },
    /// Delete a client and every code, token and consent it holds.
    Delete { client_id: String },
}

#[derive(Debug, Args)]
pub struct CreateClient {
    #[arg(long)]
    pub name: String,
    /// Allowed redirect URI (repeatable). https, or http on loopback.
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Allowed post-logout redirect URI (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (single-page or native app): no secret, PKCE required.
    #[arg(long)]
    pub public: bool,
    /// authorization_code, refresh_token or client_credentials (repeatable;
    /// default: authorization_code and refresh_token).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// A scope beyond the standard OpenID ones the client may ask for (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Don't ask users for consent (first-party applications).
    #[arg(long)]
    pub skip_consent: bool,
    /// Issue refresh tokens even without offline_access (bound to the session).
    #[arg(long)]
    pub always_issue_refresh: bool,
    /// Accept its authorization requests only through PAR (RFC 9126).
    #[arg(long)]
    pub require_par: bool,
    /// Accept only signed request objects (RFC 9101), signed with the keys
    /// of --jwks-uri or --jwks-file.
    #[arg(long)]
    pub require_signed_request_object: bool,
    /// client_secret_basic (default), client_secret_post, private_key_jwt, none.
    #[arg(long)]
    pub auth_method: Option<String>,
    /// private_key_jwt: where the client publishes its keys.
    #[arg(long, conflicts_with = "jwks_file")]
    pub jwks_uri: Option<String>,
    /// private_key_jwt: a file with the client's JWK Set.
    #[arg(long)]
    pub jwks_file: Option<PathBuf>,
    /// Access token lifetime for this client, in seconds.
    #[arg(long)]
    pub access_token_lifetime: Option<i64>,
    /// An audience this client serves as a resource server (repeatable): it
    /// may introspect access tokens for it (an access token's audience is
    /// the client_id it was issued to).
    #[arg(long = "resource-server-audience")]
    pub resource_server_audiences: Vec<String>,
    /// The algorithm its ID, access and refresh tokens are signed with:
    /// RS256 (default), PS256, ES256 or EdDSA, among the server's
    /// keys.algorithms.
    #[arg(long = "id-token-alg", value_name = "ALG")]
    pub id_token_alg: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateClient {
    pub client_id: String,
    /// A new name.
    #[arg(long)]
    pub name: Option<String>,
    /// The algorithm its ID, access and refresh tokens are signed with from
    /// now on: RS256, PS256, ES256 or EdDSA, among the server's
    /// keys.algorithms.
    #[arg(long = "id-token-alg", value_name = "ALG")]
    pub id_token_alg: Option<String>,
    /// Whether its authorization requests must come through PAR (RFC 9126).
    #[arg(long = "require-par", value_name = "BOOL")]
    pub require_par: Option<bool>,
}

fn no_client(e: CoreError, client_id: &str) -> UserError {
    match e {
        CoreError::NotFound(_) => UserError(format!("no client {client_id}")),
        other => other.into(),
    }
}

pub fn clients_command(cfg: Config, cmd: ClientsCommand) -> Result<(), UserError> {
    let now = SystemClock.now();
    let conn = || -> Result<_, UserError> {
        let pool = bootstrap::open_database(&cfg)?;
        let conn = pool.get().map_err(CoreError::from)?;
        Ok(conn)
    };
    match cmd {
        ClientsCommand::Create(a) => {
            let jwks = match &a.jwks_file {
                Some(f) => std::fs::read_to_string(f)
                    .map_err(|e| UserError(format!("{}: {e}", f.display())))?,
                None => String::new(),
            };
            let spec = ClientSpec {
                name: a.name,
                redirect_uris: a.redirect_uris,
                post_logout_redirect_uris: a.post_logout_redirect_uris,
                public: a.public,
                grant_types: a.grant_types,
                scopes: a.scopes,
                skip_consent: a.skip_consent,
                always_issue_refresh: a.always_issue_refresh,
                auth_method: a.auth_method.unwrap_or_default(),
                jwks_uri: a.jwks_uri.unwrap_or_default(),
                jwks,
                access_token_lifetime_secs: a.access_token_lifetime,
                refresh_token_idle_secs: None,
                refresh_token_absolute_secs: None,
                resource_server_audiences: a.resource_server_audiences,
                id_token_signed_response_alg: a.id_token_alg.unwrap_or_default(),
                require_pushed_authorization_requests: a.require_par,
                require_signed_request_object: a.require_signed_request_object,
            };
            let op = Operator::open(cfg)?;
            let (client, secret) = admin::clients::create(&op.core(), &Actor::cli(), &spec, now)?;
            print_with_secret(&client, secret)
        }
        ClientsCommand::Update(a) => {
            if a.name.is_none() && a.id_token_alg.is_none() && a.require_par.is_none() {
                return Err(UserError(
                    "nothing to change: give --name, --id-token-alg or --require-par".into(),
                ));
            }
            let op = Operator::open(cfg)?;
            let existing =
                clients::find(&mut *op.pool.get().map_err(CoreError::from)?, &a.client_id)?
                    .ok_or_else(|| UserError(format!("no client {}", a.client_id)))?;
            let mut spec = admin::clients::spec_of(&existing);
            if let Some(n) = a.name {
                spec.name = n;
            }
            if let Some(alg) = a.id_token_alg {
                spec.id_token_signed_response_alg = alg;
            }
            if let Some(par) = a.require_par {
                spec.require_pushed_authorization_requests = par;
            }
            let (client, secret) =
                admin::clients::update(&op.core(), &Actor::cli(), &a.client_id, &spec, now)
                    .map_err(|e| no_client(e, &a.client_id))?;
            print_with_secret(&client, secret)
        }
        ClientsCommand::List { json } => {
            let all = clients::list(&mut *conn()?)?;
            if json {
                return print_json(&all);
            }
            println!(
                "{:<22}  {:<28}  {:<20}  {:<6}  REDIRECT URIS",
                "CLIENT ID", "NAME", "AUTH METHOD", "ALG"
            );
            for c in &all {
                println!(
                    "{:<22}  {:<28}  {:<20}  {:<6}  {}",
                    c.client_id,
                    c.name,
                    c.auth_method.as_str(),
                    c.id_token_signed_response_alg.as_str(),
                    c.redirect_uris.join(" ")
                );
            }
            Ok(())
        }
        ClientsCommand::Show { client_id } => {
            let c = clients::find(&mut *conn()?, &client_id)?
                .ok_or_else(|| UserError(format!("no client {client_id}")))?;
            print_json(&c)
        }
        ClientsCommand::RotateSecret { client_id } => {
            let op = Operator::open(cfg)?;
            let secret = admin::clients::rotate_secret(&op.core(), &Actor::cli(), &client_id, now)
                .map_err(|e| no_client(e, &client_id))?;
            print_json(
                &serde_json::json!({"client_id": client_id, "client_secret": secret.expose()}),
            )
        }
        ClientsCommand::Delete { client_id } => {
            let op = Operator::open(cfg)?;
            admin::clients::delete(&op.core(), &Actor::cli(), &client_id, now)
                .map_err(|e| no_client(e, &client_id))?;
            println!("client {client_id} deleted");
            Ok(())
        }
    }
}

/// The client as JSON, with its secret when one was just made (shown once).
fn print_with_secret(client: &Client, secret: Option<Secret>) -> Result<(), UserError> {
    let mut out = serde_json::to_value(client).map_err(|e| UserError(e.to_string()))?;
    if let (Some(s), Some(obj)) = (secret, out.as_object_mut()) {
        obj.insert(
            "client_secret".into(),
            serde_json::Value::String(s.into_inner()),
        );
    }
    print_json(&out)
}
