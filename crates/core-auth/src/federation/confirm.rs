//! Confirming a link with the account's password: an account already has
//! the address the provider gave, and the provider is not trusted to vouch
//! for it (see [`super::login::Resolution::ConfirmWithPassword`]), so the
//! person proves the account is theirs with its password; then the link
//! is made and they are signed in.

use crate::actor::Actor;
use crate::audit::{self, Event, EventKind};
use crate::clock::UnixTime;
use crate::db::write_tx;
use crate::error::CoreResult;
use crate::secret::Secret;
use crate::service::Core;
use crate::signin::{self, Attempt};
use crate::users;

use super::links::{self, Linked};
use super::login::{check_domain, record_link, Refusal};
use super::pending::PendingLink;
use super::store;

/// What [`confirm_with_password`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Linked; sign the user in, with these methods (`amr`: the password,
    /// then the provider's).
    Linked { user_id: String, amr: Vec<String> },
    /// The provider's rules refuse this identity (or the link exists).
    /// `provider`: the provider's display name, for the message.
    Refused { refusal: Refusal, provider: String },
    /// The password check refused (wrong, disabled account, throttled).
    Password(signin::Refusal),
    /// The pending link is too old, or its provider or account is gone:
    /// start again.
    Expired,
}

/// Links the identity waiting in `link` to its account after the person
/// proved they hold that account by giving its password: the provider's
/// rules first, then the one password check (the account's sign-in
/// throttle, audited as `sign_in` with method `upstream_link`), then the
/// link and its `upstream_link_created` row (`how` `password`) in one
/// transaction.
pub fn confirm_with_password(
    core: &Core<'_>,
    actor: &Actor,
    link: &PendingLink,
    password: &Secret,
    now: UnixTime,
) -> CoreResult<Confirmed> {
    if !link.is_live(now) {
        return Ok(Confirmed::Expired);
    }
    let (p, user) = {
        let mut c = core.conn()?;
        let p = store::find_enabled(&mut c, core.config, core.kek(), &link.provider)?;
        (p, users::find_by_id(&mut c, &link.user_id)?)
    };
    let (Some(p), Some(user)) = (p, user) else {
        return Ok(Confirmed::Expired);
    };
    let id = link.identity();
    let failed = |refused: Refusal| {
        Event::failure(EventKind::SignIn)
            .subject(&user.id)
            .with("method", "upstream_link")
            .with("provider", p.id.as_str())
            .with("reason", refused.code())
    };
    let refused = |refusal| Confirmed::Refused {
        refusal,
        provider: p.display_name.clone(),
    };
    if let Err(r) = check_domain(&p, &id) {
        audit::record(&mut *core.conn()?, actor, failed(r), now)?;
        return Ok(refused(r));
    }
    let attempt = Attempt {
        email: &user.email,
        password,
        event: EventKind::SignIn,
        detail: vec![
            ("method", "upstream_link".into()),
            ("provider", p.id.as_str().into()),
        ],
    };
    match signin::check_password(core, actor, &attempt, now)? {
        Ok(u) if u.id == user.id => {}
        Ok(_) => return Ok(Confirmed::Password(signin::Refusal::Wrong)),
        Err(r) => return Ok(Confirmed::Password(r)),
    }
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |c| {
        let r = match links::create(c, &p.id, &id.subject, &user.id, &id.email, now)? {
            Linked::Created(_) => {
                record_link(c, actor, &user.id, &p.id, "password", now)?;
                let mut amr = vec!["pwd".to_string()];
                for a in id.session_amr() {
                    if !amr.contains(&a) {
                        amr.push(a);
                    }
                }
                return Ok(Confirmed::Linked {
                    user_id: user.id.clone(),
                    amr,
                });
            }
            Linked::LinkedToAnotherUser => Refusal::LinkedToAnotherUser,
            Linked::ProviderAlreadyLinked => Refusal::ProviderAlreadyLinked,
        };
        audit::record(c, actor, failed(r), now)?;
        Ok(refused(r))
    })
}
