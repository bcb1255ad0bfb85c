//! Accounts: registration, lookup, sign-in, roles.

use diesel::prelude::*;
use serde::Serialize;

use crate::clock::UnixTime;
use crate::db::schema::{user_roles, users};
use crate::db::{write_tx, DbConn, DbPool};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::password::{Passwords, Verified};
use crate::secret::Secret;

pub const ROLE_USER: &str = "user";
pub const ROLE_ADMIN: &str = "admin";
const MAX_EMAIL_LEN: usize = 254;
const MAX_NAME_LEN: usize = 200;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    #[serde(skip)]
    pub email_key: String,
    pub email_verified: bool,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
    #[serde(skip)]
    pub profile: String,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    id: &'a str,
    email: &'a str,
    email_key: &'a str,
    email_verified: bool,
    name: &'a str,
    password_hash: Option<&'a str>,
    disabled: bool,
    created_at: UnixTime,
    updated_at: UnixTime,
}

/// What a registration form or `users create` provides.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub name: String,
    pub password: Secret,
    pub roles: Vec<String>,
    pub email_verified: bool,
}

/// A user with their roles, as the account page and the CLI show it.
#[derive(Debug, Clone, Serialize)]
pub struct UserWithRoles {
    #[serde(flatten)]
    pub user: User,
    pub roles: Vec<String>,
}

/// Trims an email address and checks its form; returns it with its
/// case-insensitive key (lowercase), or the message for the form.
pub fn normalize_email(input: &str) -> Result<(String, String), String> {
    let email = input.trim();
    if email.is_empty() {
        return Err("Enter your email address.".into());
    }
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if email.len() > MAX_EMAIL_LEN
        || !domain_ok
        || email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        || !email_address::EmailAddress::is_valid(email)
    {
        return Err("Enter a valid email address, like name@example.com.".into());
    }
    Ok((email.to_string(), email.to_lowercase()))
}

pub fn normalize_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Enter your full name.".into());
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(format!("Use at most {MAX_NAME_LEN} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("Remove the control characters from your name.".into());
    }
    Ok(name.to_string())
}

/// Validates a new account; every problem is reported at once, per field.
pub fn validate_new_user(pw: &Passwords, input: &NewUser) -> CoreResult<(String, String, String)> {
    let mut errors = ValidationErrors::default();
    let email = normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    let name = normalize_name(&input.name)
        .map_err(|m| errors.add("name", m))
        .ok();
    if let Some(m) = pw.policy_violation(input.password.expose(), &input.email) {
        errors.add("password", m);
    }
    errors.into_result()?;
    match (email, name) {
        (Some((email, key)), Some(name)) => Ok((email, key, name)),
        _ => Err(CoreError::Validation(ValidationErrors::default())),
    }
}

/// Creates an account. Validation and hashing happen before any connection
/// is taken (bcrypt is slow); a taken email answers [`CoreError::EmailTaken`].
pub fn create_user(
    pool: &DbPool,
    pw: &Passwords,
    input: &NewUser,
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    let (email, email_key, name) = validate_new_user(pw, input)?;
    let hash = pw.hash(input.password.expose())?;
    let mut conn = pool.get()?;
    insert_user(
        &mut conn,
        &email,
        &email_key,
        &name,
        Some(&hash),
        input.email_verified,
        &input.roles,
        now,
    )
}

