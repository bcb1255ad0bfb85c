//! Configuration: a TOML file plus an environment overlay
//! (`PORTCULLIS_<KEY>`, `__` between nested keys) into one typed struct.
//! Unknown keys are errors. Every key is documented, with its default, in
//! `config/portcullis.example.toml`; a test keeps the two in step.
//!
//! Config values never use `Option`: an empty string means "not set", so the
//! example file can show every key and the drift test can see every key.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

mod env;
mod sections;

pub use sections::*;

use env::{describe_figment_error, env_overlay};

/// Environment variables with the `PORTCULLIS_` prefix that are not config
/// keys (they carry secrets or are read before the config).
pub const ENV_ONLY: &[&str] = &[
    "CONFIG",
    "BOOTSTRAP_ADMIN_EMAIL",
    "BOOTSTRAP_ADMIN_PASSWORD",
    "KEY_ENCRYPTION_KEY",
];
/// Prefix (after `PORTCULLIS_`) reserved for the test harness.
pub const ENV_TEST_PREFIX: &str = "TEST_";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Public base URL; the `iss` of every token.
    pub issuer: String,
    /// Listen address; empty means the host and port of the issuer.
    pub bind: String,
    /// Where SQLite data, dev keys and the file outbox live.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; empty means
    /// `sqlite://<data_dir>/portcullis.db`.
    pub database_url: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,portcullis=debug`.
    pub log_level: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// A request body not received in full within this many seconds of
    /// the handler starting to read it is answered 408 (slow clients).
    pub body_read_timeout_secs: u64,
    /// Requests one client address may have in progress at once on a node;
    /// more answer 429 at once (slow clients cannot hold every worker).
    pub max_requests_per_ip: u32,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Threads of the protocol endpoints' compute pool (signatures and the
    /// database reads beside them, for /token, /userinfo, /introspect,
    /// /revoke); 0 means one per CPU core. bcrypt has its own threads, the
    /// token endpoint's writes their group-commit thread, and pages keep
    /// the blocking pool.
    pub blocking_threads: usize,
    /// Upstream identity providers people can sign in with (`[[upstream]]`
    /// tables; see `federation::provider`). Empty by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<crate::federation::UpstreamProvider>,
    pub database: DatabaseConfig,
    pub password: PasswordConfig,
    pub session: SessionConfig,
    pub tokens: TokensConfig,
    pub keys: KeysConfig,
    pub mail: MailConfig,
    pub accounts: AccountsConfig,
    /// Proxies (IP addresses or CIDR ranges) whose `X-Forwarded-For` is
    /// believed. Empty: forwarded headers are ignored.
    pub trusted_proxies: Vec<String>,
    pub rate_limits: RateLimitsConfig,
    pub throttle: ThrottleConfig,
    pub audit: AuditConfig,
    pub admin: AdminConfig,
    pub mfa: MfaConfig,
    pub prune: PruneConfig,
    pub par: ParConfig,
    pub metrics: MetricsConfig,
    pub tls: TlsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:8080".into(),
            bind: String::new(),
            data_dir: PathBuf::from("./data"),
            database_url: String::new(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            max_body_bytes: 64 * 1024,
            body_read_timeout_secs: 5,
            max_requests_per_ip: 64,
            workers: 0,
            blocking_threads: 0,
            upstream: Vec::new(),
            database: DatabaseConfig::default(),
            password: PasswordConfig::default(),
            session: SessionConfig::default(),
            tokens: TokensConfig::default(),
            keys: KeysConfig::default(),
            mail: MailConfig::default(),
            accounts: AccountsConfig::default(),
            trusted_proxies: Vec::new(),
            rate_limits: RateLimitsConfig::default(),
            throttle: ThrottleConfig::default(),
            audit: AuditConfig::default(),
            admin: AdminConfig::default(),
            mfa: MfaConfig::default(),
            prune: PruneConfig::default(),
            par: ParConfig::default(),
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Config {
    /// Loads defaults, then `file` (if given, it must exist; else
    /// `./portcullis.toml` when present), then the `PORTCULLIS_*` variables
    /// of `env`, and validates the result.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> CoreResult<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.is_file() {
                    return Err(CoreError::Config(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                fig = fig.merge(Toml::file_exact(path));
            }
            None => {
                let default = Path::new("portcullis.toml");
                if default.is_file() {
                    fig = fig.merge(Toml::file_exact(default));
                }
            }
        }
        let env: Vec<(String, String)> = env.into_iter().collect();
        fig = fig.merge(Serialized::defaults(env_overlay(env.clone())?));
        let mut cfg: Config = fig
            .extract()
            .map_err(|e| CoreError::Config(describe_figment_error(e)))?;
        crate::federation::provider::apply_env(&mut cfg.upstream, &env)?;
        cfg.validated()
    }

    /// Parses a TOML document (no file, no environment): for tests and
    /// `check-config`.
    pub fn from_toml_str(s: &str) -> CoreResult<Config> {
        let cfg: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(s))
            .extract()
            .map_err(|e| CoreError::Config(describe_figment_error(e)))?;
        cfg.validated()
    }

    /// Checks values and fills in derived defaults (`bind`, `database_url`).
    pub fn validated(mut self) -> CoreResult<Config> {
        if !(1..=600).contains(&self.par.lifetime_secs) {
            return Err(CoreError::Config(
                "par.lifetime_secs: must be between 1 and 600".into(),
            ));
        }
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| CoreError::Config(format!("issuer: not a URL ({e})")))?;
        if !matches!(issuer.scheme(), "http" | "https") {
            return Err(CoreError::Config(
                "issuer: must be an http or https URL".into(),
            ));
        }
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(CoreError::Config(
                "issuer: must not have a query or fragment".into(),
            ));
        }
        let host = issuer
            .host_str()
            .ok_or_else(|| CoreError::Config("issuer: has no host".into()))?
            .to_string();
        self.issuer = self.issuer.trim_end_matches('/').to_string();
        if self.bind.is_empty() {
            let port = issuer.port_or_known_default().unwrap_or(80);
            self.bind = format!("{host}:{port}");
        }
        if self.database_url.is_empty() {
            self.database_url =
                format!("sqlite://{}", self.data_dir.join("portcullis.db").display());
        }
        if !(4..=31).contains(&self.password.bcrypt_cost) {
            return Err(CoreError::Config(
                "password.bcrypt_cost: must be between 4 and 31".into(),
            ));
        }
        if self.password.min_length < 1 || self.password.min_length > self.password.max_length {
            return Err(CoreError::Config(
                "password.min_length: must be at least 1 and at most password.max_length".into(),
            ));
        }
        if self.password.max_length > 1024 {
            return Err(CoreError::Config(
                "password.max_length: must be at most 1024".into(),
            ));
        }
        if self.session.idle_timeout_secs <= 0 || self.session.absolute_timeout_secs <= 0 {
            return Err(CoreError::Config(
                "session: idle_timeout_secs and absolute_timeout_secs must be positive".into(),
            ));
        }
        if self.session.cookie_name.is_empty()
            || !self
                .session
                .cookie_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(CoreError::Config(
                "session.cookie_name: letters, digits, '_' and '-' only".into(),
            ));
        }
        if self.database.pool_size == 0 {
            return Err(CoreError::Config(
                "database.pool_size: must be at least 1".into(),
            ));
        }
        let t = &self.tokens;
        if t.access_token_lifetime_secs <= 0
            || t.id_token_lifetime_secs <= 0
            || t.refresh_token_idle_secs <= 0
            || t.refresh_token_absolute_secs < t.refresh_token_idle_secs
            || t.client_assertion_max_lifetime_secs <= 0
        {
            return Err(CoreError::Config(
                "tokens: lifetimes must be positive and refresh_token_absolute_secs at least refresh_token_idle_secs".into(),
            ));
        }
        if !(1..=600).contains(&t.authorization_code_lifetime_secs) {
            return Err(CoreError::Config(
                "tokens.authorization_code_lifetime_secs: must be between 1 and 600".into(),
            ));
        }
        let k = &mut self.keys;
        let mut seen = Vec::new();
        k.algorithms.retain(|a| {
            let new = !seen.contains(a);
            seen.push(*a);
            new
        });
        if !k.algorithms.contains(&crate::keys::Algorithm::DEFAULT) {
            return Err(CoreError::Config(format!(
                "keys.algorithms: must include {} (the algorithm of every client that does not choose one); e.g. [\"RS256\", \"ES256\", \"EdDSA\"]",
                crate::keys::Algorithm::DEFAULT
            )));
        }
        let k = &self.keys;
        if ![2048, 3072, 4096].contains(&k.rsa_bits) {
            return Err(CoreError::Config(
                "keys.rsa_bits: must be 2048, 3072 or 4096".into(),
            ));
        }
        if k.rotation_period_secs <= 0
            || k.prepublish_secs < 0
            || k.refresh_interval_secs <= 0
            || k.jwks_max_age_secs < 0
        {
            return Err(CoreError::Config(
                "keys: rotation_period_secs and refresh_interval_secs must be positive, prepublish_secs and jwks_max_age_secs not negative".into(),
            ));
        }
        if self.mail.from_address.is_empty() {
            self.mail.from_address = format!(
                "no-reply@{}",
                host.trim_start_matches('[').trim_end_matches(']')
            );
        }
        if !self.mail.from_address.contains('@')
            || self.mail.from_name.contains(['<', '>', '"', '\r', '\n'])
        {
            return Err(CoreError::Config(
                "mail: from_address must be an email address and from_name plain text".into(),
            ));
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp.host.trim().is_empty() {
            return Err(CoreError::Config(
                "mail.smtp.host: required when mail.transport = \"smtp\"".into(),
            ));
        }
        if self.mail.poll_interval_secs == 0
            || self.mail.max_retry_interval_secs <= 0
            || self.mail.smtp.timeout_secs == 0
        {
            return Err(CoreError::Config("mail: poll_interval_secs, max_retry_interval_secs and smtp.timeout_secs must be positive".into()));
        }
        let a = &self.accounts;
        if a.verification_link_lifetime_secs <= 0
            || a.reset_link_lifetime_secs <= 0
            || a.resend_interval_secs < 0
        {
            return Err(CoreError::Config(
                "accounts: link lifetimes must be positive".into(),
            ));
        }
        for p in &self.trusted_proxies {
            if parse_proxy(p).is_none() {
                return Err(CoreError::Config(format!(
                    "trusted_proxies: {p:?} is not an IP address or CIDR range"
                )));
            }
        }
        let t = &self.throttle;
        if t.sign_in_max_failures < 1
            || t.sign_in_window_secs < 1
            || t.reset_max_requests < 1
            || t.reset_window_secs < 1
        {
            return Err(CoreError::Config(
                "throttle: counts and windows must be positive".into(),
            ));
        }
        let r = &self.rate_limits;
        for (name, q) in [
            ("sign_in", r.sign_in),
            ("register", r.register),
            ("forgot_password", r.forgot_password),
            ("verify_resend", r.verify_resend),
            ("token", r.token),
            ("introspect", r.introspect),
            ("revoke", r.revoke),
            ("authorize", r.authorize),
            ("admin_api", r.admin_api),
        ] {
            if q.per_minute == 0 || q.burst == 0 {
                return Err(CoreError::Config(format!(
                    "rate_limits.{name}: per_minute and burst must be positive"
                )));
            }
        }
        if self.audit.retention_days < 1 {
            return Err(CoreError::Config(
                "audit.retention_days: must be at least 1".into(),
            ));
        }
        let rc = &self.tokens.roles_claim;
        if rc.is_empty()
            || [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "scope",
                "client_id",
                "jti",
            ]
            .contains(&rc.as_str())
        {
            return Err(CoreError::Config(
                "tokens.roles_claim: must be a name that is not a registered claim".into(),
            ));
        }
        self.validate_metrics_and_tls()?;
        crate::federation::provider::validate(&mut self.upstream)?;
        if self.body_read_timeout_secs == 0 || self.max_requests_per_ip == 0 {
            return Err(CoreError::Config(
                "body_read_timeout_secs and max_requests_per_ip: must be at least 1".into(),
            ));
        }
        if self.max_body_bytes < 1024 {
            return Err(CoreError::Config(
                "max_body_bytes: must be at least 1024".into(),
            ));
        }
        Ok(self)
    }

    /// True when the issuer is https (secure cookies, HSTS).
    pub fn is_https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    fn validate_metrics_and_tls(&self) -> CoreResult<()> {
        let m = &self.metrics;
        let token = &m.bearer_token;
        if !token.is_empty() && (token.len() < 16 || !token.chars().all(|c| c.is_ascii_graphic())) {
            return Err(CoreError::Config(
                "metrics.bearer_token: at least 16 printable ASCII characters, no spaces (openssl rand -hex 32)".into(),
            ));
        }
        if m.enabled && m.bind.trim().is_empty() && token.is_empty() {
            return Err(CoreError::Config(
                "metrics: with metrics.enabled and an empty metrics.bind, /metrics is on the public listener: set metrics.bearer_token, or metrics.bind to a private address such as 127.0.0.1:9100".into(),
            ));
        }
        if !m.bind.trim().is_empty() && m.bind.trim() == self.bind {
            return Err(CoreError::Config(
                "metrics.bind: must differ from bind (leave it empty to serve /metrics on the main listener)".into(),
            ));
        }
        let t = &self.tls;
        if t.cert.as_os_str().is_empty() != t.key.as_os_str().is_empty() {
            return Err(CoreError::Config(
                "tls: set both tls.cert and tls.key, or neither".into(),
            ));
        }
        if t.reload_interval_secs == 0 {
            return Err(CoreError::Config(
                "tls.reload_interval_secs: must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// A trusted proxy entry: an address or a CIDR range.
pub fn parse_proxy(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_derive_bind_and_database_url() {
        let c = Config::load(Some(Path::new("/nonexistent.toml")), env(&[]));
        assert!(c.is_err(), "an explicit missing file is an error");
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://./data/portcullis.db");
        assert_eq!(c.password.bcrypt_cost, 12);
    }

    #[test]
    fn signing_algorithms_come_from_the_file_or_the_environment() {
        use crate::keys::Algorithm::{EdDsa, Es256, Ps256, Rs256};
        let c = Config::from_toml_str("").unwrap();
        assert_eq!(c.keys.algorithms, vec![Rs256, Es256, EdDsa]);
        let c = Config::from_toml_str("[keys]\nalgorithms = [\"RS256\", \"PS256\", \"RS256\"]")
            .unwrap();
        assert_eq!(c.keys.algorithms, vec![Rs256, Ps256], "duplicates dropped");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(&file, "").unwrap();
        let c = Config::load(
            Some(&file),
            env(&[("PORTCULLIS_KEYS__ALGORITHMS", "RS256, EdDSA")]),
        )
        .unwrap();
        assert_eq!(c.keys.algorithms, vec![Rs256, EdDsa]);
        let e = Config::from_toml_str("[keys]\nalgorithms = [\"RS256\", \"ES512\"]")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("keys.algorithms") && e.contains("ES512") && e.contains("EdDSA"),
            "{e}"
        );
        let e = Config::from_toml_str("[keys]\nalgorithms = [\"ES256\"]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("keys.algorithms: must include RS256"), "{e}");
    }

    #[test]
    fn https_issuer_binds_443_and_trailing_slash_is_dropped() {
        let c = Config::from_toml_str("issuer = \"https://id.example.com/\"").unwrap();
        assert_eq!(c.issuer, "https://id.example.com");
        assert_eq!(c.bind, "id.example.com:443");
        assert!(c.is_https());
    }

    #[test]
    fn env_overlay_sets_nested_and_top_level_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            "issuer = \"http://localhost:9000\"\n[password]\nbcrypt_cost = 10\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("PORTCULLIS_PASSWORD__BCRYPT_COST", "5"),
                ("PORTCULLIS_DATABASE_URL", "postgres://postgres@127.0.0.1/x"),
                ("PORTCULLIS_BOOTSTRAP_ADMIN_PASSWORD", "not-a-config-key"),
                ("PORTCULLIS_TEST_DATABASE_URL", "ignored"),
                ("OTHER", "ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(c.issuer, "http://localhost:9000");
        assert_eq!(c.password.bcrypt_cost, 5);
        assert_eq!(c.database_url, "postgres://postgres@127.0.0.1/x");
        assert_eq!(c.bind, "localhost:9000");
    }

    #[test]
    fn unknown_keys_are_errors_in_file_and_env() {
        let e = Config::from_toml_str("isuer = \"http://x\"").unwrap_err();
        assert!(e.to_string().contains("isuer"), "{e}");
        let e = Config::from_toml_str("[password]\ncost = 3").unwrap_err();
        assert!(e.to_string().contains("cost"), "{e}");
        let e = Config::load(None, env(&[("PORTCULLIS_NOPE", "1")])).unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (doc, key) in [
            ("issuer = \"ftp://x\"", "issuer"),
            ("issuer = \"not a url\"", "issuer"),
            ("[password]\nbcrypt_cost = 40", "bcrypt_cost"),
            ("[session]\nidle_timeout_secs = 0", "session"),
            ("[password]\nbcrypt_cost = \"high\"", "bcrypt_cost"),
            ("log_format = \"xml\"", "log_format"),
            ("[metrics]\nenabled = true", "metrics.bearer_token"),
            (
                "[metrics]\nbearer_token = \"short\"",
                "metrics.bearer_token",
            ),
            (
                "bind = \"127.0.0.1:9\"\n[metrics]\nbind = \"127.0.0.1:9\"",
                "metrics.bind",
            ),
            ("[tls]\ncert = \"/etc/cert.pem\"", "tls.key"),
            (
                "[tls]\nreload_interval_secs = 0",
                "tls.reload_interval_secs",
            ),
        ] {
            let e = Config::from_toml_str(doc).unwrap_err();
            assert!(e.to_string().contains(key), "{doc}: {e}");
        }
    }

    /// Every key of the struct is in the example file and every key of the
    /// example is in the struct, with a value of the right type.
    #[test]
    fn example_config_matches_the_struct() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/portcullis.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        // The example must parse into the struct (unknown keys fail here).
        Config::from_toml_str(&text).unwrap();
        let example: toml::Table = toml::from_str(&text).unwrap();
        let defaults = toml::Table::try_from(Config::default()).unwrap();
        let mut missing = Vec::new();
        let mut extra = Vec::new();
        diff_keys("", &defaults, &example, &mut missing);
        diff_keys("", &example, &defaults, &mut extra);
        assert!(
            missing.is_empty(),
            "keys missing from the example: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "keys in the example but not the struct: {extra:?}"
        );
    }

    fn diff_keys(prefix: &str, a: &toml::Table, b: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in a {
            let path = format!("{prefix}{k}");
            match (v, b.get(k)) {
                (_, None) => out.push(path),
                (toml::Value::Table(ta), Some(toml::Value::Table(tb))) => {
                    diff_keys(&format!("{path}."), ta, tb, out)
                }
                _ => {}
            }
        }
    }
}
