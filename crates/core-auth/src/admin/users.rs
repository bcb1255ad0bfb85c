//! Administrators acting on accounts: create with an invitation, edit,
//! disable, delete, send a reset link, end every session, clear throttles.

use crate::audit::EventKind;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ensure_admins, invalid, is_admin};
use crate::accounts::Mailer;
use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::{write_tx, DbConn};
use crate::email_tokens::{self, Purpose};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::mail::{self, outbox, Action, Content};
use crate::oidc::consent::{self, ConsentInfo};
use crate::oidc::tokens;
use crate::roles::{self, Group};
use crate::service::Core;
use crate::sessions::Timeouts;
use crate::throttle;
use crate::users::{self, User, UserWithRoles, ROLE_ADMIN, ROLE_USER};

/// How long an invitation's set-password link works.
pub const INVITATION_LIFETIME_SECS: i64 = 7 * 86_400;

/// A new account made by an administrator. It has no password: the
/// invitation mail carries a single-use link to choose one.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub roles: Vec<String>,
    /// Group ids.
    pub groups: Vec<String>,
}

/// What an edit changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// The user's own roles (`user` is always kept).
    pub roles: Option<Vec<String>>,
    /// Group ids.
    pub groups: Option<Vec<String>>,
    /// Disable or enable the account (see [`set_disabled`]).
    pub disabled: Option<bool>,
}

fn link(m: Mailer<'_>, token: &crate::secret::Secret) -> String {
    format!(
        "{}/reset-password?token={}",
        m.config.issuer,
        token.expose()
    )
}

fn invitation(m: Mailer<'_>, to: &str, name: &str, url: String) -> CoreResult<mail::Message> {
    let product = m.config.mail.from_name.clone();
    mail::render(
        m.config,
        to,
        name,
        Content {
            kind: "invitation",
            subject: format!("Your {product} account is ready"),
            greeting: format!("Hello {name},"),
            paragraphs: vec![format!(
                "An administrator created an account for you at {} with the address {to}. Choose a password to start using it.",
                m.config.issuer
            )],
            action: Some(Action {
                label: "Choose your password".into(),
                url,
            }),
            after: vec![format!(
                "The link works once and for {} days. If you did not expect this message, you can ignore it.",
                INVITATION_LIFETIME_SECS / 86_400
            )],
        },
    )
}

fn check_roles(c: &mut DbConn, v: &mut ValidationErrors, wanted: &[String]) -> CoreResult<()> {
    let known: Vec<String> = roles::list_roles(c)?.into_iter().map(|r| r.name).collect();
    for r in wanted {
        if !known.contains(r) {
            v.add("roles", format!("There is no role named {r}."));
        }
    }
    Ok(())
}

fn check_groups(c: &mut DbConn, v: &mut ValidationErrors, wanted: &[String]) -> CoreResult<()> {
    for g in wanted {
        if roles::find_group(c, g)?.is_none_or(|found| &found.id != g) {
            v.add("groups", format!("There is no group with id {g}."));
        }
    }
    Ok(())
}

/// Creates an account without a password and mails its owner an
/// invitation with a link to choose one (the link also verifies the
/// address).
pub fn create(
    core: &Core<'_>,
    actor: &Actor,
    input: &NewAccount,
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    super::sensitive(core, actor, now)?;
    let m = core.mailer();
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    let mut v = ValidationErrors::default();
    let email = users::normalize_email(&input.email)
        .map_err(|msg| v.add("email", msg))
        .ok();
    let name = users::normalize_name(&input.name)
        .map_err(|msg| v.add("name", msg))
        .ok();
    check_roles(conn, &mut v, &input.roles)?;
    check_groups(conn, &mut v, &input.groups)?;
    if let Some((_, key)) = &email {
        if users::find_by_email(conn, key)?.is_some() {
            v.add("email", "An account with this email address exists.");
        }
    }
    v.into_result()?;
    let (Some((email, key)), Some(name)) = (email, name) else {
        return Err(CoreError::Validation(ValidationErrors::default()));
    };
    write_tx(conn, |c| {
        let created = users::insert_user(c, &email, &key, &name, None, false, &input.roles, now)?;
        for g in &input.groups {
            roles::add_member(c, g, &created.user.id)?;
        }
        let token = email_tokens::issue(
            c,
            &created.user.id,
            Purpose::Reset,
            &email,
            INVITATION_LIFETIME_SECS,
            now,
        )?;
        outbox::enqueue(
            c,
            m.kek,
            &invitation(m, &email, &name, link(m, &token))?,
            now,
        )?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminUserCreated)
                .subject(&created.user.id)
                .with("email", email.clone())
                .with("roles", json!(created.roles))
                .with("groups", json!(input.groups))
                .with("invitation", true),
            now,
        )?;
        users::with_roles(c, created.user)
    })
}

