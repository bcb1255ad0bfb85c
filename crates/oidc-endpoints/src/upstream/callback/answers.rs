//! What a callback shows when it does not end in a session or a link: the
//! provider's answer that could not be used (each audited as a failed
//! sign-in), and the decisions of `federation::finish` that end on a page.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use core_auth::audit::Event;
use core_auth::federation::login::{failed, Refusal};
use core_auth::federation::pending::PendingLogin;
use core_auth::federation::{UpstreamIdentity, UpstreamProvider};
use web_kit::context::AppContext;
use web_kit::util::local_path;

use super::CallbackQuery;
use crate::upstream::client::{UpstreamError, Upstreams};
use crate::upstream::pages::{back_to, error_page};

/// Why the provider's answer gave no identity.
pub enum Failure {
    /// The provider sent an error (or no code): its error code, when it is
    /// a plain token, else `no_code`.
    Provider(String),
    /// The code exchange or the identity's validation failed.
    Upstream(UpstreamError),
}

/// A provider's error code, shown only when it is a plain token.
fn plain(s: &str) -> Option<&str> {
    (!s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(s)
}

/// The identity in the provider's answer to `pending`: the code exchanged
/// with its verifier, the ID token (or user info) validated.
pub async fn identify(
    ctx: &AppContext,
    upstreams: &Upstreams,
    p: &UpstreamProvider,
    pending: &PendingLogin,
    q: &CallbackQuery,
    now: i64,
) -> Result<UpstreamIdentity, Failure> {
    if !q.error.is_empty() || q.code.is_empty() {
        let code = plain(&q.error).unwrap_or("no_code");
        return Err(Failure::Provider(code.to_string()));
    }
    let redirect_uri = p.redirect_uri(&ctx.config.issuer);
    let iss = q.iss.as_deref();
    let found = upstreams
        .identify(p, &redirect_uri, pending, &q.code, iss, now)
        .await;
    found.map_err(|e| {
        tracing::warn!(target: "upstream", provider = %p.id, error = %e, "upstream sign-in failed");
        Failure::Upstream(e)
    })
}

impl Failure {
    /// Its audit row: a failed sign-in through `provider`.
    pub fn event(&self, provider: &str) -> Event {
        match self {
            Failure::Provider(code) => {
                failed(provider, "provider_error").with("error", code.as_str())
            }
            Failure::Upstream(e) => failed(provider, e.code()),
        }
    }

    /// What the person reads (`name`: the provider's display name).
    pub fn page(&self, name: &str, back: (String, &'static str)) -> HttpResponse {
        let (status, heading, message) = match self {
            Failure::Provider(code) => (
                StatusCode::FORBIDDEN,
                "Sign-in cancelled".to_string(),
                match code.as_str() {
                    "access_denied" => format!("You did not allow {name} to sign you in here, so you are not signed in."),
                    "no_code" => format!("{name} sent you back without a sign-in. Please try again."),
                    other => format!("{name} could not sign you in (it reported \u{201c}{other}\u{201d}). Please try again."),
                },
            ),
            Failure::Upstream(UpstreamError::Unreachable(_)) => (
                StatusCode::BAD_GATEWAY,
                format!("{name} could not be reached"),
                format!("We could not finish signing you in because {name} did not answer. Please try again in a moment."),
            ),
            Failure::Upstream(UpstreamError::CodeRejected(_)) => (
                StatusCode::BAD_REQUEST,
                "This sign-in has expired".to_string(),
                format!("{name} no longer accepts this sign-in (it took too long, or it was already used). Please start again."),
            ),
            Failure::Upstream(UpstreamError::InvalidIdToken(_) | UpstreamError::BadResponse(_)) => (
                StatusCode::BAD_GATEWAY,
                "Sign-in could not be verified".to_string(),
                format!("The answer from {name} could not be verified, so you are not signed in. Please try again, or sign in another way."),
            ),
        };
        error_page(status, &heading, &message, back)
    }
}

/// Where a failed round trip offers to go back to: where a confirmation
/// came from, the account page for a link, else the sign-in page.
pub fn back(pending: &PendingLogin) -> (String, &'static str) {
    let next = local_path(&pending.next).unwrap_or_default();
    if pending.is_reauth() {
        (next, "Back")
    } else {
        back_to(&next, !pending.link_user_id.is_empty())
    }
}

/// The answer matches no sign-in started in this browser (or a used or
/// too old one).
pub fn bad_state() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "The answer from the sign-in provider does not belong to a sign-in started in this browser, or it was already used or is too old. Please start again.",
        back_to("", false),
    )
}

/// The provider was removed or disabled during the round trip.
pub fn unavailable(back: (String, &'static str)) -> HttpResponse {
    error_page(
        StatusCode::NOT_FOUND,
        "Sign-in provider unavailable",
        "This sign-in provider is no longer available here. Please sign in another way.",
        back,
    )
}

/// The person who started a link or a confirmation is no longer signed
/// in here.
pub fn signed_out(pending: &PendingLogin) -> HttpResponse {
    let (when, back) = if pending.is_reauth() {
        ("you came back", back_to("", false))
    } else {
        ("the link was made", back_to("/account", false))
    };
    error_page(
        StatusCode::FORBIDDEN,
        "Signed out",
        &format!("You were signed out before {when}. Sign in and try again."),
        back,
    )
}

/// A confirmation through a provider with an identity not linked to the
/// person confirming.
pub fn not_linked(pending: &PendingLogin, name: &str) -> HttpResponse {
    error_page(
        StatusCode::FORBIDDEN,
        "Not your linked account",
        &format!("You signed in to {name} as someone whose account is not linked to yours here, so nothing was confirmed."),
        back(pending),
    )
}

/// A sign-in or link the provider's rules refuse.
pub fn refused(r: Refusal, pending: &PendingLogin, name: &str) -> HttpResponse {
    error_page(
        StatusCode::FORBIDDEN,
        "Sign-in refused",
        &r.message(name),
        back(pending),
    )
}
