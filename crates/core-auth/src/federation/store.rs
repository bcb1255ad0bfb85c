//! Providers managed at run time (the admin console), stored in the
//! database next to those of the configuration file, so every node sees
//! the same list. The settings are the `[[upstream]]` keys as JSON; the
//! client secret is encrypted with the key-encryption key (empty: none).
//!
//! Configured providers win: a stored provider cannot take a configured
//! provider's id.

use diesel::prelude::*;

use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::schema::upstream_providers;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult, ValidationErrors};
use crate::keys::Kek;

use super::provider::{check, validate, UpstreamProvider};

const AAD: &[u8] = b"portcullis upstream client secret";

#[derive(Queryable)]
struct Row {
    id: String,
    settings: String,
    client_secret: String,
}

fn decode(kek: &Kek, r: Row) -> CoreResult<UpstreamProvider> {
    let mut p: UpstreamProvider = serde_json::from_str(&r.settings)
        .map_err(|e| CoreError::Config(format!("stored upstream provider {}: {e}", r.id)))?;
    p.client_secret = open_secret(kek, &r.client_secret)?;
    p.id = r.id;
    let mut one = [p];
    validate(&mut one)?;
    let [p] = one;
    Ok(p)
}

fn rows(conn: &mut DbConn) -> CoreResult<Vec<Row>> {
    Ok(upstream_providers::table
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::client_secret,
        ))
        .order(upstream_providers::id.asc())
        .load(conn)?)
}

/// The stored providers, validated. One that no longer validates (its
/// preset changed, say) is left out with a warning rather than breaking
/// the sign-in page.
pub fn list_stored(conn: &mut DbConn, kek: &Kek) -> CoreResult<Vec<UpstreamProvider>> {
    let mut out = Vec::new();
    for r in rows(conn)? {
        let id = r.id.clone();
        match decode(kek, r) {
            Ok(p) => out.push(p),
            Err(e) => {
                tracing::warn!(provider = %id, error = %e, "stored upstream provider skipped")
            }
        }
    }
    Ok(out)
}

/// Every provider: those of the configuration, then the stored ones.
pub fn all(conn: &mut DbConn, cfg: &Config, kek: &Kek) -> CoreResult<Vec<UpstreamProvider>> {
    let mut list = cfg.upstream.clone();
    for p in list_stored(conn, kek)? {
        if !list.iter().any(|c| c.id == p.id) {
            list.push(p);
        }
    }
    Ok(list)
}

/// The enabled provider with this id, if any.
pub fn find_enabled(
    conn: &mut DbConn,
    cfg: &Config,
    kek: &Kek,
    id: &str,
) -> CoreResult<Option<UpstreamProvider>> {
    if let Some(p) = cfg.upstream.iter().find(|p| p.id == id) {
        return Ok(Some(p.clone()).filter(|p| p.enabled));
    }
    let row: Option<Row> = upstream_providers::table
        .find(id)
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::client_secret,
        ))
        .first(conn)
        .optional()?;
    match row {
        Some(r) => Ok(Some(decode(kek, r)?).filter(|p| p.enabled)),
        None => Ok(None),
    }
}

/// The enabled providers linked to the user `user_id`, in configuration
/// order: (id, display name), for "Confirm with …" buttons (the account
/// page, the console's re-authentication).
pub fn linked_enabled(
    conn: &mut DbConn,
    cfg: &Config,
    kek: &Kek,
    user_id: &str,
) -> CoreResult<Vec<(String, String)>> {
    let links = super::links::for_user(conn, user_id)?;
    Ok(all(conn, cfg, kek)?
        .into_iter()
        .filter(|p| p.enabled && links.iter().any(|l| l.provider == p.id))
        .map(|p| (p.id, p.display_name))
        .collect())
}

/// Ids of the providers people can sign in with now (for the rule that
/// nobody removes their last way to sign in).
pub fn usable_ids(conn: &mut DbConn, cfg: &Config, kek: &Kek) -> CoreResult<Vec<String>> {
    Ok(all(conn, cfg, kek)?
        .into_iter()
        .filter(|p| p.enabled)
        .map(|p| p.id)
        .collect())
}

/// A stored provider as it was saved: empty settings stay empty (the
/// preset's value applies), and the client secret is not in it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub settings: UpstreamProvider,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[derive(Queryable)]
struct SettingsRow {
    id: String,
    settings: String,
    created_at: UnixTime,
    updated_at: UnixTime,
}

fn stored_of(r: SettingsRow) -> CoreResult<Stored> {
    let mut settings: UpstreamProvider = serde_json::from_str(&r.settings)
        .map_err(|e| CoreError::Config(format!("stored upstream provider {}: {e}", r.id)))?;
    settings.id = r.id;
    settings.client_secret = String::new();
    Ok(Stored {
        settings,
        created_at: r.created_at,
        updated_at: r.updated_at,
    })
}