/// Applies an edit. Renaming, a new address (with its verification flag),
/// the user's own roles and groups; the admin rules hold afterwards (see
/// [`ensure_admins`]). Audited with every change, old and new.
pub fn update(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    ch: &Changes,
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    write_tx(conn, |c| {
        let user = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let by = actor.actor_user_id.as_deref();
        let was = super::before(c, by)?;
        let mut v = ValidationErrors::default();
        let name = match &ch.name {
            Some(n) => users::normalize_name(n).map_err(|m| v.add("name", m)).ok(),
            None => None,
        };
        let email = match &ch.email {
            Some(e) => match users::normalize_email(e) {
                Ok((e, key)) => {
                    if users::find_by_email(c, &key)?.is_some_and(|o| o.id != user.id) {
                        v.add("email", "Another account has this email address.");
                    }
                    Some((e, key))
                }
                Err(m) => {
                    v.add("email", m);
                    None
                }
            },
            None => None,
        };
        if let Some(r) = &ch.roles {
            check_roles(c, &mut v, r)?;
        }
        if let Some(g) = &ch.groups {
            check_groups(c, &mut v, g)?;
        }
        v.into_result()?;

        let mut changed = serde_json::Map::new();
        let new_name = name.unwrap_or_else(|| user.name.clone());
        let (new_email, new_key) =
            email.unwrap_or_else(|| (user.email.clone(), user.email_key.clone()));
        let verified = match (&ch.email_verified, new_key != user.email_key) {
            (Some(b), _) => *b,
            // A new address is unverified unless the admin says otherwise.
            (None, true) => false,
            (None, false) => user.email_verified,
        };
        if new_name != user.name {
            changed.insert("name".into(), json!([user.name, new_name]));
        }
        if new_email != user.email {
            changed.insert("email".into(), json!([user.email, new_email]));
        }
        if verified != user.email_verified {
            changed.insert(
                "email_verified".into(),
                json!([user.email_verified, verified]),
            );
        }
        if !changed.is_empty() {
            set_account(c, &user, &new_name, &new_email, &new_key, verified, now)?;
        }
        if let Some(wanted) = &ch.roles {
            let mut wanted: Vec<String> = wanted.clone();
            if !wanted.iter().any(|r| r == ROLE_USER) {
                wanted.push(ROLE_USER.into());
            }
            let current = roles::direct_roles(c, user_id)?;
            let added: Vec<&String> = wanted.iter().filter(|r| !current.contains(r)).collect();
            let removed: Vec<&String> = current.iter().filter(|r| !wanted.contains(r)).collect();
            for r in &added {
                roles::grant_role(c, user_id, r)?;
            }
            for r in &removed {
                roles::revoke_role(c, user_id, r)?;
            }
            if !added.is_empty() {
                changed.insert("roles_added".into(), json!(added));
            }
            if !removed.is_empty() {
                changed.insert("roles_removed".into(), json!(removed));
            }
        }
        if let Some(wanted) = &ch.groups {
            let current: Vec<String> = roles::groups_of(c, user_id)?
                .into_iter()
                .map(|g| g.id)
                .collect();
            let added: Vec<&String> = wanted.iter().filter(|g| !current.contains(g)).collect();
            let removed: Vec<&String> = current.iter().filter(|g| !wanted.contains(g)).collect();
            for g in &added {
                roles::add_member(c, g, user_id)?;
            }
            for g in &removed {
                roles::remove_member(c, g, user_id)?;
            }
            if !added.is_empty() {
                changed.insert("groups_added".into(), json!(added));
            }
            if !removed.is_empty() {
                changed.insert("groups_removed".into(), json!(removed));
            }
        }
        ensure_admins(c, by, was)?;
        if !changed.is_empty() {
            audit::record(
                c,
                actor,
                Event::success(EventKind::AdminUserUpdated)
                    .subject(user_id)
                    .with("changes", serde_json::Value::Object(changed)),
                now,
            )?;
        }
        if let Some(d) = ch.disabled {
            disable_in(c, actor, user_id, d, now)?;
        }
        let fresh = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        users::with_roles(c, fresh)
    })
}

