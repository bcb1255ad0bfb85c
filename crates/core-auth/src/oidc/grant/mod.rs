//! The token endpoint's grants, one file each.
//!
//! A grant runs in three steps so that the endpoint can put each on the
//! right thread: [`prepare`] checks the request (and signs, when nothing
//! the token says depends on the database), the returned [`Write`] does the
//! grant's reads and writes inside a transaction (the server's group
//! commit batches them with other requests'), and [`Ready::finish`] signs
//! what the write planned. client_credentials is signed in `prepare` and
//! leaves only an issuance to count ([`Prepared::Counted`]). The response is handed out only after the write
//! committed. [`exchange`] runs the three in a row on one connection.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use std::collections::HashMap;

use crate::actor::Actor;
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::{write_tx, DbConn};
use crate::error::CoreResult;
use crate::keys::KeyRing;
use crate::oidc::error::{ErrorCode, OAuthError, OAuthResult};
use crate::oidc::tokens::{self, Planned, TokenResponse};
use crate::oidc::Oidc;

/// Token request parameters (a repeated parameter was already refused).
pub type Params = HashMap<String, String>;

pub(crate) fn param<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// A grant's reads and writes, run inside a transaction. The outer error
/// rolls the write back (storage failed); the inner one is the grant's
/// answer and commits what it wrote (a detected replay revokes tokens).
pub type Write =
    Box<dyn FnOnce(&mut DbConn, &Config) -> CoreResult<OAuthResult<Ready>> + Send + 'static>;

/// A checked token request: what is left to store before answering.
pub enum Prepared {
    /// The grant's reads and writes, to run in a transaction.
    Write(Write),
    /// client_credentials: signed; only its issuance is to be counted
    /// (`client_credentials::add_issued`, one counter per client, minute
    /// and scope) before the response is handed out.
    Counted {
        response: TokenResponse,
        issued: client_credentials::Issuance,
    },
}

/// What a committed write leaves to do: the tokens it planned, to sign.
#[derive(Debug)]
pub enum Ready {
    Planned(Planned),
}

impl Ready {
    pub fn finish(self, keys: &KeyRing, cfg: &Config) -> OAuthResult<TokenResponse> {
        match self {
            Ready::Planned(p) => Ok(tokens::sign(keys, cfg, p)?),
        }
    }
}

/// Checks a token request for `grant_type` by the authenticated `client`.
pub fn prepare(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<Prepared> {
    let write = |w: OAuthResult<Write>| w.map(Prepared::Write);
    match p.get("grant_type").map(String::as_str).unwrap_or_default() {
        "authorization_code" => write(authorization_code::prepare(o, client, p, meta, now)),
        "refresh_token" => write(refresh_token::prepare(o, client, p, meta, now)),
        "client_credentials" => client_credentials::prepare(o, client, p, meta, now),
        "" => Err(OAuthError::invalid_request("grant_type is required")),
        other => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {other} is not supported"),
        )),
    }
}

/// The whole token request on one connection of `o.pool`.
pub fn exchange(
    o: Oidc<'_>,
    client: &Client,
    p: &Params,
    meta: &Actor,
    now: UnixTime,
) -> OAuthResult<TokenResponse> {
    run_now(o, prepare(o, client, p, meta, now)?)
}

/// Runs a prepared grant's write in its own transaction, then finishes it.
pub(crate) fn run_now(o: Oidc<'_>, prepared: Prepared) -> OAuthResult<TokenResponse> {
    let mut conn = o.pool.get()?;
    match prepared {
        Prepared::Counted { response, issued } => {
            write_tx(&mut conn, |c| {
                client_credentials::add_issued(c, &issued.key(), 1)
            })?;
            Ok(response)
        }
        Prepared::Write(write) => {
            let ready = write_tx(&mut conn, |c| write(c, o.config))?;
            drop(conn);
            ready?.finish(o.keys, o.config)
        }
    }
}
