//! HTTPS served directly with rustls: the certificate chain and key from
//! PEM files (`tls.cert`, `tls.key`), and a certificate resolver whose
//! certificate is swapped, without a restart, when the files change.
//!
//! A background task compares the files' modification times and sizes every
//! `tls.reload_interval_secs`; on a change it loads both files and, only if
//! they load and the key matches the certificate, serves the new pair. A file
//! that does not load keeps the current certificate and logs a warning (once
//! per change, not at every check).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use core_auth::config::TlsConfig;
use core_auth::{Config, CoreError, CoreResult};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// The crypto provider: ring, the one the rest of the dependency tree uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads and checks a certificate chain and its private key.
pub fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> Result<CertifiedKey, String> {
    let cert_pem = std::fs::read(cert).map_err(|e| format!("tls.cert {}: {e}", cert.display()))?;
    let key_pem = std::fs::read(key).map_err(|e| format!("tls.key {}: {e}", key.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "tls.cert {}: not a PEM certificate chain ({e})",
                cert.display()
            )
        })?;
    if chain.is_empty() {
        return Err(format!(
            "tls.cert {}: no CERTIFICATE in the file",
            cert.display()
        ));
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("tls.key {}: no PEM private key ({e})", key.display()))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| {
        format!(
            "tls.key {}: unusable, or not the key of tls.cert {} ({e})",
            key.display(),
            cert.display()
        )
    })
}

/// Hands every handshake the current certificate; `set` replaces it for
/// the handshakes that follow (connections already open keep theirs).
#[derive(Debug)]
pub struct CertResolver {
    current: ArcSwap<CertifiedKey>,
}

impl CertResolver {
    pub fn new(key: CertifiedKey) -> Self {
        Self {
            current: ArcSwap::from_pointee(key),
        }
    }

    pub fn set(&self, key: CertifiedKey) {
        self.current.store(Arc::new(key));
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// What one check of the files found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    /// The files changed but do not load; the old certificate stays.
    Failed,
}

/// Modification time and size of one file.
type Stamp = (SystemTime, u64);

/// Watches the two files and refreshes the resolver when they change.
#[derive(Debug)]
pub struct Reloader {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
    seen: Option<[Stamp; 2]>,
    last_error: Option<String>,
}

impl Reloader {
    pub fn resolver(&self) -> &Arc<CertResolver> {
        &self.resolver
    }

    fn stamps(&self) -> Result<[Stamp; 2], String> {
        let stamp = |p: &Path, what: &str| {
            std::fs::metadata(p)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .map_err(|e| format!("{what} {}: {e}", p.display()))
        };
        Ok([stamp(&self.cert, "tls.cert")?, stamp(&self.key, "tls.key")?])
    }

    /// Looks at the files once; reloads when either changed.
    pub fn check(&mut self) -> Reload {
        let stamps = match self.stamps() {
            Ok(s) => s,
            Err(e) => return self.failed(e),
        };
        if self.seen == Some(stamps) {
            return Reload::Unchanged;
        }
        // Remembered before loading: a bad file is reported once, and is
        // retried when it changes again (e.g. the key written after the
        // certificate).
        self.seen = Some(stamps);
        match load(&self.cert, &self.key, &self.provider) {
            Ok(key) => {
                self.resolver.set(key);
                self.last_error = None;
                tracing::info!(
                    cert = %self.cert.display(),
                    key = %self.key.display(),
                    "TLS certificate reloaded"
                );
                Reload::Reloaded
            }
            Err(e) => self.failed(e),
        }
    }

    fn failed(&mut self, error: String) -> Reload {
        if self.last_error.as_deref() != Some(error.as_str()) {
            tracing::warn!(
                error = %error,
                "TLS certificate not reloaded; the current one stays in use"
            );
            self.last_error = Some(error);
        }
        Reload::Failed
    }
}

/// Loads the configured certificate (a failure here stops the start) and
/// builds the rustls server configuration around a reloading resolver.
pub fn server_config(tls: &TlsConfig) -> CoreResult<(ServerConfig, Reloader)> {
    let provider = provider();
    let mut reloader = Reloader {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        provider: provider.clone(),
        resolver: Arc::new(CertResolver::new(
            load(&tls.cert, &tls.key, &provider).map_err(CoreError::Config)?,
        )),
        seen: None,
        last_error: None,
    };
    // The pair just loaded is the one these stamps describe (or a newer
    // one, which the first check then loads again: harmless).
    reloader.seen = reloader.stamps().ok();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CoreError::Config(format!("tls: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(reloader.resolver.clone());
    Ok((config, reloader))
}

/// Checks the files every `every` on the current Tokio runtime, until the
/// runtime (the server's) stops.
pub fn spawn_reloader(mut reloader: Reloader, every: Duration) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::warn!("no async runtime: the TLS certificate will not be reloaded");
        return;
    };
    rt.spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            reloader = match tokio::task::spawn_blocking(move || {
                reloader.check();
                reloader
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate watcher stopped");
                    return;
                }
            };
        }
    });
}

