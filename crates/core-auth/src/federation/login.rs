//! What a validated upstream identity means here: sign in the linked user,
//! link to an existing account, ask for that account's password first,
//! create a new account, or refuse. Each decision and everything it writes
//! happen in one transaction, with the audit rows that say what was made
//! (a new account, a link and how it was justified): a refusal or a
//! failure leaves nothing behind.

use crate::actor::Actor;
use crate::audit::EventKind;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::users;

use super::identity::UpstreamIdentity;
use super::links::{self, Linked};
use super::provider::UpstreamProvider;

/// Why the flow was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// From the sign-in page; a sign-in starts the session with public id
    /// `sid` (its rows carry it).
    SignIn { sid: String },
    /// From the account page of this signed-in user: add a link.
    Link { user_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Sign this user in. `created`: the account was made just now;
    /// `linked`: the link was made just now.
    SignIn {
        user_id: String,
        created: bool,
        linked: bool,
    },
    /// Link mode: the identity is now linked to the signed-in user.
    Linked,
    /// An account has the upstream's address, but the upstream (or that
    /// account's address) is not trusted for linking: the person must sign
    /// in with that account's password to confirm.
    ConfirmWithPassword {
        user_id: String,
    },
    Refused(Refusal),
}

/// Why a sign-in through a provider was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `allowed_email_domains` is set and the verified address is outside it.
    DomainNotAllowed,
    /// A new account needs an address and the provider gave none.
    NoEmail,
    /// Nobody has this identity and the provider does not allow registration.
    RegistrationClosed,
    AccountDisabled,
    /// This upstream account is linked to another local user.
    LinkedToAnotherUser,
    /// The local user already has a link with this provider.
    ProviderAlreadyLinked,
}

impl Refusal {
    /// A stable code for logs and the audit trail.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::DomainNotAllowed => "domain_not_allowed",
            Refusal::NoEmail => "no_email",
            Refusal::RegistrationClosed => "registration_closed",
            Refusal::AccountDisabled => "account_disabled",
            Refusal::LinkedToAnotherUser => "linked_to_another_user",
            Refusal::ProviderAlreadyLinked => "provider_already_linked",
        }
    }

    /// What the person reads.
    pub fn message(&self, provider: &str) -> String {
        match self {
            Refusal::DomainNotAllowed => format!(
                "Sign-in through {provider} is limited to certain email domains, and the verified address of your {provider} account is not in one of them."
            ),
            Refusal::NoEmail => format!(
                "{provider} did not share an email address, which a new account needs. Allow access to your email address at {provider} and try again."
            ),
            Refusal::RegistrationClosed => format!(
                "There is no account linked to this {provider} account, and new accounts cannot be created through {provider}. Sign in another way, then link {provider} from your account page."
            ),
            Refusal::AccountDisabled => "This account is disabled. Contact your administrator if you think this is a mistake.".into(),
            Refusal::LinkedToAnotherUser => format!(
                "This {provider} account is already linked to another account here."
            ),
            Refusal::ProviderAlreadyLinked => format!(
                "Your account is already linked to another {provider} account. Remove that link first."
            ),
        }
    }
}

/// The domain restriction: with `allowed_email_domains` set, the provider
/// must vouch for an address in one of the domains.
pub fn check_domain(p: &UpstreamProvider, id: &UpstreamIdentity) -> Result<(), Refusal> {
    if p.allowed_email_domains.is_empty() {
        return Ok(());
    }
    if id.email.is_empty() || !id.email_verified || !p.domain_allowed(&id.email) {
        return Err(Refusal::DomainNotAllowed);
    }
    Ok(())
}

/// A name for a new account: the upstream's, else the address's local part.
fn name_for(id: &UpstreamIdentity, email: &str) -> String {
    if !id.name.is_empty() {
        return id.name.clone();
    }
    email.split('@').next().unwrap_or(email).to_string()
}

/// Records a link made now, and why it was allowed: `account_page` (the
/// signed-in user asked for it), `verified_email` (both sides vouch for the
/// address of an existing account), `new_account` (the account was created
/// from this identity: no address was matched).
pub(super) fn record_link(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    provider: &str,
    how: &'static str,
    now: UnixTime,
) -> CoreResult<()> {
    let who = Actor {
        actor_user_id: Some(user_id.to_string()),
        ..actor.clone()
    };
    audit::record(
        c,
        &who,
        Event::success(EventKind::UpstreamLinkCreated)
            .subject(user_id)
            .with("provider", provider)
            .with("how", how),
        now,
    )
}

/// Decides what `id`, just validated, means, and writes the link or the new
/// account that decision needs, with their audit rows, in one transaction.
/// A refusal changes nothing and is audited all the same: as a failed
/// `sign_in` (method `upstream`), or a failed `upstream_link_created` when
/// the signed-in person was adding a link.
pub(super) fn resolve(
    conn: &mut DbConn,
    actor: &Actor,
    p: &UpstreamProvider,
    id: &UpstreamIdentity,
    mode: &Mode,
    now: UnixTime,
) -> CoreResult<Resolution> {
    // A sign-in's rows carry the session it starts; a link's, the
    // session it was asked from.
    let acting = match mode {
        Mode::SignIn { sid } => Actor {
            session_id: Some(sid.clone()),
            ..actor.clone()
        },
        Mode::Link { .. } => actor.clone(),
    };
    write_tx(conn, |c| {
        let r = match check_domain(p, id) {
            Err(refused) => Resolution::Refused(refused),
            Ok(()) => decide(c, &acting, p, id, mode, now)?,
        };
        match (&r, mode) {
            (Resolution::SignIn { user_id, .. }, _) => {
                let who = Actor {
                    actor_user_id: Some(user_id.clone()),
                    ..acting.clone()
                };
                audit::record(
                    c,
                    &who,
                    Event::success(EventKind::SignIn)
                        .subject(user_id)
                        .with("method", "upstream")
                        .with("provider", p.id.as_str()),
                    now,
                )?;
            }
            (Resolution::Refused(why), Mode::SignIn { .. }) => {
                audit::record(c, actor, failed(&p.id, why.code()), now)?;
            }
            (Resolution::Refused(why), Mode::Link { user_id }) => {
                let e = Event::failure(EventKind::UpstreamLinkCreated)
                    .subject(user_id)
                    .with("provider", p.id.as_str())
                    .with("reason", why.code());
                audit::record(c, actor, e, now)?;
            }
            _ => {}
        }
        Ok(r)
    })
}

