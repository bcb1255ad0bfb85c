//! The sections of [`super::Config`] (`[database]`, `[tokens]`, `[mail]`,
//! …), each with its defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

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
pub struct AdminConfig {
    /// How long after signing in (or after a client's token was issued)
    /// an administrator may take a sensitive action without confirming
    /// who they are again; 0 asks every time. See docs/security.md.
    pub reauth_window_secs: i64,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            reauth_window_secs: 600,
        }
    }
}

/// The background job that deletes expired rows (see `core_auth::prune`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PruneConfig {
    /// How often each node runs it, in seconds.
    pub interval_secs: u64,
    /// Rows deleted per statement: short locks on SQLite, short
    /// transactions on PostgreSQL.
    pub batch_size: i64,
    /// Statements per table and run; a larger backlog drains over runs.
    pub max_batches: u32,
    /// Sent (or dropped) mail stays in the outbox this long, in seconds.
    pub outbox_keep_secs: i64,
}

impl Default for PruneConfig {
    fn default() -> Self {
        Self {
            interval_secs: 300,
            batch_size: 1000,
            max_batches: 100,
            outbox_keep_secs: 7 * 24 * 3600,
        }
    }
}

/// Pushed authorization requests (RFC 9126, `core_auth::oidc::par`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ParConfig {
    /// How long a pushed request's `request_uri` can be used, in seconds
    /// (1 to 600).
    pub lifetime_secs: i64,
    /// Every client must push its authorization requests (discovery's
    /// `require_pushed_authorization_requests`); otherwise only clients
    /// registered with it must.
    pub required: bool,
}

impl Default for ParConfig {
    fn default() -> Self {
        Self {
            lifetime_secs: 60,
            required: false,
        }
    }
}

/// Second factors (one-time codes, passkeys, recovery codes).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MfaConfig {
    /// Holders of any of these roles (directly or through a group) must
    /// have a second factor: after the password they are taken through
    /// enrolment before any session or code is issued.
    pub required_for_roles: Vec<String>,
    /// The name authenticator apps show above the code; empty means the
    /// issuer's host name.
    pub totp_issuer: String,
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
    /// The algorithms that get signing keys, each with its own rotation; a
    /// client's tokens are signed with one of them (RS256 unless it chose
    /// another). RS256 must be one. From the environment: names separated
    /// by commas.
    #[serde(deserialize_with = "crate::keys::alg::deserialize_list")]
    pub algorithms: Vec<crate::keys::Algorithm>,
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
            algorithms: vec![
                crate::keys::Algorithm::Rs256,
                crate::keys::Algorithm::Es256,
                crate::keys::Algorithm::EdDsa,
            ],
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
    /// Signed-in sessions one account may have at once; a new sign-in
    /// beyond this ends the oldest (and its session-bound tokens).
    pub max_per_user: i64,
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
            max_per_user: 25,
        }
    }
}
