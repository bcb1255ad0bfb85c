//! Who acts, from where, and how recently they proved who they are.
//!
//! Every use case takes an [`Actor`]: the faces (pages, protocol
//! endpoints, console, admin API, command line) say who is calling, and
//! the domain decides what that caller may do. The audit row of the
//! action is written from it.

use crate::clock::UnixTime;
use crate::error::{CoreError, CoreResult};

/// How the actor reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Via {
    /// Nobody signed in (a sign-in attempt, a registration).
    #[default]
    Anonymous,
    /// A person with a browser session (pages, console).
    Session,
    /// The bearer of an access token (admin API).
    Token,
    /// The command line, run by whoever operates the server.
    Cli,
    /// The server's own background jobs.
    System,
}

#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub via: Via,
    pub actor_user_id: Option<String>,
    pub ip: String,
    pub user_agent: String,
    /// The session's public id (`sid`).
    pub session_id: Option<String>,
    /// The client acting through the admin API with its own token
    /// (client_credentials); written as the audit row's client when the
    /// event names none.
    pub actor_client_id: Option<String>,
    /// When the actor last proved who they are: the session's sign-in (or
    /// re-authentication), a user token's `auth_time`, a client token's
    /// issue time. `None`: never (or not applicable).
    pub authenticated_at: Option<UnixTime>,
}

impl Actor {
    /// Nobody signed in, from `ip` with `user_agent`.
    pub fn anonymous(ip: impl Into<String>, user_agent: impl Into<String>) -> Self {
        Actor {
            ip: ip.into(),
            user_agent: user_agent.into(),
            ..Default::default()
        }
    }

    /// For actions from the command line.
    pub fn cli() -> Self {
        Actor {
            via: Via::Cli,
            user_agent: "portcullis-cli".into(),
            ..Default::default()
        }
    }

    /// For the server's own background jobs.
    pub fn system() -> Self {
        Actor {
            via: Via::System,
            user_agent: "portcullis".into(),
            ..Default::default()
        }
    }

    /// The same party, now known as `user_id` in session `sid` (after a
    /// sign-in, at `now`).
    pub fn signed_in(self, user_id: &str, sid: &str, now: UnixTime) -> Self {
        Actor {
            via: Via::Session,
            actor_user_id: Some(user_id.to_string()),
            session_id: Some(sid.to_string()).filter(|s| !s.is_empty()),
            authenticated_at: Some(now),
            ..self
        }
    }

    /// True for the command line and the server itself, which act with
    /// the operator's authority and are never asked to re-authenticate.
    pub fn is_local(&self) -> bool {
        matches!(self.via, Via::Cli | Via::System)
    }

    /// Refuses with [`CoreError::ReauthRequired`] unless the actor proved
    /// who they are within `window_secs` of `now` (0: in this very
    /// second, that is, in this request). Local actors always pass.
    pub fn require_fresh(&self, window_secs: i64, now: UnixTime) -> CoreResult<()> {
        if self.is_local() {
            return Ok(());
        }
        match self.authenticated_at {
            Some(at) if now - at <= window_secs.max(0) => Ok(()),
            _ => Err(CoreError::ReauthRequired {
                max_age: window_secs.max(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_is_measured_from_the_last_proof() {
        let a = Actor::anonymous("192.0.2.1", "t").signed_in("u1", "s1", 1_000);
        assert!(a.require_fresh(600, 1_600).is_ok());
        assert!(matches!(
            a.require_fresh(600, 1_601),
            Err(CoreError::ReauthRequired { max_age: 600 })
        ));
        // 0 asks every time: only a proof in this same second counts.
        assert!(a.require_fresh(0, 1_000).is_ok());
        assert!(a.require_fresh(0, 1_001).is_err());
        // Never proved: always asked.
        assert!(Actor::anonymous("", "").require_fresh(600, 0).is_err());
        // The operator's own command line and jobs are not asked.
        assert!(Actor::cli().require_fresh(0, 1_000_000).is_ok());
        assert!(Actor::system().require_fresh(0, 1_000_000).is_ok());
    }
}