/// The stored providers as saved (for editing), by id. One whose settings
/// no longer parse is left out with a warning, as in [`list_stored`].
pub fn list_settings(conn: &mut DbConn) -> CoreResult<Vec<Stored>> {
    let rows: Vec<SettingsRow> = upstream_providers::table
        .order(upstream_providers::id.asc())
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::created_at,
            upstream_providers::updated_at,
        ))
        .load(conn)?;
    let mut out = Vec::new();
    for r in rows {
        let id = r.id.clone();
        match stored_of(r) {
            Ok(s) => out.push(s),
            Err(e) => {
                tracing::warn!(provider = %id, error = %e, "stored upstream provider skipped")
            }
        }
    }
    Ok(out)
}

/// The stored provider `id` as saved, without its secret.
pub fn stored(conn: &mut DbConn, id: &str) -> CoreResult<Option<Stored>> {
    let row: Option<SettingsRow> = upstream_providers::table
        .find(id)
        .select((
            upstream_providers::id,
            upstream_providers::settings,
            upstream_providers::created_at,
            upstream_providers::updated_at,
        ))
        .get_result(conn)
        .optional()?;
    row.map(stored_of).transpose()
}

/// Whether the stored provider `id` has a (non-empty) client secret.
pub fn has_secret(conn: &mut DbConn, kek: &Kek, id: &str) -> CoreResult<bool> {
    Ok(!stored_secret(conn, kek, id)?.unwrap_or_default().is_empty())
}

fn stored_secret(conn: &mut DbConn, kek: &Kek, id: &str) -> CoreResult<Option<String>> {
    let enc: Option<String> = upstream_providers::table
        .find(id)
        .select(upstream_providers::client_secret)
        .get_result(conn)
        .optional()?;
    enc.map(|e| open_secret(kek, &e)).transpose()
}

/// A secret as stored: encrypted, or empty for none (a disabled provider
/// may have none; AES-GCM of nothing is not worth a ciphertext).
fn seal_secret(kek: &Kek, secret: &str) -> CoreResult<String> {
    if secret.is_empty() {
        return Ok(String::new());
    }
    kek.encrypt(AAD, secret.as_bytes())
}

fn open_secret(kek: &Kek, stored: &str) -> CoreResult<String> {
    if stored.is_empty() {
        return Ok(String::new());
    }
    String::from_utf8(kek.decrypt(AAD, stored)?)
        .map_err(|_| CoreError::Crypto("stored upstream secret is not UTF-8".into()))
}

/// Creates or replaces a stored provider after validating it. An empty
/// `client_secret` keeps the stored one. Invalid settings are a validation
/// error with a message per key (`issuer`, `client_id`, ...); an id of the
/// configuration file is refused (key `id`). Returns the provider as it
/// will be used (presets applied).
pub fn save(
    conn: &mut DbConn,
    cfg: &Config,
    kek: &Kek,
    mut p: UpstreamProvider,
    now: UnixTime,
) -> CoreResult<UpstreamProvider> {
    if cfg.upstream.iter().any(|c| c.id == p.id) {
        let mut v = ValidationErrors::default();
        v.add(
            "id",
            format!(
                "`{}` is defined in the configuration file; change it there",
                p.id
            ),
        );
        return Err(CoreError::Validation(v));
    }
    write_tx(conn, |c| {
        if p.client_secret.is_empty() {
            p.client_secret = stored_secret(c, kek, &p.id)?.unwrap_or_default();
        }
        let mut checked = p.clone();
        let mut v = ValidationErrors::default();
        for (key, message) in check(&mut checked) {
            if key == "client_secret" {
                v.add(key, "required: the secret the provider gave you (a disabled provider may go without)");
            } else {
                v.add(key, message);
            }
        }
        v.into_result()?;
        let secret = seal_secret(kek, &p.client_secret)?;
        let mut settings = p.clone();
        settings.client_secret = String::new();
        let json = serde_json::to_string(&settings)
            .map_err(|e| CoreError::Config(format!("upstream settings: {e}")))?;
        let n = diesel::update(upstream_providers::table.find(&p.id))
            .set((
                upstream_providers::settings.eq(&json),
                upstream_providers::client_secret.eq(&secret),
                upstream_providers::updated_at.eq(now),
            ))
            .execute(c)?;
        if n == 0 {
            diesel::insert_into(upstream_providers::table)
                .values((
                    upstream_providers::id.eq(&p.id),
                    upstream_providers::settings.eq(&json),
                    upstream_providers::client_secret.eq(&secret),
                    upstream_providers::created_at.eq(now),
                    upstream_providers::updated_at.eq(now),
                ))
                .execute(c)?;
        }
        Ok(checked)
    })
}

/// Deletes a stored provider (its links: `admin::providers::delete`).
pub fn delete(conn: &mut DbConn, id: &str) -> CoreResult<bool> {
    Ok(diesel::delete(upstream_providers::table.find(id)).execute(conn)? > 0)
}
