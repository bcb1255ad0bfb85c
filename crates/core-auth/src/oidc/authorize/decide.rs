//! What a valid authorization request needs next: a sign-in, consent, or
//! the code; and the `acr` it is answered with.

use super::AuthzRequest;
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::oidc::error::{ErrorCode, OAuthError};

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
