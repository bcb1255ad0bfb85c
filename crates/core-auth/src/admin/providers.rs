//! Upstream sign-in providers as administrators see and change them (the
//! console and the API): those of the configuration file read-only, the
//! stored ones created, replaced and deleted, each change audited in its
//! transaction. Client secrets go in and never come out: every
//! [`ProviderInfo`] has an empty `client_secret`.

use crate::audit::EventKind;
use serde_json::{json, Value};

use crate::actor::Actor;
use crate::audit::{self, Event};
use crate::clock::UnixTime;
use crate::config::Config;
use crate::db::{write_tx, DbConn};
use crate::error::{CoreError, CoreResult};
use crate::federation::provider::check;
use crate::federation::{links, store, UpstreamProvider};
use crate::keys::Kek;
use crate::service::Core;

use super::invalid;

/// Where a provider is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The `[[upstream]]` tables of the configuration file: read-only here.
    Config,
    /// The database: managed in the console and the API.
    Stored,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Stored => "stored",
        }
    }
}

/// A provider for the console and the API.
#[derive(Debug, Clone)]
pub struct ProviderInfo {
    pub source: Source,
    /// The settings as entered (an empty value: the preset's or the
    /// default); for a configured provider, as the server uses them.
    pub settings: UpstreamProvider,
    /// The settings as the server uses them (preset and defaults applied);
    /// `None` when they do not validate (see `problem`).
    pub effective: Option<UpstreamProvider>,
    /// Why a stored provider's settings do not validate (it then signs
    /// nobody in).
    pub problem: Option<String>,
    /// Whether a client secret is set.
    pub has_secret: bool,
    /// How many accounts are linked to the provider's id.
    pub linked: i64,
    pub created_at: Option<UnixTime>,
    pub updated_at: Option<UnixTime>,
}

impl ProviderInfo {
    pub fn id(&self) -> &str {
        &self.settings.id
    }

    /// The effective settings when valid, else the settings as entered.
    pub fn shown(&self) -> &UpstreamProvider {
        self.effective.as_ref().unwrap_or(&self.settings)
    }
}

fn without_secret(mut p: UpstreamProvider) -> UpstreamProvider {
    p.client_secret = String::new();
    p
}

fn configured(p: &UpstreamProvider, linked: i64) -> ProviderInfo {
    let has_secret = !p.client_secret.is_empty();
    let p = without_secret(p.clone());
    ProviderInfo {
        source: Source::Config,
        has_secret,
        effective: Some(p.clone()),
        settings: p,
        problem: None,
        linked,
        created_at: None,
        updated_at: None,
    }
}

fn stored_info(s: store::Stored, has_secret: bool, linked: i64) -> ProviderInfo {
    let mut p = s.settings.clone();
    // Validation wants a secret when one is stored; it never leaves here.
    if has_secret {
        p.client_secret = "stored".into();
    }
    let problems = check(&mut p);
    let (effective, problem) = match problems.into_iter().next() {
        None => (Some(without_secret(p)), None),
        Some((key, m)) => (None, Some(format!("{key}: {m}"))),
    };
    ProviderInfo {
        source: Source::Stored,
        settings: s.settings,
        effective,
        problem,
        has_secret,
        linked,
        created_at: Some(s.created_at),
        updated_at: Some(s.updated_at),
    }
}

fn linked_count(c: &mut DbConn, id: &str) -> CoreResult<i64> {
    Ok(links::count_by_provider(c)?
        .into_iter()
        .find(|(p, _)| p == id)
        .map(|(_, n)| n)
        .unwrap_or(0))
}

/// Every provider: the configured ones (in file order), then the stored
/// ones (by id). A stored provider whose id the file took is left out (the
/// file's wins).
pub fn list(c: &mut DbConn, cfg: &Config, kek: &Kek) -> CoreResult<Vec<ProviderInfo>> {
    let counts = links::count_by_provider(c)?;
    let count = |id: &str| {
        counts
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let mut out: Vec<ProviderInfo> = cfg
        .upstream
        .iter()
        .map(|p| configured(p, count(&p.id)))
        .collect();
    for s in store::list_settings(c)? {
        if cfg.upstream.iter().any(|p| p.id == s.settings.id) {
            continue;
        }
        let n = count(&s.settings.id);
        // One unreadable secret (another key-encryption key) must not hide
        // the whole list: that provider is shown with the problem.
        match store::has_secret(c, kek, &s.settings.id) {
            Ok(has) => out.push(stored_info(s, has, n)),
            Err(e) => {
                let mut info = stored_info(s, false, n);
                info.effective = None;
                info.problem = Some(format!("client_secret: {e}"));
                out.push(info);
            }
        }
    }
    Ok(out)
}

/// The provider `id`, configured or stored.
pub fn get(c: &mut DbConn, cfg: &Config, kek: &Kek, id: &str) -> CoreResult<ProviderInfo> {
    if let Some(p) = cfg.upstream.iter().find(|p| p.id == id) {
        return Ok(configured(p, linked_count(c, id)?));
    }
    let s = store::stored(c, id)?.ok_or(CoreError::NotFound("upstream provider"))?;
    let has = store::has_secret(c, kek, id)?;
    Ok(stored_info(s, has, linked_count(c, id)?))
}

fn refuse_configured(cfg: &Config, id: &str) -> CoreResult<()> {
    if cfg.upstream.iter().any(|p| p.id == id) {
        return Err(invalid(
            "id",
            format!("`{id}` is defined in the configuration file; change it there"),
        ));
    }
    Ok(())
}

/// The names of the settings that differ (never the secret's value).
fn changed(a: &UpstreamProvider, b: &UpstreamProvider) -> Vec<String> {
    let as_map = |p: &UpstreamProvider| match serde_json::to_value(without_secret(p.clone())) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_map(a), as_map(b));
    a.iter()
        .filter(|(k, v)| b.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

/// Stores a new provider. Its id must be free (neither configured nor
/// stored); `client_secret` is required unless the provider is disabled.
pub fn create(
    core: &Core<'_>,
    actor: &Actor,
    p: UpstreamProvider,
    now: UnixTime,
) -> CoreResult<ProviderInfo> {
    super::sensitive(core, actor, now)?;
    let cfg = core.config;
    let kek = core.kek();
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    refuse_configured(cfg, &p.id)?;
    write_tx(c, |c| {
        if store::stored(c, &p.id)?.is_some() {
            return Err(invalid(
                "id",
                format!("A provider with the id `{}` exists already.", p.id),
            ));
        }
        let id = p.id.clone();
        let used = store::save(c, cfg, kek, p, now)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminUpstreamProviderCreated)
                .with("provider", id.clone())
                .with("display_name", used.display_name.clone())
                .with("kind", used.kind.clone())
                .with("preset", used.preset.clone())
                .with("enabled", used.enabled),
            now,
        )?;
        get(c, cfg, kek, &id)
    })
}

