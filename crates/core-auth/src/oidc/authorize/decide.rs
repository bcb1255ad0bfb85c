//! What a valid authorization request needs next: a sign-in, a stronger
//! factor (step-up), consent, or the code; and the `acr` it is answered
//! with (see [`super::acr`]).

use super::{acr, AuthzRequest};
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
    /// How the person authenticated (`amr`).
    pub amr: Vec<String>,
    /// The highest `acr` level the account could reach with its factors
    /// (3 with a passkey, 2 with any second factor, else 1). Only read when
    /// the request asks for more than the session has, so a face may give
    /// the session's own level otherwise.
    pub reachable: u8,
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
    /// Ask the signed-in person for a factor reaching this `acr` level,
    /// then come back.
    StepUp(u8),
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
    if let (Some(s), Some(w)) = (session, acr::wanted(req)) {
        if acr::level_of(&s.amr) < w.level {
            if s.reachable >= w.level {
                return if req.prompt.none {
                    Next::Fail(OAuthError::new(
                        ErrorCode::InteractionRequired,
                        "a stronger sign-in is needed for the requested acr",
                    ))
                } else {
                    Next::StepUp(w.level)
                };
            }
            if w.essential {
                return Next::Fail(OAuthError::new(
                    ErrorCode::UnmetAuthenticationRequirements,
                    format!(
                        "the account cannot sign in at acr level {} (it has no such factor)",
                        w.level
                    ),
                ));
            }
            // Voluntary: the best the account can do is given, and its
            // `acr` says what it was.
        }
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

/// The `acr` value: the session's level ("1" one factor, "2"
/// multi-factor, "3" phishing-resistant) when the person signed in for
/// this request or the request asked for a level; "0" when an existing
/// session was reused and nothing was asked (as Keycloak reports).
pub fn acr_for(req: &AuthzRequest, session: &SessionInfo) -> &'static str {
    if session.signed_in_during(req) || acr::wanted(req).is_some() {
        acr::SUPPORTED[usize::from(acr::level_of(&session.amr))]
    } else {
        "0"
    }
}
