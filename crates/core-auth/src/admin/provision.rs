//! Accounts the operator makes with a password: `users create
//! --password-stdin` on the command line, and the first administrator
//! named by the environment at start-up. (The console and the API create
//! accounts without a password and mail an invitation: [`super::users::create`].)

use crate::audit::EventKind;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::db::write_tx;
use crate::error::{CoreError, CoreResult};
use crate::secret::Secret;
use crate::service::Core;
use crate::users::{self, NewUser, UserWithRoles, ROLE_ADMIN};

/// Creates an account with the given password, roles and verification
/// flag. Everything is validated (the password against the policy) and
/// hashed before a connection is taken; the account, its roles and the
/// audit row are written in one transaction. A taken address answers
/// [`CoreError::EmailTaken`].
pub fn create(
    core: &Core<'_>,
    actor: &Actor,
    input: &NewUser,
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    create_as(core, actor, input, false, now)
}

/// The first administrator: creates `email` with `password`, the admin
/// role and a verified address, unless an account with that address
/// exists (its password is never reset from here). Returns the account
/// when it was created.
pub fn first_admin(
    core: &Core<'_>,
    actor: &Actor,
    email: &str,
    password: Secret,
    now: UnixTime,
) -> CoreResult<Option<UserWithRoles>> {
    if crate::service::with_conn(core, |c| users::find_by_email(c, email))?.is_some() {
        return Ok(None);
    }
    let input = NewUser {
        email: email.to_string(),
        name: "Administrator".into(),
        password,
        roles: vec![ROLE_ADMIN.into()],
        email_verified: true,
    };
    match create_as(core, actor, &input, true, now) {
        Ok(u) => Ok(Some(u)),
        Err(CoreError::EmailTaken) => Ok(None),
        Err(e) => Err(e),
    }
}

fn create_as(
    core: &Core<'_>,
    actor: &Actor,
    input: &NewUser,
    first_admin: bool,
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    super::sensitive(core, actor, now)?;
    let (email, key, name) = users::validate_new_user(core.passwords, input)?;
    let hash = core.passwords.hash(input.password.expose())?;
    let mut pooled = core.conn()?;
    write_tx(&mut pooled, |c| {
        let created = users::insert_user(
            c,
            &email,
            &key,
            &name,
            Some(&hash),
            input.email_verified,
            &input.roles,
            now,
        )?;
        let mut e = Event::success(EventKind::AdminUserCreated)
            .subject(&created.user.id)
            .with("email", email.clone())
            .with("roles", json!(created.roles))
            .with("invitation", false);
        if first_admin {
            e = e.with("first_admin", true);
        }
        audit::record(c, actor, e, now)?;
        Ok(created)
    })
}