fn set_account(
    c: &mut DbConn,
    user: &User,
    name: &str,
    email: &str,
    key: &str,
    verified: bool,
    now: UnixTime,
) -> CoreResult<()> {
    use crate::db::schema::users as u;
    use diesel::prelude::*;
    diesel::update(u::table.find(&user.id))
        .set((
            u::name.eq(name),
            u::email.eq(email),
            u::email_key.eq(key),
            u::email_verified.eq(verified),
            u::updated_at.eq(now),
        ))
        .execute(c)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => invalid("email", "Another account has this email address."),
            other => CoreError::from(other),
        })?;
    if key != user.email_key {
        // Links mailed to the old address must not work for the new one.
        email_tokens::void(c, &user.id, Purpose::Reset, now)?;
        email_tokens::void(c, &user.id, Purpose::Verify, now)?;
    }
    super::search::index_user(c, &user.id, email, name)
}

/// Disables or enables an account. Disabling ends its sessions and tokens;
/// an administrator cannot disable their own account or the last enabled
/// administrator.
pub fn set_disabled(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    disabled: bool,
    now: UnixTime,
) -> CoreResult<()> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    write_tx(conn, |c| disable_in(c, actor, user_id, disabled, now))
}

fn disable_in(
    c: &mut DbConn,
    actor: &Actor,
    user_id: &str,
    disabled: bool,
    now: UnixTime,
) -> CoreResult<()> {
    let user = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
    if disabled {
        if actor.actor_user_id.as_deref() == Some(user_id) {
            return Err(invalid("user", "You cannot disable your own account."));
        }
        let mut others = 0;
        for a in roles::users_with_role(c, ROLE_ADMIN)? {
            if a != user_id && users::find_by_id(c, &a)?.is_some_and(|u| !u.disabled) {
                others += 1;
            }
        }
        if others == 0 && is_admin(c, Some(user_id))? {
            return Err(invalid(
                "user",
                "This is the last enabled administrator; make someone else an administrator first.",
            ));
        }
    }
    users::set_disabled(c, user_id, disabled, now)?;
    if user.disabled != disabled {
        let event = if disabled {
            EventKind::AdminUserDisabled
        } else {
            EventKind::AdminUserEnabled
        };
        audit::record(
            c,
            actor,
            Event::success(event)
                .subject(user_id)
                .with("email", user.email),
            now,
        )?;
    }
    Ok(())
}

/// Deletes an account (its sessions, tokens, consents and links go with it).
/// The last administrator cannot be deleted. Audited either way.
pub fn delete(core: &Core<'_>, actor: &Actor, user_id: &str, now: UnixTime) -> CoreResult<User> {
    super::sensitive(core, actor, now)?;
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    if actor.actor_user_id.as_deref() == Some(user_id) {
        audit::record(
            conn,
            actor,
            Event::failure(EventKind::AdminUserDeleted)
                .subject(user_id)
                .with("reason", "own_account"),
            now,
        )?;
        return Err(invalid(
            "user",
            "You cannot delete your own account; ask another administrator.",
        ));
    }
    let done = write_tx(conn, |c| {
        let deleted = users::delete(c, user_id)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminUserDeleted)
                .subject(&deleted.id)
                .with("email", deleted.email.clone()),
            now,
        )?;
        Ok(deleted)
    });
    if let Err(CoreError::Validation(_)) = &done {
        // Refused: nothing changed, so the refusal is a row of its own.
        audit::record(
            conn,
            actor,
            Event::failure(EventKind::AdminUserDeleted)
                .subject(user_id)
                .with("reason", "last_admin"),
            now,
        )?;
    }
    done
}