/// The start-up warning for an https issuer served as plain HTTP with no
/// proxy configured to terminate TLS in front of it.
pub fn unprotected_https_warning(config: &Config) -> Option<&'static str> {
    (config.is_https() && !config.tls.enabled() && config.trusted_proxies.is_empty()).then_some(
        "the issuer is https but this server speaks plain HTTP and trusts no proxy: set \
         tls.cert and tls.key, or run it behind a TLS-terminating proxy listed in trusted_proxies",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
        (cert, key, ck.cert.der().to_vec())
    }

    /// Gives `path` a modification time `secs` from now: file systems keep
    /// it at a coarse granularity, and two writes within one tick would
    /// otherwise look alike.
    fn touch(path: &Path, secs: u64) {
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() + Duration::from_secs(secs))
            .unwrap();
    }

    fn served(r: &Reloader) -> Vec<u8> {
        r.resolver().current().cert[0].to_vec()
    }

    #[test]
    fn reload_swaps_the_certificate_and_a_bad_file_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, first) = write_pair(dir.path(), "a");
        let tls = TlsConfig {
            cert: cert.clone(),
            key: key.clone(),
            reload_interval_secs: 1,
        };
        let (_config, mut r) = server_config(&tls).unwrap();
        assert_eq!(served(&r), first);
        assert_eq!(r.check(), Reload::Unchanged);

        // A new pair in place of the old one is served.
        let (c2, k2, second) = write_pair(dir.path(), "b");
        std::fs::copy(&c2, &cert).unwrap();
        std::fs::copy(&k2, &key).unwrap();
        touch(&cert, 10);
        assert_eq!(r.check(), Reload::Reloaded);
        assert_eq!(served(&r), second);

        // Garbage keeps the current pair, and is not retried until it changes.
        std::fs::write(&cert, "not a certificate").unwrap();
        touch(&cert, 20);
        assert_eq!(r.check(), Reload::Failed);
        assert_eq!(r.check(), Reload::Unchanged);
        assert_eq!(served(&r), second);

        // A certificate with someone else's key is refused too.
        let (c3, _k3, _) = write_pair(dir.path(), "c");
        std::fs::copy(&c3, &cert).unwrap();
        touch(&cert, 30);
        assert_eq!(r.check(), Reload::Failed);
        assert_eq!(served(&r), second);

        // A missing file is a failure, not a crash.
        std::fs::remove_file(&key).unwrap();
        assert_eq!(r.check(), Reload::Failed);
        assert_eq!(served(&r), second);
    }

    #[test]
    fn bad_files_fail_the_start_with_the_key_named() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _key, _) = write_pair(dir.path(), "a");
        let (_, other_key, _) = write_pair(dir.path(), "b");
        let tls = |cert: &Path, key: &Path| TlsConfig {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            reload_interval_secs: 60,
        };
        let e = server_config(&tls(&cert, &other_key)).unwrap_err();
        assert!(e.to_string().contains("tls.key"), "{e}");
        let e = server_config(&tls(&dir.path().join("nope.crt"), &other_key)).unwrap_err();
        assert!(e.to_string().contains("tls.cert"), "{e}");
        let e = server_config(&tls(&other_key, &other_key)).unwrap_err();
        assert!(e.to_string().contains("tls.cert"), "{e}");
    }

    #[test]
    fn https_issuer_without_tls_is_warned_about() {
        let mut c = Config::from_toml_str("issuer = \"https://id.example.com\"").unwrap();
        assert!(unprotected_https_warning(&c).is_some());
        c.trusted_proxies = vec!["10.0.0.0/8".into()];
        assert!(unprotected_https_warning(&c).is_none());
        c.trusted_proxies.clear();
        c.tls.cert = "/c.pem".into();
        c.tls.key = "/k.pem".into();
        assert!(unprotected_https_warning(&c).is_none());
        let c = Config::from_toml_str("").unwrap();
        assert!(unprotected_https_warning(&c).is_none());
    }
}
