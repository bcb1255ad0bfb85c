//! Passkeys and security keys (WebAuthn), through kanidm's `webauthn-rs`:
//! no CBOR or attestation parsing here. A passkey signs in on its own
//! (discoverable credentials, user verification required) or serves as
//! the second factor after a password or an upstream sign-in.
//!
//! The relying party id is the issuer's host; the origin, the issuer's.
//! WebAuthn needs a secure context: `https://`, or `http://localhost` for
//! development. An issuer whose host is an IP address cannot have
//! passkeys ([`availability`] says why, for start-up and the pages).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::ceremonies::{self, Purpose};
use super::{recovery, Factor, NewRecoveryCodes, Step};
use crate::actor::Actor;
use crate::audit::{self, Event, EventKind, Outcome};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::passkeys;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::secret::Secret;
use crate::service::Core;
use crate::throttle::{self, Kind, Rule};
use crate::users::{self, User};

/// Longest passkey name kept.
const MAX_NAME: usize = 64;

/// One passkey of an account, for its security page.
#[derive(Debug, Clone, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// What the browser needs to run a ceremony: the options for
/// `navigator.credentials.create()` / `.get()` (JSON, with base64url
/// binary fields) and the handle to send back with the answer.
#[derive(Debug, Clone)]
pub struct Challenge {
    pub handle: Secret,
    pub options: Value,
}

/// Why a passkey ceremony did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The ceremony is unknown, used or older than five minutes.
    Expired,
    /// The browser's answer did not verify (wrong origin, signature...).
    Invalid,
    /// A credential this server does not know (or another account's).
    UnknownPasskey,
    /// The account is disabled.
    Disabled,
    /// Too many failures for this account.
    Throttled { retry_after: i64 },
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Expired => "ceremony",
            Refusal::Invalid => "invalid",
            Refusal::UnknownPasskey => "unknown_passkey",
            Refusal::Disabled => "disabled",
            Refusal::Throttled { .. } => "throttled",
        }
    }
}

/// Whether passkeys can work with this issuer: `Err` says why not, in
/// words for the operator and the person.
pub fn availability(config: &Config) -> Result<(), String> {
    relying_party(config).map(|_| ())
}

fn relying_party(config: &Config) -> Result<Webauthn, String> {
    let origin = Url::parse(&config.issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
    let host = match origin.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(_) => return Err(
            "passkeys need the issuer to be a domain name (WebAuthn does not allow IP addresses); \
                 use https://your.domain, or http://localhost for development"
                .into(),
        ),
        None => return Err("the issuer has no host".into()),
    };
    if origin.scheme() != "https" && host != "localhost" {
        return Err(
            "passkeys need https (WebAuthn works only in a secure context); http is allowed for localhost only"
                .into(),
        );
    }
    WebauthnBuilder::new(&host, &origin)
        .and_then(|b| b.rp_name(&host).build())
        .map_err(|e| format!("WebAuthn cannot be set up for {host}: {e}"))
}

fn rp(config: &Config) -> CoreResult<Webauthn> {
    relying_party(config).map_err(|msg| {
        let mut v = ValidationErrors::default();
        v.add("passkey", msg);
        CoreError::Validation(v)
    })
}

fn to_json<T: Serialize>(v: &T) -> CoreResult<Value> {
    serde_json::to_value(v).map_err(|e| CoreError::Crypto(format!("WebAuthn options: {e}")))
}

fn cred_key(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = passkeys)]
struct Row {
    id: String,
    user_id: String,
    name: String,
    credential: String,
    created_at: UnixTime,
    last_used_at: Option<UnixTime>,
}

fn rows(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<Row>> {
    Ok(passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::created_at.asc())
        .select(Row::as_select())
        .load(conn)?)
}

fn parse(row: &Row) -> CoreResult<Passkey> {
    serde_json::from_str(&row.credential)
        .map_err(|e| CoreError::Crypto(format!("stored passkey {}: {e}", row.id)))
}

