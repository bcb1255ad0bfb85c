//! Authorization requests (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636,
//! RFC 9207): validating one, and deciding what it needs next.
//!
//! Two kinds of failure: before the client and its redirect URI are known
//! to be genuine nothing may be redirected (an error page instead); after,
//! errors go back to the client's redirect URI.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::clients::{Client, GrantType};
use crate::clock::UnixTime;
use crate::oidc::claims::parse_claims_request;
use crate::oidc::error::{ErrorCode, OAuthError};
use crate::oidc::scopes::{ScopeSet, STANDARD};

/// Longest accepted parameter value, in bytes.
const MAX_PARAM: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseMode {
    Query,
    FormPost,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// A validated authorization request, kept in the session while the person
/// signs in or consents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthzRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (then the token request
    /// must repeat it).
    pub redirect_uri_given: bool,
    pub response_mode: ResponseMode,
    pub scope: ScopeSet,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    pub login_hint: Option<String>,
    /// The validated `claims` parameter (JSON).
    pub claims: Option<String>,
    /// `acr_values`, as given (see [`acr`]).
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// When the request arrived.
    pub requested_at: UnixTime,
    /// The public id (`sid`) of the session the request arrived in, if any.
    /// Every sign-in makes a new one, so a different `sid` later means the
    /// person signed in during this request (`prompt=login`, `acr`).
    #[serde(default)]
    pub session_at_start: Option<String>,
}

impl AuthzRequest {
    /// The validated `claims` parameter, parsed.
    pub fn claims_value(&self) -> Option<serde_json::Value> {
        self.claims
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
    }
}

/// Where an error goes.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthzError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page(String),
    /// Send the error to the client.
    Redirect {
        redirect_uri: String,
        response_mode: ResponseMode,
        state: Option<String>,
        error: OAuthError,
    },
}

/// Request parameters; a repeated parameter was already refused.
pub type Params = HashMap<String, String>;

fn get<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// Finds which client and redirect URI the request names, or the page error.
pub fn resolve_redirect(p: &Params, client: Option<&Client>) -> Result<(String, bool), AuthzError> {
    let Some(client_id) = get(p, "client_id") else {
        return Err(AuthzError::Page(
            "The request does not say which application is asking (client_id is missing).".into(),
        ));
    };
    let Some(client) = client else {
        return Err(AuthzError::Page(format!(
            "The application {client_id:?} is not registered with this server."
        )));
    };
    match get(p, "redirect_uri") {
        Some(uri) => client
            .match_redirect_uri(uri)
            .map(|u| (u, true))
            .ok_or_else(|| {
                AuthzError::Page(
                    "The redirect URI in the request is not one registered for this application."
                        .into(),
                )
            }),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            [] => Err(AuthzError::Page(
                "This application has no redirect URI registered.".into(),
            )),
            _ => Err(AuthzError::Page(
                "The request must include redirect_uri: this application has several registered."
                    .into(),
            )),
        },
    }
}

/// Verified `id_token_hint` claims the caller extracted (signature checked
/// against our keys; an expired token is fine).
#[derive(Debug, Clone)]
pub struct HintCheck {
    pub sub: String,
    pub audiences: Vec<String>,
}