/// Mails the user a password-reset link (an invitation again when the
/// account has no password yet).
pub fn send_reset(core: &Core<'_>, actor: &Actor, user_id: &str, now: UnixTime) -> CoreResult<()> {
    let m = core.mailer();
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    write_tx(conn, |c| {
        let user = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let invite = user.password_hash.is_none();
        let lifetime = if invite {
            INVITATION_LIFETIME_SECS
        } else {
            m.config.accounts.reset_link_lifetime_secs
        };
        let token = email_tokens::issue(c, &user.id, Purpose::Reset, &user.email, lifetime, now)?;
        let msg = if invite {
            invitation(m, &user.email, &user.name, link(m, &token))?
        } else {
            mail::reset_password(m.config, &user.email, &user.name, &link(m, &token))?
        };
        outbox::enqueue(c, m.kek, &msg, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminPasswordResetSent)
                .subject(&user.id)
                .with("invitation", invite),
            now,
        )
    })
}

/// Ends every session and token of the user; returns how many sessions.
pub fn revoke_all(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<usize> {
    let mut pooled = core.conn()?;
    let conn = &mut *pooled;
    write_tx(conn, |c| {
        users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        let n = crate::sessions::delete_for_user(c, user_id)?;
        tokens::revoke_for_user(c, user_id, false, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminSessionsRevoked)
                .subject(user_id)
                .with("sessions", n as i64),
            now,
        )?;
        Ok(n)
    })
}

/// Lifts the sign-in and reset throttles of the user's address; returns
/// whether there was one.
pub fn clear_throttles(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |conn| {
        let user = users::find_by_id(conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
        clear_throttles_in(conn, actor, &user.email, Some(user_id), now)
    })
}

/// Lifts the sign-in and reset throttles of an address, whether or not an
/// account has it (the command line's `users clear-throttle`); returns
/// whether there was one. Audited (with the account, when there is one).
pub fn clear_address_throttles(
    core: &Core<'_>,
    actor: &Actor,
    email: &str,
    now: UnixTime,
) -> CoreResult<bool> {
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |conn| {
        let owner = users::find_by_email(conn, email)?.map(|u| u.id);
        clear_throttles_in(conn, actor, email, owner.as_deref(), now)
    })
}

fn clear_throttles_in(
    conn: &mut DbConn,
    actor: &Actor,
    email: &str,
    user_id: Option<&str>,
    now: UnixTime,
) -> CoreResult<bool> {
    let a = throttle::clear(conn, throttle::Kind::SignIn, email)?;
    let b = throttle::clear(conn, throttle::Kind::Reset, email)?;
    let mut e = Event::success(EventKind::AdminThrottleCleared).with("cleared", a || b);
    if let Some(u) = user_id {
        e = e.subject(u);
    }
    audit::record(conn, actor, e, now)?;
    Ok(a || b)
}

/// Everything the user page shows.
#[derive(Debug, Clone, Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserWithRoles,
    pub has_password: bool,
    pub direct_roles: Vec<String>,
    pub groups: Vec<Group>,
    pub sessions: Vec<super::sessions::SessionInfo>,
    pub consents: Vec<ConsentInfo>,
    pub identities: Vec<crate::federation::links::FederatedIdentity>,
    /// Seconds until the address may sign in again, when it is throttled.
    pub throttled_for: Option<i64>,
    pub recent_events: Vec<audit::Row>,
}

pub fn detail(
    c: &mut DbConn,
    cfg: &crate::config::Config,
    user_id: &str,
    now: UnixTime,
    t: Timeouts,
) -> CoreResult<UserDetail> {
    let user = users::find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let rule = throttle::Rule::sign_in(&cfg.throttle);
    let throttled_for = throttle::retry_after(c, throttle::Kind::SignIn, &user.email, rule, now)?;
    let filter = audit::Filter {
        user_id: Some(user_id.to_string()),
        ..Default::default()
    };
    Ok(UserDetail {
        has_password: user.password_hash.is_some(),
        direct_roles: roles::direct_roles(c, user_id)?,
        groups: roles::groups_of(c, user_id)?,
        sessions: super::sessions::for_user(c, user_id, now, t)?,
        consents: consent::list_for_user(c, user_id)?,
        identities: crate::federation::links::for_user(c, user_id)?,
        throttled_for,
        recent_events: audit::query(c, &filter, 20)?,
        user: users::with_roles(c, user)?,
    })
}