/// The account's passkeys, oldest first.
pub fn list(conn: &mut DbConn, user_id: &str) -> CoreResult<Vec<PasskeyInfo>> {
    Ok(rows(conn, user_id)?
        .into_iter()
        .map(|r| PasskeyInfo {
            id: r.id,
            name: r.name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
        .collect())
}

fn user_handle(user: &User) -> CoreResult<Uuid> {
    Uuid::parse_str(&user.id).map_err(|_| CoreError::Crypto("account id is not a UUID".into()))
}

/// Starts adding a passkey to a signed-in account. The options ask for a
/// discoverable credential (so it can sign in without an address) and
/// exclude the account's existing ones.
pub fn begin_registration(core: &Core<'_>, user_id: &str, now: UnixTime) -> CoreResult<Challenge> {
    let wa = rp(core.config)?;
    let mut conn = core.conn()?;
    let user = users::find_by_id(&mut conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let existing = rows(&mut conn, user_id)?
        .iter()
        .map(|r| parse(r).map(|p| p.cred_id().clone()))
        .collect::<CoreResult<Vec<_>>>()?;
    let display = if user.name.trim().is_empty() {
        user.email.as_str()
    } else {
        user.name.as_str()
    };
    let (ccr, state) = wa
        .start_passkey_registration(user_handle(&user)?, &user.email, display, Some(existing))
        .map_err(|e| CoreError::Crypto(format!("WebAuthn registration: {e}")))?;
    let mut options = to_json(&ccr)?;
    if let Some(sel) = options.pointer_mut("/publicKey/authenticatorSelection") {
        sel["residentKey"] = Value::from("required");
        sel["requireResidentKey"] = Value::from(true);
    }
    let handle = ceremonies::put(&mut conn, Purpose::Register, Some(user_id), &state, now)?;
    Ok(Challenge { handle, options })
}

fn clean_name(name: &str) -> Result<String, CoreError> {
    let n: String = name.trim().chars().filter(|c| !c.is_control()).collect();
    let mut v = ValidationErrors::default();
    if n.is_empty() {
        v.add("name", "Give the passkey a name, e.g. the device it is on.");
    } else if n.chars().count() > MAX_NAME {
        v.add("name", format!("At most {MAX_NAME} characters."));
    }
    v.into_result().map(|()| n)
}

/// Finishes adding a passkey: the browser's answer to [`begin_registration`]
/// for the same account. When it is the account's first factor, recovery
/// codes are made and returned (shown once). Audited as `mfa_factor_added`.
#[allow(clippy::too_many_arguments)]
pub fn finish_registration(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    handle: &str,
    name: &str,
    response: &str,
    now: UnixTime,
) -> CoreResult<Result<Option<NewRecoveryCodes>, Refusal>> {
    let name = clean_name(name)?;
    let wa = rp(core.config)?;
    let mut conn = core.conn()?;
    let Some((owner, state)) =
        ceremonies::take::<PasskeyRegistration>(&mut conn, Purpose::Register, handle, now)?
    else {
        return Ok(Err(Refusal::Expired));
    };
    if owner.as_deref() != Some(user_id) {
        return Ok(Err(Refusal::Expired));
    }
    let Ok(reg) = serde_json::from_str::<RegisterPublicKeyCredential>(response) else {
        return Ok(Err(Refusal::Invalid));
    };
    let Ok(passkey) = wa.finish_passkey_registration(&reg, &state) else {
        return Ok(Err(Refusal::Invalid));
    };
    let stored =
        serde_json::to_string(&passkey).map_err(|e| CoreError::Crypto(format!("passkey: {e}")))?;
    let id = uuid::Uuid::new_v4().to_string();
    write_tx(&mut conn, |c| {
        let first = !super::factors(c, user_id)?.any();
        let key = cred_key(passkey.cred_id());
        let taken: i64 = passkeys::table
            .filter(passkeys::credential_id.eq(&key))
            .count()
            .get_result(c)?;
        if taken > 0 {
            return Ok(Err(Refusal::Invalid));
        }
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::id.eq(&id),
                passkeys::user_id.eq(user_id),
                passkeys::name.eq(&name),
                passkeys::credential_id.eq(&key),
                passkeys::credential.eq(&stored),
                passkeys::created_at.eq(now),
            ))
            .execute(c)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::FactorAdded)
                .with("factor", Factor::Passkey.as_str())
                .with("name", name.as_str())
                .subject(user_id),
            now,
        )?;
        let codes = if first && recovery::remaining(c, user_id)? == 0 {
            Some(recovery::replace(c, actor, user_id, now)?)
        } else {
            None
        };
        Ok(Ok(codes))
    })
}