/// The settings that say whose user ids a provider's subjects are: once
/// accounts are linked to a provider, these cannot change (another server
/// could otherwise sign in as the people linked to the old one).
const IDENTITY_KEYS: &[&str] = &[
    "preset",
    "kind",
    "issuer",
    "tenant",
    "userinfo_url",
    "subject_field",
];

/// Replaces every setting of the stored provider `id` (`p.id` is ignored).
/// An empty `client_secret` keeps the stored secret. While accounts are
/// linked to it, the settings of [`IDENTITY_KEYS`] stay as they are.
pub fn update(
    core: &Core<'_>,
    actor: &Actor,
    id: &str,
    mut p: UpstreamProvider,
    now: UnixTime,
) -> CoreResult<ProviderInfo> {
    super::sensitive(core, actor, now)?;
    let cfg = core.config;
    let kek = core.kek();
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    refuse_configured(cfg, id)?;
    p.id = id.to_string();
    write_tx(c, |c| {
        let before = store::stored(c, id)?.ok_or(CoreError::NotFound("upstream provider"))?;
        let new_secret = !p.client_secret.is_empty();
        let after = without_secret(p.clone());
        let fields = changed(&before.settings, &after);
        if let Some(key) = IDENTITY_KEYS
            .iter()
            .find(|k| fields.iter().any(|f| f == *k))
        {
            let linked = linked_count(c, id)?;
            if linked > 0 {
                return Err(invalid(
                    key,
                    format!(
                        "{} linked to this provider by the user ids of the current {key}. \
                         To sign in with another provider, add it with a new id; or delete \
                         this one first, which removes its links.",
                        if linked == 1 {
                            "One account is".to_string()
                        } else {
                            format!("{linked} accounts are")
                        }
                    ),
                ));
            }
        }
        store::save(c, cfg, kek, p, now)?;
        if !fields.is_empty() || new_secret {
            audit::record(
                c,
                actor,
                Event::success(EventKind::AdminUpstreamProviderUpdated)
                    .with("provider", id)
                    .with("changed", json!(fields))
                    .with("new_secret", new_secret),
                now,
            )?;
        }
        get(c, cfg, kek, id)
    })
}

/// Deletes the stored provider `id` and the links to it (as Keycloak does):
/// a provider added later with the same id starts with no links, whoever
/// it is. Their users keep their accounts and sign in with a password (or
/// set one through "Forgot your password?") or another link.
pub fn delete(core: &Core<'_>, actor: &Actor, id: &str, now: UnixTime) -> CoreResult<ProviderInfo> {
    super::sensitive(core, actor, now)?;
    let cfg = core.config;
    let kek = core.kek();
    let mut pooled = core.conn()?;
    let c = &mut *pooled;
    refuse_configured(cfg, id)?;
    write_tx(c, |c| {
        let info = get(c, cfg, kek, id)?;
        store::delete(c, id)?;
        let removed = links::remove_all_for_provider(c, id)?;
        audit::record(
            c,
            actor,
            Event::success(EventKind::AdminUpstreamProviderDeleted)
                .with("provider", id)
                .with("display_name", info.shown().display_name.clone())
                .with("links_removed", removed),
            now,
        )?;
        Ok(info)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_named_without_the_secret() {
        let a = UpstreamProvider {
            id: "corp".into(),
            client_secret: "one".into(),
            ..UpstreamProvider::default()
        };
        let b = UpstreamProvider {
            client_secret: "two".into(),
            issuer: "https://idp.example".into(),
            trust_email: true,
            ..a.clone()
        };
        let mut got = changed(&a, &b);
        got.sort();
        assert_eq!(got, ["issuer", "trust_email"]);
        assert!(changed(&a, &a).is_empty());
    }
}
