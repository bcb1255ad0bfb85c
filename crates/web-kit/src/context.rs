//! The one piece of shared state: cloned into every worker as `web::Data`.
//! What only the protocol endpoints keep (discovery documents, client key
//! sets, the upstream providers' discovery cache) is theirs
//! (`oidc_endpoints::ProtocolState`), registered beside it by the binary.

use std::sync::Arc;

use actix_web::web;
use core_auth::db::group::GroupCommit;
use core_auth::db::DbConn;
use core_auth::keys::KeyRing;
use core_auth::oidc::Oidc;
use core_auth::password::Passwords;
use core_auth::sessions::Timeouts;
use core_auth::{Clock, Config, CoreError, CoreResult, DbPool, UnixTime};

use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::slow_clients::InFlight;

/// The most writes one group commit takes.
const GROUP_COMMIT_MAX_BATCH: usize = 128;

#[derive(Clone, Debug)]
pub struct AppContext {
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub keys: Arc<KeyRing>,
    /// Prometheus series (`/metrics`).
    pub metrics: Arc<Metrics>,
    /// Per-IP rate limits, one limiter per route group.
    pub limits: Arc<RateLimits>,
    /// Proxies whose `X-Forwarded-For` is believed (parsed `trusted_proxies`).
    pub trusted_proxies: Arc<Vec<ipnet::IpNet>>,
    /// Requests in progress per client address on this node.
    pub in_flight: Arc<InFlight>,
    /// This node's group commit (the token endpoint's writes); `None` only
    /// when its thread could not start, and then writes commit one by one.
    pub commit: Option<GroupCommit>,
    /// The protocol endpoints' compute pool: one thread per core
    /// (`blocking_threads`) for signatures and the reads beside them.
    /// `None` only when it could not start (the blocking pool serves).
    pub compute: Option<Arc<rayon::ThreadPool>>,
}

impl AppContext {
    pub fn new(pool: DbPool, config: Config, clock: Arc<dyn Clock>, keys: Arc<KeyRing>) -> Self {
        let passwords = Passwords::new(&config.password);
        let limits = Arc::new(RateLimits::new(&config.rate_limits));
        let trusted_proxies = Arc::new(
            config
                .trusted_proxies
                .iter()
                .filter_map(|p| core_auth::config::parse_proxy(p))
                .collect(),
        );
        let in_flight = Arc::new(InFlight::new(config.max_requests_per_ip));
        let commit = match GroupCommit::start(
            pool.clone(),
            GROUP_COMMIT_MAX_BATCH,
            core_auth::oidc::grant::client_credentials::add_issued,
        ) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!("{e}; token writes will commit one by one");
                None
            }
        };
        let threads = match config.blocking_threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            n => n,
        };
        let compute = match rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("compute-{i}"))
            .build()
        {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => {
                tracing::error!("compute pool: {e}; the blocking pool serves instead");
                None
            }
        };
        Self {
            pool,
            config: Arc::new(config),
            clock,
            passwords,
            keys,
            metrics: Arc::new(Metrics::new()),
            limits,
            trusted_proxies,
            in_flight,
            commit,
            compute,
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

    /// Runs `f` on the compute pool: CPU work of the protocol endpoints
    /// (signatures, verifications, the short reads beside them) on one
    /// thread per core, so that a burst of token requests keeps the cores
    /// busy without dozens of threads taking turns. Never for work that
    /// waits (bcrypt, mail, HTTP): that stays on the blocking pool.
    pub async fn compute<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&AppContext) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<CoreError> + Send + 'static,
    {
        let Some(pool) = &self.compute else {
            return self.run(f).await;
        };
        let ctx = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        pool.spawn(move || {
            let _ = tx.send(f(&ctx));
        });
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(E::from(CoreError::Unavailable(
                "the compute task did not finish".into(),
            ))),
        }
    }

    /// Runs `f` inside a transaction of this node's group commit and
    /// returns once that transaction committed. The awaiting request holds
    /// no thread meanwhile. `f`'s error rolls back `f`'s writes only.
    pub async fn write<T, F>(&self, f: F) -> CoreResult<T>
    where
        F: FnOnce(&mut DbConn, &Config) -> CoreResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let cfg = self.config.clone();
        let Some(commit) = &self.commit else {
            return self
                .db(move |c| core_auth::db::write_tx(c, |c| f(c, &cfg)))
                .await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        commit.submit(
            move |c| f(c, &cfg),
            move |r| {
                let _ = tx.send(r);
            },
        );
        rx.await
            .map_err(|_| CoreError::Unavailable("the write was not committed".into()))?
    }

    /// Adds one to counter `key` (an issued client_credentials token) in
    /// this node's group commit; returns once it committed.
    pub async fn count(&self, key: core_auth::db::group::CountKey) -> CoreResult<()> {
        let Some(commit) = &self.commit else {
            return self
                .db(move |c| {
                    core_auth::db::write_tx(c, |c| {
                        core_auth::oidc::grant::client_credentials::add_issued(c, &key, 1)
                    })
                })
                .await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        commit.count(key, move |r| {
            let _ = tx.send(r);
        });
        rx.await
            .map_err(|_| CoreError::Unavailable("the write was not committed".into()))?
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

/// What this node remembers about an upstream sign-in provider between
/// requests (the protocol side's discovery cache,
/// `oidc_endpoints::upstream::Upstreams`). The console tells it when an
/// administrator changed or deleted provider `id`; the binary registers the
/// cache as `web::Data<dyn ProviderCache>` for that.
pub trait ProviderCache: Send + Sync {
    /// Drops what is cached about provider `id`.
    fn forget(&self, id: &str);
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