/// Starts asking a known account for one of its passkeys (the second
/// factor, or a re-authentication). `None` when it has none.
pub fn begin_for_account(
    core: &Core<'_>,
    user_id: &str,
    now: UnixTime,
) -> CoreResult<Option<Challenge>> {
    let wa = rp(core.config)?;
    let mut conn = core.conn()?;
    let keys = rows(&mut conn, user_id)?
        .iter()
        .map(parse)
        .collect::<CoreResult<Vec<_>>>()?;
    if keys.is_empty() {
        return Ok(None);
    }
    let (rcr, state) = wa
        .start_passkey_authentication(&keys)
        .map_err(|e| CoreError::Crypto(format!("WebAuthn authentication: {e}")))?;
    let handle = ceremonies::put(&mut conn, Purpose::SecondFactor, Some(user_id), &state, now)?;
    Ok(Some(Challenge {
        handle,
        options: to_json(&rcr)?,
    }))
}

/// Starts a sign-in with any passkey (the browser lets the person pick
/// one; no address asked). The options carry `mediation: "conditional"`
/// for autofill; a page's button may drop it for a modal prompt.
pub fn begin_sign_in(core: &Core<'_>, now: UnixTime) -> CoreResult<Challenge> {
    let wa = rp(core.config)?;
    let (rcr, state) = wa
        .start_discoverable_authentication()
        .map_err(|e| CoreError::Crypto(format!("WebAuthn authentication: {e}")))?;
    let mut conn = core.conn()?;
    let handle = ceremonies::put(&mut conn, Purpose::Discoverable, None, &state, now)?;
    Ok(Challenge {
        handle,
        options: to_json(&rcr)?,
    })
}

/// Records a verified use: the new counter and backup flags, last use.
fn touch(
    c: &mut DbConn,
    row: &Row,
    mut key: Passkey,
    res: &webauthn_rs::prelude::AuthenticationResult,
    now: UnixTime,
) -> CoreResult<()> {
    let credential = if key.update_credential(res) == Some(true) {
        serde_json::to_string(&key).map_err(|e| CoreError::Crypto(format!("passkey: {e}")))?
    } else {
        row.credential.clone()
    };
    diesel::update(passkeys::table.find(&row.id))
        .set((
            passkeys::credential.eq(credential),
            passkeys::last_used_at.eq(now),
        ))
        .execute(c)?;
    Ok(())
}

/// The RFC 8176 method a verified passkey counts as: `swk` for a passkey
/// that may be synced between devices (backup eligible), else `hwk`.
fn method_of(res: &webauthn_rs::prelude::AuthenticationResult) -> &'static str {
    if res.backup_eligible() {
        "swk"
    } else {
        "hwk"
    }
}

fn find_by_credential(c: &mut DbConn, cred_id: &[u8]) -> CoreResult<Option<Row>> {
    Ok(passkeys::table
        .filter(passkeys::credential_id.eq(cred_key(cred_id)))
        .select(Row::as_select())
        .get_result(c)
        .optional()?)
}