/// Inserts a validated account with its roles (`user` always included).
#[allow(clippy::too_many_arguments)]
pub fn insert_user(
    conn: &mut DbConn,
    email: &str,
    email_key: &str,
    name: &str,
    password_hash: Option<&str>,
    email_verified: bool,
    roles: &[String],
    now: UnixTime,
) -> CoreResult<UserWithRoles> {
    let id = uuid::Uuid::new_v4().to_string();
    let mut all_roles = vec![ROLE_USER.to_string()];
    for r in roles {
        if !all_roles.contains(r) {
            all_roles.push(r.clone());
        }
    }
    write_tx(conn, |c| {
        let taken: i64 = users::table
            .filter(users::email_key.eq(email_key))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Err(CoreError::EmailTaken);
        }
        diesel::insert_into(users::table)
            .values(NewUserRow {
                id: &id,
                email,
                email_key,
                email_verified,
                name,
                password_hash,
                disabled: false,
                created_at: now,
                updated_at: now,
            })
            .execute(c)
            .map_err(|e| match e {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                ) => CoreError::EmailTaken,
                other => CoreError::Database(other),
            })?;
        for role in &all_roles {
            diesel::insert_into(user_roles::table)
                .values((user_roles::user_id.eq(&id), user_roles::role.eq(role)))
                .execute(c)
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                        _,
                    ) => {
                        let mut v = ValidationErrors::default();
                        v.add("roles", format!("There is no role named {role}."));
                        CoreError::Validation(v)
                    }
                    other => CoreError::Database(other),
                })?;
        }
        crate::admin::search::index_user(c, &id, email, name)?;
        let user = users::table
            .find(&id)
            .select(User::as_select())
            .get_result(c)?;
        Ok(UserWithRoles {
            user,
            roles: all_roles.clone(),
        })
    })
}

pub fn find_by_id(conn: &mut DbConn, id: &str) -> CoreResult<Option<User>> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
        .optional()?)
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> CoreResult<Option<User>> {
    let key = email.trim().to_lowercase();
    Ok(users::table
        .filter(users::email_key.eq(key))
        .select(User::as_select())
        .get_result(conn)
        .optional()?)
}

