//! Upstream identity providers: the `[[upstream]]` configuration tables,
//! the presets (Google, GitHub, Microsoft, GitLab) that fill in everything
//! but the id and secret (checked in `check.rs`).
//!
//! As everywhere in the configuration, an empty string means "not set";
//! [`validate`] fills such values from the preset (or the generic defaults)
//! so that code after start-up reads complete settings.

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

pub use super::check::{check, id_problem, validate, Problem};

/// How Portcullis talks to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// OpenID Connect: endpoints and keys from discovery, identity from a
    /// validated ID token (and the userinfo endpoint).
    Oidc,
    /// Plain OAuth 2.0 (GitHub-style): configured endpoints, identity from a
    /// user-info JSON document through a field mapping.
    Oauth2,
}

/// How the client authenticates at the provider's token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// In the form body (`client_secret_post`).
    Post,
    /// Not configured: what discovery advertises (Basic when it allows it).
    Auto,
}

/// One `[[upstream]]` table.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamProvider {
    /// Short name in URLs (`/login/upstream/<id>`): lowercase letters,
    /// digits, `-` and `_`.
    pub id: String,
    /// `google`, `github`, `microsoft`, `gitlab`, or empty for a provider
    /// configured key by key.
    pub preset: String,
    /// `oidc` or `oauth2`; a preset sets it.
    pub kind: String,
    /// Shown on the button: "Sign in with <display_name>".
    pub display_name: String,
    /// A built-in icon (`google`, `github`, `microsoft`, `gitlab`, `openid`,
    /// `key`) or a `data:image/...;base64,` URL; empty: the preset's.
    pub icon: String,
    /// A disabled provider has no button and refuses sign-ins; its links stay.
    pub enabled: bool,
    pub client_id: String,
    /// Also `PORTCULLIS_UPSTREAM__<ID>__CLIENT_SECRET`.
    pub client_secret: String,
    /// `oidc`: the issuer; endpoints come from its discovery document.
    pub issuer: String,
    /// `microsoft` preset: the directory (tenant) id or domain; empty:
    /// `common` (any work, school or personal account).
    pub tenant: String,
    /// `oauth2`: the provider's endpoints.
    pub authorization_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    /// `oauth2`, optional: a GitHub-style list of the person's addresses
    /// (`[{"email", "primary", "verified"}]`), for the verified primary one.
    pub emails_url: String,
    /// Scopes to ask for; empty: the preset's (`openid email profile` for
    /// OpenID Connect).
    pub scopes: Vec<String>,
    /// `oauth2`: which user-info fields hold the subject, the email address,
    /// whether it is verified, and the name (dotted paths for nested fields;
    /// `name_field` may list fallbacks: `name,login`).
    pub subject_field: String,
    pub email_field: String,
    pub email_verified_field: String,
    pub name_field: String,
    /// `client_secret_basic` or `client_secret_post`; empty: Basic unless
    /// discovery says the provider only takes the secret in the body.
    pub token_auth_method: String,
    /// Only people whose verified address is in one of these domains may sign
    /// in through this provider; empty: any.
    pub allowed_email_domains: Vec<String>,
    /// Whether people without an account may create one by signing in here.
    pub allow_registration: bool,
    /// Whether an address this provider says is verified is believed: then a
    /// first sign-in links to the local account with that (verified)
    /// address, and new accounts start verified. Otherwise the person
    /// confirms the link with their password.
    pub trust_email: bool,
    /// Whether this provider's own multi-factor sign-in (its ID token's
    /// `amr` contains `mfa`) stands for the second factor here, so an
    /// account with a factor is not asked for it again. Off: always asked.
    pub trust_mfa: bool,
    /// Dangerous: allows `http://` provider URLs (local testing only).
    pub dangerous_allow_http: bool,
}

impl Default for UpstreamProvider {
    fn default() -> Self {
        Self {
            id: String::new(),
            preset: String::new(),
            kind: String::new(),
            display_name: String::new(),
            icon: String::new(),
            enabled: true,
            client_id: String::new(),
            client_secret: String::new(),
            issuer: String::new(),
            tenant: String::new(),
            authorization_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            emails_url: String::new(),
            scopes: Vec::new(),
            subject_field: String::new(),
            email_field: String::new(),
            email_verified_field: String::new(),
            name_field: String::new(),
            token_auth_method: String::new(),
            allowed_email_domains: Vec::new(),
            allow_registration: true,
            trust_email: false,
            trust_mfa: false,
            dangerous_allow_http: false,
        }
    }
}