/// Finishes a passkey asked of a known account (see [`begin_for_account`]).
/// Throttled and audited like a typed second factor (`second_factor`,
/// factor `passkey`).
#[allow(clippy::too_many_arguments)]
pub fn finish_for_account(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    handle: &str,
    response: &str,
    step: Step,
    now: UnixTime,
) -> CoreResult<Result<&'static str, Refusal>> {
    let wa = rp(core.config)?;
    let mut conn = core.conn()?;
    let user = users::find_by_id(&mut conn, user_id)?.ok_or(CoreError::NotFound("user"))?;
    let rule = Rule::sign_in(&core.config.throttle);
    let base = |outcome| {
        Event::new(EventKind::SecondFactor, outcome)
            .with("factor", Factor::Passkey.as_str())
            .with("step", step.as_str())
            .subject(user_id)
    };
    if let Some(wait) = throttle::retry_after(&mut conn, Kind::SignIn, &user.email, rule, now)? {
        audit::record(
            &mut conn,
            actor,
            base(Outcome::Failure).with("reason", "throttled"),
            now,
        )?;
        return Ok(Err(Refusal::Throttled { retry_after: wait }));
    }
    let taken =
        ceremonies::take::<PasskeyAuthentication>(&mut conn, Purpose::SecondFactor, handle, now)?;
    let verified = match taken {
        Some((Some(owner), state)) if owner == user_id => {
            match serde_json::from_str::<PublicKeyCredential>(response) {
                Ok(cred) => match wa.finish_passkey_authentication(&cred, &state) {
                    Ok(res) => Ok(res),
                    Err(e) => {
                        tracing::info!(error = %e, "a passkey did not verify");
                        Err(Refusal::Invalid)
                    }
                },
                Err(e) => {
                    tracing::info!(error = %e, "a passkey answer could not be read");
                    Err(Refusal::Invalid)
                }
            }
        }
        _ => Err(Refusal::Expired),
    };
    write_tx(&mut conn, |c| match verified {
        Ok(res) => {
            let Some(row) = find_by_credential(c, res.cred_id())?.filter(|r| r.user_id == user_id)
            else {
                return Ok(Err(Refusal::UnknownPasskey));
            };
            let key = parse(&row)?;
            touch(c, &row, key, &res, now)?;
            throttle::clear(c, Kind::SignIn, &user.email)?;
            audit::record(c, actor, base(Outcome::Success), now)?;
            Ok(Ok(method_of(&res)))
        }
        Err(refusal) => {
            let count = throttle::hit(c, Kind::SignIn, &user.email, rule, now)?;
            audit::record(
                c,
                actor,
                base(Outcome::Failure)
                    .with("reason", refusal.reason())
                    .with("failures_in_window", count),
                now,
            )?;
            Ok(Err(refusal))
        }
    })
}