/// The audit row of a sign-in through provider `provider` that did not
/// happen (`reason`: why).
pub fn failed(provider: &str, reason: &str) -> Event {
    Event::failure(EventKind::SignIn)
        .with("method", "upstream")
        .with("provider", provider)
        .with("reason", reason)
}

/// [`resolve`]'s decision, inside its transaction.
fn decide(
    c: &mut DbConn,
    actor: &Actor,
    p: &UpstreamProvider,
    id: &UpstreamIdentity,
    mode: &Mode,
    now: UnixTime,
) -> CoreResult<Resolution> {
    {
        if let Some(link) = links::find(c, &p.id, &id.subject)? {
            return match mode {
                Mode::Link { user_id } if *user_id == link.user_id => {
                    links::touch(c, &p.id, &id.subject, &id.email, now)?;
                    Ok(Resolution::Linked)
                }
                Mode::Link { .. } => Ok(Resolution::Refused(Refusal::LinkedToAnotherUser)),
                Mode::SignIn { .. } => {
                    let user =
                        users::find_by_id(c, &link.user_id)?.ok_or(CoreError::NotFound("user"))?;
                    if user.disabled {
                        return Ok(Resolution::Refused(Refusal::AccountDisabled));
                    }
                    links::touch(c, &p.id, &id.subject, &id.email, now)?;
                    Ok(Resolution::SignIn {
                        user_id: user.id,
                        created: false,
                        linked: false,
                    })
                }
            };
        }
        if let Mode::Link { user_id } = mode {
            return Ok(
                match links::create(c, &p.id, &id.subject, user_id, &id.email, now)? {
                    Linked::Created(_) => {
                        record_link(c, actor, user_id, &p.id, "account_page", now)?;
                        Resolution::Linked
                    }
                    Linked::LinkedToAnotherUser => {
                        Resolution::Refused(Refusal::LinkedToAnotherUser)
                    }
                    Linked::ProviderAlreadyLinked => {
                        Resolution::Refused(Refusal::ProviderAlreadyLinked)
                    }
                },
            );
        }
        let email = users::normalize_email(&id.email).ok();
        let existing = match &email {
            Some((_, key)) => users::find_by_email(c, key)?,
            None => None,
        };
        if let Some(user) = existing {
            // Both sides must vouch for the address: the provider (trusted
            // for it, and saying it verified it) and our account (verified,
            // so nobody pre-registered someone else's address here).
            if !(p.trust_email && id.email_verified && user.email_verified) {
                return Ok(Resolution::ConfirmWithPassword { user_id: user.id });
            }
            if user.disabled {
                return Ok(Resolution::Refused(Refusal::AccountDisabled));
            }
            return Ok(
                match links::create(c, &p.id, &id.subject, &user.id, &id.email, now)? {
                    Linked::Created(_) => {
                        record_link(c, actor, &user.id, &p.id, "verified_email", now)?;
                        Resolution::SignIn {
                            user_id: user.id,
                            created: false,
                            linked: true,
                        }
                    }
                    Linked::LinkedToAnotherUser => {
                        Resolution::Refused(Refusal::LinkedToAnotherUser)
                    }
                    Linked::ProviderAlreadyLinked => {
                        Resolution::Refused(Refusal::ProviderAlreadyLinked)
                    }
                },
            );
        }
        let Some((email, key)) = email else {
            return Ok(Resolution::Refused(if p.allow_registration {
                Refusal::NoEmail
            } else {
                Refusal::RegistrationClosed
            }));
        };
        if !p.allow_registration {
            return Ok(Resolution::Refused(Refusal::RegistrationClosed));
        }
        let verified = p.trust_email && id.email_verified;
        let user = users::insert_user(
            c,
            &email,
            &key,
            &name_for(id, &email),
            None,
            verified,
            &[],
            now,
        )?;
        match links::create(c, &p.id, &id.subject, &user.user.id, &id.email, now)? {
            Linked::Created(_) => {
                let uid = &user.user.id;
                let who = Actor {
                    actor_user_id: Some(uid.clone()),
                    ..actor.clone()
                };
                audit::record(
                    c,
                    &who,
                    Event::success(EventKind::Registration)
                        .subject(uid)
                        .with("provider", p.id.as_str())
                        .with("email_verified", verified),
                    now,
                )?;
                record_link(c, actor, uid, &p.id, "new_account", now)?;
                Ok(Resolution::SignIn {
                    user_id: user.user.id,
                    created: true,
                    linked: true,
                })
            }
            // Cannot happen for a user made in this transaction; refuse
            // (and roll the account back) rather than guess.
            _ => Err(CoreError::Database(
                diesel::result::Error::RollbackTransaction,
            )),
        }
    }
}
