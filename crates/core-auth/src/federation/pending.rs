//! State of sign-ins in progress at an upstream provider, kept in the
//! server-side session (so any node can finish them): the `state`, `nonce`
//! and PKCE verifier of each redirect, and an identity waiting for its
//! account's password before it is linked.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::secret::{ct_eq, random_token};

use super::identity::UpstreamIdentity;

/// A redirect to a provider is answered within this long, or refused.
pub const LOGIN_MAX_AGE: i64 = 600;
/// At most this many redirects in progress per session (several tabs).
const MAX_IN_PROGRESS: usize = 5;

/// One redirect to a provider, waiting for its callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub provider: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Local path to continue to afterwards (e.g. `/authorize/resume?rid=`).
    pub next: String,
    /// Empty for a sign-in; the signed-in user's id when adding a link.
    pub link_user_id: String,
    /// The signed-in user's id when they confirm who they are through a
    /// provider they linked (a fresh sign-in there instead of the
    /// password, e.g. before a sensitive action in the admin console).
    #[serde(default)]
    pub reauth_user_id: String,
    pub started_at: UnixTime,
}

impl PendingLogin {
    /// A new redirect with fresh 256-bit `state`, `nonce` and PKCE verifier.
    pub fn new(provider: &str, next: &str, link_user_id: &str, now: UnixTime) -> Self {
        Self {
            provider: provider.to_string(),
            state: random_token().into_inner(),
            nonce: random_token().into_inner(),
            pkce_verifier: format!(
                "{}{}",
                random_token().into_inner(),
                random_token().into_inner()
            ),
            next: next.to_string(),
            link_user_id: link_user_id.to_string(),
            reauth_user_id: String::new(),
            started_at: now,
        }
    }

    /// A redirect for `user_id` to confirm who they are (see
    /// [`PendingLogin::reauth_user_id`]).
    pub fn for_reauth(provider: &str, next: &str, user_id: &str, now: UnixTime) -> Self {
        Self {
            reauth_user_id: user_id.to_string(),
            ..Self::new(provider, next, "", now)
        }
    }

    pub fn is_reauth(&self) -> bool {
        !self.reauth_user_id.is_empty()
    }
}

/// The redirects in progress of one session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogins(pub Vec<PendingLogin>);

impl PendingLogins {
    /// Adds `p`, dropping expired entries and, past the limit, the oldest.
    pub fn put(&mut self, p: PendingLogin, now: UnixTime) {
        self.0.retain(|e| now - e.started_at < LOGIN_MAX_AGE);
        while self.0.len() >= MAX_IN_PROGRESS {
            self.0.remove(0);
        }
        self.0.push(p);
    }

    /// Removes and returns the entry whose `state` is `state` (compared in
    /// constant time) if it has not expired. Each state works once.
    pub fn take(&mut self, state: &str, now: UnixTime) -> Option<PendingLogin> {
        if state.is_empty() {
            return None;
        }
        let i = self
            .0
            .iter()
            .position(|e| ct_eq(e.state.as_bytes(), state.as_bytes()))?;
        let p = self.0.remove(i);
        (now - p.started_at < LOGIN_MAX_AGE && now >= p.started_at).then_some(p)
    }
}

/// An upstream identity waiting for the password of the account with its
/// address (see `login::Resolution::ConfirmWithPassword`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLink {
    pub provider: String,
    pub subject: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
    pub amr: Vec<String>,
    pub user_id: String,
    pub next: String,
    pub created_at: UnixTime,
}

impl PendingLink {
    pub fn new(
        provider: &str,
        id: &UpstreamIdentity,
        user_id: &str,
        next: &str,
        now: UnixTime,
    ) -> Self {
        Self {
            provider: provider.to_string(),
            subject: id.subject.clone(),
            email: id.email.clone(),
            email_verified: id.email_verified,
            name: id.name.clone(),
            amr: id.amr.clone(),
            user_id: user_id.to_string(),
            next: next.to_string(),
            created_at: now,
        }
    }

    pub fn identity(&self) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: self.subject.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            name: self.name.clone(),
            amr: self.amr.clone(),
        }
    }

    pub fn is_live(&self, now: UnixTime) -> bool {
        now >= self.created_at && now - self.created_at < LOGIN_MAX_AGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_works_once_and_only_while_fresh() {
        let mut list = PendingLogins::default();
        let p = PendingLogin::new("google", "/account", "", 1000);
        assert_eq!(p.state.len(), 43);
        assert_ne!(p.state, p.nonce);
        let state = p.state.clone();
        list.put(p.clone(), 1000);
        assert_eq!(list.take("tampered", 1001), None);
        assert_eq!(list.take("", 1001), None);
        assert_eq!(list.take(&state, 1001), Some(p));
        assert_eq!(list.take(&state, 1002), None, "replayed");
        let late = PendingLogin::new("google", "", "", 1000);
        let s = late.state.clone();
        list.put(late, 1000);
        assert_eq!(list.take(&s, 1000 + LOGIN_MAX_AGE), None, "expired");
    }

    #[test]
    fn old_entries_make_room() {
        let mut list = PendingLogins::default();
        for i in 0..8 {
            list.put(PendingLogin::new("g", "", "", 100 + i), 100 + i);
        }
        assert_eq!(list.0.len(), MAX_IN_PROGRESS);
        assert_eq!(list.0[0].started_at, 103);
        list.put(PendingLogin::new("g", "", "", 5000), 5000);
        assert_eq!(list.0.len(), 1, "expired ones dropped");
    }
}
