//! The end of a round trip to a provider: its answer, validated into an
//! [`UpstreamIdentity`], meets the sign-in in progress ([`PendingLogin`])
//! and the person at the browser (the actor). One use case decides what
//! happens (sign in, link, ask for a password, confirm who they are, or
//! refuse) and writes it with its audit rows; the web layer carries out
//! the answer in the browser session.

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};

use super::identity::UpstreamIdentity;
use super::links;
use super::login::{resolve, Mode, Refusal, Resolution};
use super::pending::{PendingLink, PendingLogin};
use super::provider::UpstreamProvider;

/// What [`finish`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    /// Sign `user_id` in, in the new session, with these methods (`amr`).
    SignIn {
        user_id: String,
        amr: Vec<String>,
    },
    /// The identity is now linked to the signed-in person's account.
    Linked,
    /// An account has the provider's address but nobody vouches for it:
    /// keep this and ask for that account's password.
    ConfirmWithPassword(PendingLink),
    /// The signed-in person confirmed who they are through their linked
    /// provider: their session's sign-in time is now.
    Reauthenticated,
    /// A confirmation through a provider by someone whose identity there
    /// is not the one linked to them: nothing was confirmed.
    NotLinkedToYou,
    /// The person who started a link or a confirmation is no longer the
    /// one signed in here: nothing was done.
    SignedOut,
    Refused(Refusal),
}

/// Carries out a validated answer of `p` for the sign-in in progress
/// `pending`, for `actor` (the person at the browser; signed in or not):
///
/// - a sign-in (from the sign-in page) is [`resolve`]d, and when it signs
///   someone in, its rows carry `sid`, the session it starts;
/// - adding a link is resolved for the signed-in person who asked, if they
///   still are;
/// - a confirmation (re-authentication) counts only when the identity is
///   the one linked to the signed-in person who asked; audited as
///   `reauth` (method `upstream`) either way.
pub fn finish(
    conn: &mut DbConn,
    actor: &Actor,
    pending: &PendingLogin,
    p: &UpstreamProvider,
    id: &UpstreamIdentity,
    sid: &str,
    now: UnixTime,
) -> CoreResult<Finished> {
    let current = actor.actor_user_id.as_deref();
    if pending.is_reauth() {
        if current != Some(pending.reauth_user_id.as_str()) {
            return Ok(Finished::SignedOut);
        }
        return reauth(conn, actor, &pending.reauth_user_id, p, id, now);
    }
    let mode = if pending.link_user_id.is_empty() {
        Mode::SignIn {
            sid: sid.to_string(),
        }
    } else if current == Some(pending.link_user_id.as_str()) {
        Mode::Link {
            user_id: pending.link_user_id.clone(),
        }
    } else {
        return Ok(Finished::SignedOut);
    };
    Ok(match resolve(conn, actor, p, id, &mode, now)? {
        Resolution::SignIn { user_id, .. } => Finished::SignIn {
            user_id,
            amr: id.session_amr(),
        },
        Resolution::Linked => Finished::Linked,
        Resolution::ConfirmWithPassword { user_id } => {
            Finished::ConfirmWithPassword(PendingLink::new(&p.id, id, &user_id, &pending.next, now))
        }
        Resolution::Refused(r) => Finished::Refused(r),
    })
}

/// The confirmation: `id` must be `p`'s link to `user_id`.
fn reauth(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    p: &UpstreamProvider,
    id: &UpstreamIdentity,
    now: UnixTime,
) -> CoreResult<Finished> {
    write_tx(conn, |c| {
        let linked = links::find(c, &p.id, &id.subject)?.is_some_and(|l| l.user_id == user_id);
        let (e, done) = if linked {
            (Event::success(EventKind::Reauth), Finished::Reauthenticated)
        } else {
            (
                Event::failure(EventKind::Reauth).with("reason", "other_account"),
                Finished::NotLinkedToYou,
            )
        };
        let e = e
            .subject(user_id)
            .with("method", "upstream")
            .with("provider", p.id.as_str());
        audit::record(c, actor, e, now)?;
        Ok::<_, CoreError>(done)
    })
}