impl std::fmt::Debug for UpstreamProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamProvider")
            .field("id", &self.id)
            .field("preset", &self.preset)
            .field("kind", &self.kind)
            .field("enabled", &self.enabled)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("issuer", &self.issuer)
            .field("authorization_url", &self.authorization_url)
            .finish_non_exhaustive()
    }
}

/// Icons compiled into the binary.
pub const BUILTIN_ICONS: &[&str] = &["google", "github", "microsoft", "gitlab", "openid", "key"];

impl UpstreamProvider {
    /// The validated kind (after [`validate`]).
    pub fn kind(&self) -> Kind {
        if self.kind == "oauth2" {
            Kind::Oauth2
        } else {
            Kind::Oidc
        }
    }

    pub fn token_auth(&self) -> TokenAuth {
        match self.token_auth_method.as_str() {
            "client_secret_basic" => TokenAuth::Basic,
            "client_secret_post" => TokenAuth::Post,
            _ => TokenAuth::Auto,
        }
    }

    /// Where the provider sends the browser back: register this URL with it.
    pub fn redirect_uri(&self, issuer: &str) -> String {
        format!(
            "{}/login/upstream/{}/callback",
            issuer.trim_end_matches('/'),
            self.id
        )
    }

    /// True when the Microsoft preset signs in accounts of any tenant: ID
    /// tokens then carry the tenant's own issuer (see `issuer_matches`).
    pub fn multi_tenant(&self) -> bool {
        self.preset == "microsoft"
            && matches!(
                self.tenant.as_str(),
                "common" | "organizations" | "consumers"
            )
    }

    /// Whether `iss` from an ID token is this provider's. For a
    /// multi-tenant Microsoft provider the issuer names the person's tenant
    /// (`https://login.microsoftonline.com/<tid>/v2.0`, `tid` in the token).
    pub fn issuer_matches(&self, iss: &str, tid: Option<&str>) -> bool {
        if self.multi_tenant() {
            match tid {
                Some(t)
                    if !t.is_empty()
                        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
                {
                    iss == format!("https://login.microsoftonline.com/{t}/v2.0")
                }
                _ => false,
            }
        } else {
            iss == self.issuer
        }
    }

    /// Whether `email`'s domain may sign in here.
    pub fn domain_allowed(&self, email: &str) -> bool {
        if self.allowed_email_domains.is_empty() {
            return true;
        }
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_ascii_lowercase();
        self.allowed_email_domains.contains(&domain)
    }
}

/// The environment variable that carries a provider's secret, without the
/// `PORTCULLIS_` prefix: `UPSTREAM__<ID>__CLIENT_SECRET`.
pub const ENV_PREFIX: &str = "UPSTREAM__";

/// True for `PORTCULLIS_` variables (prefix removed) that belong to
/// [`apply_env`] rather than the general environment overlay.
pub fn is_env_key(rest: &str) -> bool {
    rest.starts_with(ENV_PREFIX)
}

