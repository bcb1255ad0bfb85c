//! Configuration: a TOML file plus an environment overlay
//! (`PORTCULLIS_<KEY>`, `__` between nested keys) into one typed struct.
//! Unknown keys are errors. Every key is documented, with its default, in
//! `config/portcullis.example.toml`; a test keeps the two in step.
//!
//! Config values never use `Option`: an empty string means "not set", so the
//! example file can show every key and the drift test can see every key.

use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, CoreResult};

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
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
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
    pub metrics: MetricsConfig,
    pub tls: TlsConfig,
}

/// A per-IP quota: a steady rate and the burst allowed above it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    pub per_minute: u32,
    pub burst: u32,
}

impl Quota {
    const fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute, burst }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitsConfig {
    /// Off: no per-IP limits (the per-account sign-in throttle stays).
    pub enabled: bool,
    pub sign_in: Quota,
    pub register: Quota,
    pub forgot_password: Quota,
    pub verify_resend: Quota,
    pub token: Quota,
    pub introspect: Quota,
    pub revoke: Quota,
    pub authorize: Quota,
    pub admin_api: Quota,
}

impl Default for RateLimitsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sign_in: Quota::new(30, 10),
            register: Quota::new(10, 5),
            forgot_password: Quota::new(10, 5),
            verify_resend: Quota::new(6, 3),
            token: Quota::new(6000, 1000),
            introspect: Quota::new(6000, 1000),
            revoke: Quota::new(600, 100),
            authorize: Quota::new(300, 60),
            admin_api: Quota::new(600, 100),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Failed sign-ins per address within the window before the address
    /// answers 429 for the rest of the window.
    pub sign_in_max_failures: i32,
    pub sign_in_window_secs: i64,
    /// Password-reset requests per address within the window.
    pub reset_max_requests: i32,
    pub reset_window_secs: i64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            sign_in_max_failures: 5,
            sign_in_window_secs: 15 * 60,
            reset_max_requests: 5,
            reset_window_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Audit rows older than this are deleted, in days.
    pub retention_days: i64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

/// Prometheus metrics at `/metrics`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve `/metrics` at all (off by default).
    pub enabled: bool,
    /// Empty: `/metrics` is on the main listener (and needs `bearer_token`);
    /// else a separate plain-HTTP listener, e.g. `127.0.0.1:9100`, that
    /// serves only `/metrics`.
    pub bind: String,
    /// When set, `/metrics` requires `Authorization: Bearer <token>`.
    pub bearer_token: String,
}

/// TLS served directly (rustls); empty paths: plain HTTP.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// How often the files' modification times are checked; a change
    /// reloads the certificate without a restart. In seconds.
    pub reload_interval_secs: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert: PathBuf::new(),
            key: PathBuf::new(),
            reload_interval_secs: 60,
        }
    }
}

impl TlsConfig {
    /// True when both files are configured.
    pub fn enabled(&self) -> bool {
        !self.cert.as_os_str().is_empty() && !self.key.as_os_str().is_empty()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Each message as an `.eml` file in `<data_dir>/outbox`.
    #[default]
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (only for a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    #[default]
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `file` (default) or `smtp`.
    pub transport: MailTransport,
    /// Sender address; empty means `no-reply@<issuer host>`.
    pub from_address: String,
    /// Sender display name.
    pub from_name: String,
    /// How often the outbox worker looks for mail to send, in seconds.
    pub poll_interval_secs: u64,
    /// Longest wait between two delivery attempts of one message, in seconds.
    pub max_retry_interval_secs: i64,
    pub smtp: SmtpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    /// 0: the default for the TLS mode (25, 587 or 465).
    pub port: u16,
    pub tls: SmtpTls,
    /// Empty: no authentication.
    pub username: String,
    pub password: String,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// An unverified email address cannot finish an OpenID Connect sign-in.
    pub require_verified_email: bool,
    /// Lifetime of email verification links, in seconds.
    pub verification_link_lifetime_secs: i64,
    /// Lifetime of password reset links, in seconds.
    pub reset_link_lifetime_secs: i64,
    /// A password reset also ends offline_access grants.
    pub reset_revokes_offline_grants: bool,
    /// Shortest time between two verification mails to one account, in seconds.
    pub resend_interval_secs: i64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::File,
            from_address: String::new(),
            from_name: "Portcullis".into(),
            poll_interval_secs: 2,
            max_retry_interval_secs: 900,
            smtp: SmtpConfig::default(),
        }
    }
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            tls: SmtpTls::Starttls,
            username: String::new(),
            password: String::new(),
            timeout_secs: 10,
        }
    }
}