/// Validates everything after the redirect URI is trusted.
pub fn validate(
    p: &Params,
    client: &Client,
    hint: Option<Result<HintCheck, String>>,
    now: UnixTime,
) -> Result<AuthzRequest, AuthzError> {
    let (redirect_uri, redirect_uri_given) = resolve_redirect(p, Some(client))?;
    // A state we could not echo safely is not echoed.
    let state = get(p, "state")
        .filter(|s| !s.chars().any(char::is_control))
        .map(str::to_string);
    let mode_param = get(p, "response_mode");
    let response_mode = match mode_param {
        Some("form_post") => ResponseMode::FormPost,
        _ => ResponseMode::Query,
    };
    let fail = |code: ErrorCode, d: &str| AuthzError::Redirect {
        redirect_uri: redirect_uri.clone(),
        response_mode,
        state: state.clone(),
        error: OAuthError::new(code, d),
    };
    if let Some((k, _)) = p.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!(
                "the {} parameter contains a NUL character",
                k.replace('\0', "")
            ),
        ));
    }
    if let Some((k, _)) = p.iter().find(|(_, v)| v.len() > MAX_PARAM) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            &format!("the {k} parameter is too long"),
        ));
    }
    if !matches!(mode_param, None | Some("query") | Some("form_post")) {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post",
        ));
    }
    if get(p, "request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if get(p, "request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match get(p, "response_type") {
        Some("code") => {}
        None => return Err(fail(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ))
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code flow",
        ));
    }

    let raw_scope = get(p, "scope").unwrap_or_default();
    if !ScopeSet::is_well_formed(raw_scope) {
        return Err(fail(
            ErrorCode::InvalidScope,
            "the scope parameter has invalid characters",
        ));
    }
    // Scopes neither standard nor allowed for this client are ignored
    // (OIDC Core §3.1.2.1); offline_access needs the refresh grant.
    let requested = ScopeSet::parse(raw_scope);
    let scope = ScopeSet(
        requested
            .iter()
            .filter(|s| STANDARD.contains(s) || client.scopes.iter().any(|c| c == s))
            .filter(|s| *s != "offline_access" || client.allows_grant(GrantType::RefreshToken))
            .map(str::to_string)
            .collect(),
    );
    if scope.is_empty() {
        return Err(fail(
            ErrorCode::InvalidScope,
            "none of the requested scopes is available to this client",
        ));
    }

    let code_challenge = match (get(p, "code_challenge"), get(p, "code_challenge_method")) {
        (Some(c), Some("S256")) => Some(c),
        (Some(_), None) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method is required; only S256 is supported",
            ))
        }
        (Some(_), Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256 (plain is not supported)",
            ))
        }
        (None, Some(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ))
        }
        (None, None) => None,
    };
    if let Some(c) = code_challenge {
        let ok = (43..=128).contains(&c.len())
            && c.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-._~".contains(ch));
        if !ok {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "code_challenge is malformed",
            ));
        }
    } else if client.is_public() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "public clients must use PKCE (code_challenge with S256)",
        ));
    }

    let mut prompt = Prompt::default();
    if let Some(pr) = get(p, "prompt") {
        for v in pr.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => {}
                _ => {
                    return Err(fail(
                        ErrorCode::InvalidRequest,
                        &format!("unknown prompt value {v}"),
                    ))
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent || pr.contains("select_account")) {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "prompt=none cannot be combined with other values",
            ));
        }
    }

    let max_age = match get(p, "max_age") {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer",
                ))
            }
        },
    };

    let claims = match get(p, "claims") {
        None => None,
        Some(c) => match parse_claims_request(c) {
            Ok(v) => Some(v.to_string()),
            Err(e) => return Err(fail(ErrorCode::InvalidRequest, &e)),
        },
    };

    let hint_sub = match hint {
        None => None,
        Some(Ok(h)) if h.audiences.contains(&client.client_id) => Some(h.sub),
        Some(Ok(_)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "id_token_hint was not issued to this client",
            ))
        }
        Some(Err(e)) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                &format!("id_token_hint is invalid: {e}"),
            ))
        }
    };

    Ok(AuthzRequest {
        client_id: client.client_id.clone(),
        redirect_uri,
        redirect_uri_given,
        response_mode,
        scope,
        state,
        nonce: get(p, "nonce").map(str::to_string),
        code_challenge: code_challenge.map(str::to_string),
        prompt,
        max_age,
        hint_sub,
        login_hint: get(p, "login_hint").map(|h| h.chars().take(254).collect()),
        claims,
        acr_values: acr::parse_acr_values(get(p, "acr_values")),
        requested_at: now,
        session_at_start: None,
    })
}

pub mod acr;
mod decide;
#[cfg(test)]
mod tests;

pub use decide::{acr_for, decide, Next, SessionInfo};