/// Applies `PORTCULLIS_UPSTREAM__<ID>__CLIENT_SECRET` (and `__CLIENT_ID`)
/// to the provider with that id; any other such variable is an error.
pub fn apply_env(providers: &mut [UpstreamProvider], env: &[(String, String)]) -> CoreResult<()> {
    for (key, value) in env {
        let Some(rest) = key
            .strip_prefix("PORTCULLIS_")
            .and_then(|r| r.strip_prefix(ENV_PREFIX))
        else {
            continue;
        };
        let Some((id, field)) = rest.split_once("__") else {
            return Err(CoreError::Config(format!(
                "environment variable {key}: use PORTCULLIS_UPSTREAM__<ID>__CLIENT_SECRET"
            )));
        };
        let id = id.to_ascii_lowercase().replace('-', "_");
        let Some(p) = providers.iter_mut().find(|p| p.id.replace('-', "_") == id) else {
            return Err(CoreError::Config(format!(
                "environment variable {key}: no [[upstream]] with id `{id}`"
            )));
        };
        match field {
            "CLIENT_SECRET" => p.client_secret = value.clone(),
            "CLIENT_ID" => p.client_id = value.clone(),
            _ => {
                return Err(CoreError::Config(format!(
                    "environment variable {key}: only CLIENT_ID and CLIENT_SECRET can be set"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(id: &str, preset: &str) -> UpstreamProvider {
        UpstreamProvider {
            id: id.into(),
            preset: preset.into(),
            client_id: "cid".into(),
            client_secret: "secret".into(),
            ..UpstreamProvider::default()
        }
    }

    #[test]
    fn bad_settings_name_provider_and_key() {
        for (p, key) in [
            (provider("Bad Id", "google"), "upstream[0].id"),
            (provider("x", "facebook"), "upstream.x.preset"),
            (
                UpstreamProvider {
                    kind: "saml".into(),
                    ..provider("x", "")
                },
                "upstream.x.kind",
            ),
            (provider("x", ""), "upstream.x.issuer"),
            (
                UpstreamProvider {
                    issuer: "http://idp.example.com".into(),
                    ..provider("x", "")
                },
                "dangerous_allow_http",
            ),
            (
                UpstreamProvider {
                    kind: "oauth2".into(),
                    authorization_url: "https://a.example/auth".into(),
                    ..provider("x", "")
                },
                "upstream.x.token_url",
            ),
            (
                UpstreamProvider {
                    client_secret: String::new(),
                    ..provider("x", "google")
                },
                "PORTCULLIS_UPSTREAM__X__CLIENT_SECRET",
            ),
            (
                UpstreamProvider {
                    icon: "https://cdn.example/icon.png".into(),
                    ..provider("x", "google")
                },
                "upstream.x.icon",
            ),
            (
                UpstreamProvider {
                    allowed_email_domains: vec!["not a domain".into()],
                    ..provider("x", "google")
                },
                "allowed_email_domains",
            ),
        ] {
            let e = validate(&mut [p]).unwrap_err().to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
        let e = validate(&mut [provider("a", "google"), provider("a", "github")]).unwrap_err();
        assert!(e.to_string().contains("used twice"), "{e}");
    }

    #[test]
    fn http_needs_the_dangerous_switch_and_oidc_always_asks_openid() {
        let mut list = vec![UpstreamProvider {
            issuer: "http://127.0.0.1:9/".into(),
            scopes: vec!["email".into()],
            dangerous_allow_http: true,
            ..provider("local", "")
        }];
        validate(&mut list).unwrap();
        assert_eq!(list[0].issuer, "http://127.0.0.1:9");
        assert_eq!(list[0].scopes, ["openid", "email"]);
        assert_eq!(list[0].icon, "openid");
        assert_eq!(list[0].display_name, "local");
    }

    #[test]
    fn domains_are_normalized_and_matched_exactly() {
        let mut list = vec![UpstreamProvider {
            allowed_email_domains: vec!["@Example.COM ".into()],
            ..provider("g", "google")
        }];
        validate(&mut list).unwrap();
        let p = &list[0];
        assert!(p.domain_allowed("ada@EXAMPLE.com"));
        assert!(!p.domain_allowed("ada@evil-example.com"));
        assert!(!p.domain_allowed("ada@sub.example.com"));
        assert!(!p.domain_allowed("no-at-sign"));
        assert!(provider("h", "google").domain_allowed("anyone@anywhere.org"));
    }

    /// The commented-out `[[upstream]]` table of the example configuration
    /// names every key, with its default, and parses.
    #[test]
    fn example_config_documents_every_upstream_key() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/portcullis.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let start = text
            .find("# [[upstream]]")
            .expect("an [[upstream]] example");
        let table: String = text[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#').trim_start())
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let doc: toml::Table = toml::from_str(&table).unwrap();
        let example = doc["upstream"].as_array().unwrap()[0].as_table().unwrap();
        let defaults = toml::Table::try_from(UpstreamProvider::default()).unwrap();
        let mut documented: Vec<&String> = example.keys().collect();
        let mut all: Vec<&String> = defaults.keys().collect();
        documented.sort();
        all.sort();
        assert_eq!(documented, all);
        for (k, v) in &defaults {
            if !["id", "preset"].contains(&k.as_str()) {
                assert_eq!(&example[k], v, "default of {k}");
            }
        }
        let parsed: UpstreamProvider = example.clone().try_into().unwrap();
        let mut list = vec![UpstreamProvider {
            client_id: "c".into(),
            client_secret: "s".into(),
            ..parsed
        }];
        validate(&mut list).unwrap();
    }

    #[test]
    fn secrets_come_from_the_environment_and_never_print() {
        let mut list = vec![provider("my-idp", "google")];
        list[0].client_secret.clear();
        apply_env(
            &mut list,
            &[(
                "PORTCULLIS_UPSTREAM__MY_IDP__CLIENT_SECRET".into(),
                "s3cret".into(),
            )],
        )
        .unwrap();
        assert_eq!(list[0].client_secret, "s3cret");
        assert!(!format!("{:?}", list[0]).contains("s3cret"));
        let e = apply_env(
            &mut list,
            &[(
                "PORTCULLIS_UPSTREAM__NOPE__CLIENT_SECRET".into(),
                "x".into(),
            )],
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
        let e = apply_env(
            &mut list,
            &[("PORTCULLIS_UPSTREAM__MY_IDP__ISSUER".into(), "x".into())],
        )
        .unwrap_err();
        assert!(e.to_string().contains("CLIENT_SECRET"), "{e}");
    }
}