/// Finishes a sign-in with a passkey alone (see [`begin_sign_in`]): the
/// credential names the account. Audited as `passkey_sign_in`. Returns
/// the account and the method (`hwk` or `swk`).
pub fn finish_sign_in(
    core: &Core<'_>,
    actor: &Actor,
    handle: &str,
    response: &str,
    now: UnixTime,
) -> CoreResult<Result<(User, &'static str), Refusal>> {
    let wa = rp(core.config)?;
    let mut conn = core.conn()?;
    type Answer = CoreResult<Result<(User, &'static str), Refusal>>;
    let refuse = |c: &mut DbConn, r: Refusal, subject: Option<&str>| -> Answer {
        let mut e = Event::failure(EventKind::PasskeySignIn).with("reason", r.reason());
        if let Some(s) = subject {
            e = e.subject(s);
        }
        audit::record(c, actor, e, now)?;
        Ok(Err(r))
    };
    let Some((_, state)) = ceremonies::take::<webauthn_rs::prelude::DiscoverableAuthentication>(
        &mut conn,
        Purpose::Discoverable,
        handle,
        now,
    )?
    else {
        return refuse(&mut conn, Refusal::Expired, None);
    };
    let Ok(cred) = serde_json::from_str::<PublicKeyCredential>(response) else {
        return refuse(&mut conn, Refusal::Invalid, None);
    };
    let Ok((handle_uuid, cred_id)) = wa.identify_discoverable_authentication(&cred) else {
        return refuse(&mut conn, Refusal::Invalid, None);
    };
    let Some(row) = find_by_credential(&mut conn, cred_id)? else {
        return refuse(&mut conn, Refusal::UnknownPasskey, None);
    };
    let Some(user) = users::find_by_id(&mut conn, &row.user_id)? else {
        return refuse(&mut conn, Refusal::UnknownPasskey, None);
    };
    // The credential's user handle must be the account it is stored for.
    if Uuid::parse_str(&user.id).ok() != Some(handle_uuid) {
        return refuse(&mut conn, Refusal::UnknownPasskey, Some(&user.id));
    }
    let rule = Rule::sign_in(&core.config.throttle);
    if let Some(wait) = throttle::retry_after(&mut conn, Kind::SignIn, &user.email, rule, now)? {
        return refuse(
            &mut conn,
            Refusal::Throttled { retry_after: wait },
            Some(&user.id),
        );
    }
    let key = parse(&row)?;
    let Ok(res) = wa.finish_discoverable_authentication_v2(&cred, state, &key) else {
        // A signature that does not verify counts against the account.
        return write_tx(&mut conn, |c| {
            throttle::hit(c, Kind::SignIn, &user.email, rule, now)?;
            refuse(c, Refusal::Invalid, Some(&user.id))
        });
    };
    if user.disabled {
        return refuse(&mut conn, Refusal::Disabled, Some(&user.id));
    }
    write_tx(&mut conn, |c| {
        touch(c, &row, key, &res, now)?;
        throttle::clear(c, Kind::SignIn, &user.email)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::PasskeySignIn)
                .with("passkey", row.name.as_str())
                .subject(&user.id),
            now,
        )?;
        Ok::<_, CoreError>(())
    })?;
    let method = method_of(&res);
    Ok(Ok((user, method)))
}

/// Renames one of the account's passkeys.
pub fn rename(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    passkey_id: &str,
    name: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let name = clean_name(name)?;
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        let old: String = passkeys::table
            .find(passkey_id)
            .filter(passkeys::user_id.eq(user_id))
            .select(passkeys::name)
            .get_result(c)
            .optional()?
            .ok_or(CoreError::NotFound("passkey"))?;
        diesel::update(passkeys::table.find(passkey_id))
            .set(passkeys::name.eq(&name))
            .execute(c)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::PasskeyRenamed)
                .with("name", name.as_str())
                .with("old_name", old)
                .subject(user_id),
            now,
        )
    })
}

/// Removes one of the account's passkeys (see [`super::policy`] for when
/// the last factor may not go).
pub fn remove(
    core: &Core<'_>,
    actor: &Actor,
    user_id: &str,
    passkey_id: &str,
    now: UnixTime,
) -> CoreResult<()> {
    let mut conn = core.conn()?;
    write_tx(&mut conn, |c| {
        let name: String = passkeys::table
            .find(passkey_id)
            .filter(passkeys::user_id.eq(user_id))
            .select(passkeys::name)
            .get_result(c)
            .optional()?
            .ok_or(CoreError::NotFound("passkey"))?;
        super::policy::may_remove_factor(c, core.config, actor, user_id)?;
        diesel::delete(passkeys::table.find(passkey_id)).execute(c)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::FactorRemoved)
                .with("factor", Factor::Passkey.as_str())
                .with("name", name)
                .subject(user_id),
            now,
        )?;
        super::policy::after_factor_removed(c, user_id)
    })
}
