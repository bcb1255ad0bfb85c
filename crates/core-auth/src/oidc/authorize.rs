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
        requested_at: now,
        session_at_start: None,
    })
}

/// The signed-in person, as far as an authorization request cares.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user_id: String,
    pub auth_time: UnixTime,
    /// The session's public id; a new one at every sign-in.
    pub sid: String,
}

impl SessionInfo {
    /// True when this session began (with a sign-in) after `req` arrived.
    pub fn signed_in_during(&self, req: &AuthzRequest) -> bool {
        req.session_at_start.as_deref() != Some(self.sid.as_str())
    }
}

/// What the request needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the sign-in page, then come back.
    SignIn,
    /// Ask the person to consent, then come back.
    Consent,
    /// Issue the code.
    Issue,
    /// Answer the client with this error (`prompt=none`).
    Fail(OAuthError),
}

/// Decides the next step. `consent_covers` says whether stored consent
/// already covers the requested scopes.
pub fn decide(
    req: &AuthzRequest,
    client: &Client,
    session: Option<&SessionInfo>,
    consent_covers: bool,
    now: UnixTime,
) -> Next {
    let needs_sign_in = match session {
        None => true,
        Some(s) => {
            (req.prompt.login && !s.signed_in_during(req))
                || req.max_age.is_some_and(|m| now - s.auth_time > m)
                || req.hint_sub.as_ref().is_some_and(|h| *h != s.user_id)
        }
    };
    if needs_sign_in {
        return if req.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ))
        } else {
            Next::SignIn
        };
    }
    let extra_claims =
        !crate::oidc::claims::beyond_scopes(&req.scope, req.claims_value().as_ref()).is_empty();
    let needs_consent =
        !client.skip_consent && (req.prompt.consent || !consent_covers || extra_claims);

    if needs_consent {
        return if req.prompt.none {
            Next::Fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ))
        } else {
            Next::Consent
        };
    }
    Next::Issue
}

