//! The one piece of shared state: cloned into every worker as `web::Data`.

use std::sync::Arc;

use actix_web::web;
use core_auth::db::DbConn;
use core_auth::keys::KeyRing;
use core_auth::oidc::Oidc;
use core_auth::password::Passwords;
use core_auth::sessions::Timeouts;
use core_auth::{Clock, Config, CoreError, CoreResult, DbPool, UnixTime};

use crate::discovery::Discovery;
use crate::jwks_fetch::JwksCache;
use crate::metrics::Metrics;

#[derive(Clone, Debug)]
pub struct AppContext {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub keys: Arc<KeyRing>,
    /// Upstream identity providers: HTTP client and discovery cache.
    pub upstream: Arc<crate::upstream::Upstreams>,
    /// Discovery documents, serialized once.
    pub discovery: Arc<Discovery>,
    /// Client key sets fetched from `jwks_uri` (private_key_jwt).
    pub client_jwks: Arc<JwksCache>,
    /// Prometheus series (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// Per-IP rate limits, one limiter per route group.
    pub limits: Arc<crate::ratelimit::RateLimits>,
    /// Proxies whose `X-Forwarded-For` is believed (parsed `trusted_proxies`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// Requests in progress per client address on this node.
    pub in_flight: Arc<crate::slow_clients::InFlight>,
}

impl AppContext {
    pub fn new(pool: DbPool, config: Config, clock: Arc<dyn Clock>, keys: Arc<KeyRing>) -> Self {
        let passwords = Passwords::new(&config.password);
        let discovery = Arc::new(Discovery::build(&config));
        let limits = Arc::new(crate::ratelimit::RateLimits::new(&config.rate_limits));
        let trusted_proxies = Arc::new(
            config
                .trusted_proxies
                .iter()
                .filter_map(|p| core_auth::config::parse_proxy(p))
                .collect(),
        );
        let in_flight = Arc::new(crate::slow_clients::InFlight::new(
            config.max_requests_per_ip,
        ));
        Self {
            pool,
            config: Arc::new(config),
            clock,
            passwords,
            keys,
            upstream: Arc::new(crate::upstream::Upstreams::default()),
            discovery,
            client_jwks: Arc::new(JwksCache::default()),
            metrics: Arc::new(Metrics::new()),
            limits,
            trusted_proxies,
            in_flight,
        }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn session_timeouts(&self) -> Timeouts {
        Timeouts::from(&self.config.session)
    }

    pub fn mailer(&self) -> core_auth::accounts::Mailer<'_> {
        core_auth::accounts::Mailer {
            config: &self.config,
            kek: self.keys.kek(),
        }
    }

    /// What the use cases of `core_auth` take.
    pub fn core(&self) -> core_auth::Core<'_> {
        core_auth::Core {
            pool: &self.pool,
            config: &self.config,
            passwords: &self.passwords,
            keys: &self.keys,
        }
    }

    pub fn oidc(&self) -> Oidc<'_> {
        Oidc {
            pool: &self.pool,
            keys: &self.keys,
            config: &self.config,
        }
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> CoreResult<T>
    where
        F: FnOnce(&mut DbConn) -> CoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
    }

    /// Runs a use case of `core_auth` on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> CoreResult<T>
    where
        F: FnOnce(&core_auth::Core<'_>) -> CoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let ctx = self.clone();
        blocking(move || f(&ctx.core())).await
    }

    /// Runs `f` on the blocking pool (bcrypt, RSA, anything that takes the
    /// pool itself).
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&AppContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<CoreError> + Send + 'static,
    {
        let ctx = self.clone();
        match web::block(move || f(&ctx)).await {
            Ok(r) => r,
            Err(e) => Err(E::from(CoreError::Unavailable(format!(
                "blocking task failed: {e}"
            )))),
        }
    }
}

async fn blocking<T, F>(f: F) -> CoreResult<T>
where
    F: FnOnce() -> CoreResult<T> + Send + 'static,
    T: Send + 'static,
{
    web::block(f)
        .await
        .map_err(|e| CoreError::Unavailable(format!("blocking task failed: {e}")))?
}
