//! The account use cases of the person who owns the account: registration
//! with verification (`accounts/register.rs`), password reset
//! (`accounts/reset.rs`), and the changes a signed-in person makes to
//! their own account (`accounts/change.rs`: password, email, consents).
//!
//! Each does its checks, its change, the mail the change sends (queued in
//! the outbox) and its audit row in one transaction, and none of them
//! reveals whether an address has an account. The faces (the pages) say
//! who acts with an [`Actor`](crate::actor::Actor) and render the answer.

mod change;
mod register;
mod reset;

pub use change::{
    change_password, request_email_change, withdraw_consent, Change, Proof, RECENT_SIGN_IN_SECS,
};
pub use register::{register, resend_verification, verify, Registered, Resend, Verify};
pub use reset::{
    check_reset_link, request_reset, reset_password, resolve_reset_requests, Reset, ResetRequest,
};

use crate::config::Config;
use crate::keys::Kek;
use crate::secret::Secret;

/// What mail needs: configuration and the key that encrypts the outbox.
#[derive(Clone, Copy)]
pub struct Mailer<'a> {
    pub config: &'a Config,
    pub kek: &'a Kek,
}

impl Mailer<'_> {
    fn link(&self, path: &str, token: &Secret) -> String {
        format!("{}{path}?token={}", self.config.issuer, token.expose())
    }
}