/// The acr value: "1" when the person entered credentials for this
/// request, "0" when an existing session was reused (as Keycloak reports).
pub fn acr_for(req: &AuthzRequest, session: &SessionInfo) -> &'static str {
    if session.signed_in_during(req) {
        "1"
    } else {
        "0"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::AuthMethod;

    fn client(public: bool) -> Client {
        Client {
            client_id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            auth_method: if public {
                AuthMethod::None
            } else {
                AuthMethod::ClientSecretBasic
            },
            redirect_uris: vec!["https://app.example.com/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            scopes: vec!["api".into()],
            skip_consent: false,
            always_issue_refresh: false,
            jwks_uri: None,
            jwks: None,
            access_token_lifetime_secs: None,
            refresh_token_idle_secs: None,
            refresh_token_absolute_secs: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        let mut p: Params = [
            ("client_id", "app"),
            ("response_type", "code"),
            ("scope", "openid"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            p.insert(k.to_string(), v.to_string());
        }
        p
    }

    fn err_code(r: Result<AuthzRequest, AuthzError>) -> ErrorCode {
        match r {
            Err(AuthzError::Redirect { error, .. }) => error.code,
            other => panic!("expected a redirect error, got {other:?}"),
        }
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn minimal_request_is_valid_and_unknown_scopes_are_ignored() {
        let r = validate(
            &params(&[("scope", "openid email api other")]),
            &client(false),
            None,
            10,
        )
        .unwrap();
        assert_eq!(r.scope.to_string(), "openid email api");
        assert_eq!(r.redirect_uri, "https://app.example.com/cb");
        assert!(!r.redirect_uri_given);
        assert_eq!(r.response_mode, ResponseMode::Query);
    }

    #[test]
    fn pkce_rules() {
        let c = client(true);
        assert_eq!(
            err_code(validate(&params(&[]), &c, None, 0)),
            ErrorCode::InvalidRequest,
            "public needs PKCE"
        );
        let r = validate(
            &params(&[
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ]),
            &c,
            None,
            0,
        )
        .unwrap();
        assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(
            err_code(validate(
                &params(&[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain")
                ]),
                &c,
                None,
                0
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err_code(validate(
                &params(&[("code_challenge", CHALLENGE)]),
                &c,
                None,
                0
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err_code(validate(
                &params(&[
                    ("code_challenge", "short"),
                    ("code_challenge_method", "S256")
                ]),
                &c,
                None,
                0
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn unsupported_things_get_their_error_codes() {
        let c = client(false);
        assert_eq!(
            err_code(validate(
                &params(&[("response_type", "token")]),
                &c,
                None,
                0
            )),
            ErrorCode::UnsupportedResponseType
        );
        assert_eq!(
            err_code(validate(&params(&[("request", "x.y.z")]), &c, None, 0)),
            ErrorCode::RequestNotSupported
        );
        assert_eq!(
            err_code(validate(
                &params(&[("request_uri", "https://x")]),
                &c,
                None,
                0
            )),
            ErrorCode::RequestUriNotSupported
        );
        assert_eq!(
            err_code(validate(&params(&[("scope", "nope")]), &c, None, 0)),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            err_code(validate(&params(&[("prompt", "none login")]), &c, None, 0)),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err_code(validate(&params(&[("max_age", "-1")]), &c, None, 0)),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err_code(validate(&params(&[("claims", "nope")]), &c, None, 0)),
            ErrorCode::InvalidRequest
        );
        // Parameters we accept and ignore.
        assert!(validate(
            &params(&[
                ("display", "page"),
                ("ui_locales", "fr"),
                ("acr_values", "1"),
                ("foo", "bar")
            ]),
            &c,
            None,
            0
        )
        .is_ok());
    }

    #[test]
    fn redirect_uri_problems_are_pages() {
        let c = client(false);
        let r = validate(
            &params(&[("redirect_uri", "https://app.example.com/cb/extra")]),
            &c,
            None,
            0,
        );
        assert!(matches!(r, Err(AuthzError::Page(_))));
        let r = validate(
            &params(&[("redirect_uri", "https://app.example.com/cb?x=1")]),
            &c,
            None,
            0,
        );
        assert!(matches!(r, Err(AuthzError::Page(_))));
        let mut two = client(false);
        two.redirect_uris
            .push("https://app.example.com/other".into());
        assert!(matches!(
            validate(&params(&[]), &two, None, 0),
            Err(AuthzError::Page(_))
        ));
        assert!(matches!(
            resolve_redirect(&params(&[]), None),
            Err(AuthzError::Page(_))
        ));
    }

    #[test]
    fn decisions() {
        let c = client(false);
        let mut r = validate(&params(&[]), &c, None, 100).unwrap();
        r.session_at_start = Some("sid-1".into());
        let s = SessionInfo {
            user_id: "u".into(),
            auth_time: 50,
            sid: "sid-1".into(),
        };
        assert_eq!(decide(&r, &c, None, false, 100), Next::SignIn);
        assert_eq!(decide(&r, &c, Some(&s), false, 100), Next::Consent);
        assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::Issue);
        r.prompt.login = true;
        assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::SignIn);
        let fresh = SessionInfo {
            user_id: "u".into(),
            auth_time: 100,
            sid: "sid-2".into(),
        };
        assert_eq!(acr_for(&r, &fresh), "1");
        assert_eq!(acr_for(&r, &s), "0");
        assert_eq!(decide(&r, &c, Some(&fresh), true, 101), Next::Issue);
        r.prompt = Prompt {
            none: true,
            ..Prompt::default()
        };
        assert!(
            matches!(decide(&r, &c, None, true, 100), Next::Fail(e) if e.code == ErrorCode::LoginRequired)
        );
        assert!(
            matches!(decide(&r, &c, Some(&s), false, 100), Next::Fail(e) if e.code == ErrorCode::ConsentRequired)
        );
        r.prompt = Prompt::default();
        r.max_age = Some(10);
        assert_eq!(
            decide(&r, &c, Some(&s), true, 100),
            Next::SignIn,
            "auth_time 50 is older than max_age"
        );
        r.max_age = None;
        r.hint_sub = Some("someone-else".into());
        assert_eq!(decide(&r, &c, Some(&s), true, 100), Next::SignIn);
    }
}