impl Default for AccountsConfig {
    fn default() -> Self {
        Self {
            require_verified_email: false,
            verification_link_lifetime_secs: 24 * 3600,
            reset_link_lifetime_secs: 3600,
            reset_revokes_offline_grants: true,
            resend_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Access token lifetime (a client may set its own), in seconds.
    pub access_token_lifetime_secs: i64,
    /// ID token lifetime, in seconds.
    pub id_token_lifetime_secs: i64,
    /// Authorization code lifetime, in seconds (at most 600).
    pub authorization_code_lifetime_secs: i64,
    /// A refresh token unused this long expires, in seconds.
    pub refresh_token_idle_secs: i64,
    /// A refresh token family ends this long after the sign-in that began it.
    pub refresh_token_absolute_secs: i64,
    /// Longest accepted lifetime of a `private_key_jwt` client assertion.
    pub client_assertion_max_lifetime_secs: i64,
    /// Name of the claim that lists the user's roles (with the `roles` scope).
    pub roles_claim: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// RSA modulus size of new signing keys (2048, 3072 or 4096).
    pub rsa_bits: u32,
    /// An active key is replaced after this long, in seconds.
    pub rotation_period_secs: i64,
    /// A new key is published in the JWKS at least this long before it signs.
    pub prepublish_secs: i64,
    /// How often each node re-reads the key set from the database.
    pub refresh_interval_secs: i64,
    /// `Cache-Control: max-age` of the JWKS, in seconds (keep it below prepublish_secs).
    pub jwks_max_age_secs: i64,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            access_token_lifetime_secs: 600,
            id_token_lifetime_secs: 3600,
            authorization_code_lifetime_secs: 60,
            refresh_token_idle_secs: 14 * 24 * 3600,
            refresh_token_absolute_secs: 90 * 24 * 3600,
            client_assertion_max_lifetime_secs: 600,
            roles_claim: "roles".into(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            rsa_bits: 2048,
            rotation_period_secs: 30 * 24 * 3600,
            prepublish_secs: 24 * 3600,
            refresh_interval_secs: 60,
            jwks_max_age_secs: 300,
        }
    }
}

impl TokensConfig {
    /// How long anything signed today may still need verifying: a retired
    /// key stays published this long.
    pub fn longest_lifetime(&self) -> i64 {
        self.access_token_lifetime_secs
            .max(self.id_token_lifetime_secs)
            .max(self.refresh_token_absolute_secs)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// Connections in the pool.
    pub pool_size: u32,
    /// How long a request waits for a pooled connection, in seconds.
    pub connect_timeout_secs: u64,
    /// SQLite: how long a writer waits for the lock, in milliseconds.
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    /// bcrypt work factor, 4..=31. Hashes with a lower cost are upgraded at
    /// the next successful sign-in.
    pub bcrypt_cost: u32,
    /// Shortest accepted password, in characters.
    pub min_length: usize,
    /// Longest accepted password, in characters.
    pub max_length: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// Name of the session cookie (`__Host-` is prefixed when the issuer is https).
    pub cookie_name: String,
    /// A session unused for this long ends, in seconds.
    pub idle_timeout_secs: i64,
    /// A session ends this long after sign-in whatever its use, in seconds.
    pub absolute_timeout_secs: i64,
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
            workers: 0,
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
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            pool_size: 8,
            connect_timeout_secs: 5,
            busy_timeout_ms: 5_000,
        }
    }
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self {
            bcrypt_cost: 12,
            min_length: 8,
            max_length: 128,
        }
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            cookie_name: "portcullis_session".into(),
            idle_timeout_secs: 30 * 60,
            absolute_timeout_secs: 12 * 60 * 60,
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

/// Turns `PORTCULLIS_A__B=v` into `{a: {b: v}}`. Values are parsed like TOML
/// scalars (numbers, booleans), else kept as strings.
fn env_overlay(env: impl IntoIterator<Item = (String, String)>) -> CoreResult<Dict> {
    let mut root = Dict::new();
    for (key, value) in env {
        let Some(rest) = key.strip_prefix("PORTCULLIS_") else {
            continue;
        };
        if rest.is_empty()
            || ENV_ONLY.contains(&rest)
            || rest.starts_with(ENV_TEST_PREFIX)
            || crate::federation::provider::is_env_key(rest)
        {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
        if path.iter().any(|p| p.is_empty()) {
            return Err(CoreError::Config(format!(
                "environment variable {key}: empty key segment"
            )));
        }
        insert_path(&mut root, &path, parse_env_value(&value), &key)?;
    }
    Ok(root)
}

fn insert_path(dict: &mut Dict, path: &[String], value: Value, var: &str) -> CoreResult<()> {
    match path {
        [] => Ok(()),
        [last] => {
            dict.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            match entry {
                Value::Dict(_, inner) => insert_path(inner, rest, value, var),
                _ => Err(CoreError::Config(format!(
                    "environment variable {var}: {first} is not a section"
                ))),
            }
        }
    }
}

fn parse_env_value(v: &str) -> Value {
    let t = v.trim();
    if let Ok(b) = t.parse::<bool>() {
        return Value::from(b);
    }
    if let Ok(n) = t.parse::<i64>() {
        return Value::from(n);
    }
    Value::from(v.to_string())
}

fn describe_figment_error(e: figment::Error) -> String {
    e.into_iter()
        .map(|err| {
            let path = err.path.join(".");
            if path.is_empty() {
                err.kind.to_string()
            } else {
                format!("{path}: {}", err.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
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