/// Effective roles: the user's own and those of their groups.
pub fn roles_of(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<String>> {
    crate::roles::effective_roles(conn, user_id)
}

pub fn with_roles(conn: &mut DbConn, user: User) -> CoreResult<UserWithRoles> {
    let roles = roles_of(conn, &user.id)?;
    Ok(UserWithRoles { user, roles })
}

pub fn has_role(conn: &mut DbConn, user_id: &str, role: &str) -> CoreResult<bool> {
    Ok(roles_of(conn, user_id)?.iter().any(|r| r == role))
}

/// Checks an email and password. An unknown email, a missing password and a
/// wrong password take the same time and give the same error; a disabled
/// account is reported only to someone who knows its password. On success a
/// hash weaker than the configured cost is upgraded.
///
/// Takes the pool rather than a connection so that no connection is held
/// during the bcrypt verification.
pub fn authenticate(
    pool: &DbPool,
    pw: &Passwords,
    email: &str,
    password: &Secret,
    now: UnixTime,
) -> CoreResult<User> {
    let user = {
        let mut conn = pool.get()?;
        find_by_email(&mut conn, email)?
    };
    let Some(user) = user else {
        pw.verify_dummy(password.expose());
        return Err(CoreError::InvalidCredentials);
    };
    let Some(stored) = user.password_hash.as_deref() else {
        pw.verify_dummy(password.expose());
        return Err(CoreError::InvalidCredentials);
    };
    match pw.verify(password.expose(), stored) {
        Verified::No => Err(CoreError::InvalidCredentials),
        Verified::Yes { .. } if user.disabled => Err(CoreError::AccountDisabled),
        Verified::Yes { rehash } => {
            if rehash {
                let new_hash = pw.hash(password.expose())?;
                let mut conn = pool.get()?;
                diesel::update(users::table.find(&user.id))
                    .set((
                        users::password_hash.eq(&new_hash),
                        users::updated_at.eq(now),
                    ))
                    .execute(&mut conn)?;
                tracing::info!(user_id = %user.id, "password hash upgraded to the configured cost");
            }
            Ok(user)
        }
    }
}

/// Users ordered by email, `limit` at most, after the email key `after`
/// (keyset pagination).
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> CoreResult<Vec<UserWithRoles>> {
    let mut q = users::table
        .select(User::as_select())
        .order(users::email_key.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(users::email_key.gt(a.to_string()));
    }
    let list: Vec<User> = q.load(conn)?;
    let ids: Vec<&str> = list.iter().map(|u| u.id.as_str()).collect();
    let pairs: Vec<(String, String)> = user_roles::table
        .filter(user_roles::user_id.eq_any(&ids))
        .select((user_roles::user_id, user_roles::role))
        .order((user_roles::user_id.asc(), user_roles::role.asc()))
        .load(conn)?;
    Ok(list
        .into_iter()
        .map(|u| {
            let roles = pairs
                .iter()
                .filter(|(id, _)| *id == u.id)
                .map(|(_, r)| r.clone())
                .collect();
            UserWithRoles { user: u, roles }
        })
        .collect())
}

pub fn set_disabled(
    conn: &mut DbConn,
    user_id: &str,
    disabled: bool,
    now: UnixTime,
) -> CoreResult<()> {
    let n = diesel::update(users::table.find(user_id))
        .set((users::disabled.eq(disabled), users::updated_at.eq(now)))
        .execute(conn)?;
    if n == 0 {
        return Err(CoreError::NotFound("user"));
    }
    if disabled {
        crate::sessions::delete_for_user(conn, user_id)?;
        crate::oidc::tokens::revoke_for_user(conn, user_id, false, now)?;
    }

    Ok(())
}

pub fn count(conn: &mut DbConn) -> CoreResult<i64> {
    Ok(users::table.count().get_result(conn)?)
}

/// Replaces the name and the profile claims (already validated).
pub fn update_profile(
    conn: &mut DbConn,
    user_id: &str,
    name: &str,
    profile: &crate::oidc::claims::Profile,
    now: UnixTime,
) -> CoreResult<User> {
    let name = normalize_name(name).map_err(|m| {
        let mut v = ValidationErrors::default();
        v.add("name", m);
        CoreError::Validation(v)
    })?;
    let n = diesel::update(users::table.find(user_id))
        .set((
            users::name.eq(&name),
            users::profile.eq(profile.to_json()),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(CoreError::NotFound("user"));
    }
    let user = find_by_id(conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    crate::admin::search::index_user(conn, user_id, &user.email, &user.name)?;
    Ok(user)
}

pub fn set_password_hash(
    conn: &mut DbConn,
    user_id: &str,
    hash: &str,
    now: UnixTime,
) -> CoreResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn mark_email_verified(conn: &mut DbConn, user_id: &str, now: UnixTime) -> CoreResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::email_verified.eq(true), users::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// Moves the account to a (verified) new address; `EmailTaken` when another
/// account has it.
pub fn set_email(conn: &mut DbConn, user_id: &str, email: &str, now: UnixTime) -> CoreResult<()> {
    let (email, key) = normalize_email(email).map_err(|m| {
        let mut v = ValidationErrors::default();
        v.add("email", m);
        CoreError::Validation(v)
    })?;
    let taken: i64 = users::table
        .filter(users::email_key.eq(&key))
        .filter(users::id.ne(user_id))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(CoreError::EmailTaken);
    }
    diesel::update(users::table.find(user_id))
        .set((
            users::email.eq(&email),
            users::email_key.eq(&key),
            users::email_verified.eq(true),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => CoreError::EmailTaken,
            other => CoreError::Database(other),
        })?;
    if let Some(u) = find_by_id(conn, user_id)? {
        crate::admin::search::index_user(conn, user_id, &u.email, &u.name)?;
    }
    Ok(())
}

/// Deletes an account (and by cascade its sessions, tokens, consents,
/// links). The last administrator cannot be deleted.
pub fn delete(conn: &mut DbConn, user_id: &str) -> CoreResult<User> {
    write_tx(conn, |c| {
        let user = find_by_id(c, user_id)?.ok_or(CoreError::NotFound("user"))?;
        // Only enabled administrators count: a disabled one cannot sign in.
        let admins = crate::roles::enabled_users_with_role(c, ROLE_ADMIN)?;
        if admins.len() == 1 && admins[0] == user_id {
            let mut v = ValidationErrors::default();
            v.add(
                "user",
                "This is the last administrator; make someone else an administrator first.",
            );
            return Err(CoreError::Validation(v));
        }
        diesel::delete(users::table.find(user_id)).execute(c)?;
        Ok(user)
    })
}

/// Finds by id or email (for the CLI and the admin API).
pub fn find(conn: &mut DbConn, id_or_email: &str) -> CoreResult<Option<User>> {
    match find_by_id(conn, id_or_email)? {
        Some(u) => Ok(Some(u)),
        None if id_or_email.contains('@') => find_by_email(conn, id_or_email),
        None => Ok(None),
    }
}
